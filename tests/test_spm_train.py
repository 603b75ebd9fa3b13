"""build-spm: the preset-uer TrainerSpec equals the zoo model's; sampling, jieba, long lines, errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpusprep.corpus_input import expand_corpus
from zh_tokenizers.spm_corpus import (PRESEG_DELIMITER, BottomK, Counts, SentenceOptions, hard_cut,
                                      line_to_sentences, pack_pieces, plan_units, scan_unit)
from zh_tokenizers.spm_train import SpmTrainConfig, compare_specs, load_model_proto, spec_fields, train_spm

from conftest import REPO, cli
CLUE = "cluecorpussmall/dbiir__UER-py/corpora/CLUECorpusSmall_sampled.txt"


@pytest.fixture(scope="module")
def clue_sample(corpora_dir) -> Path:
    path = corpora_dir / CLUE
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="module")
def uer_small(clue_sample, tmp_path_factory):
    prefix = tmp_path_factory.mktemp("uer") / "clue_small"
    card = train_spm(SpmTrainConfig(corpus=(str(clue_sample),), out_prefix=str(prefix), preset="uer", vocab_size=4000))
    return prefix, card


def _ref_proto(clue_spm):
    return load_model_proto(Path(clue_spm).read_bytes())


def test_preset_uer_trainer_spec_equals_zoo_model(uer_small, clue_spm):
    prefix, card = uer_small
    ref = _ref_proto(clue_spm)
    new = load_model_proto(Path(f"{prefix}.model").read_bytes())
    # Every field, effective value and presence: only vocab_size (the test's override) differs.
    assert compare_specs(ref.trainer_spec, new.trainer_spec) == {
        "vocab_size": ({"value": 100000, "set": True}, {"value": 4000, "set": True})}
    # The same check without our helper: the explicitly stored fields, and every field's value.
    skip = {"input", "model_prefix", "vocab_size"}
    listed = lambda spec: {f.name: v for f, v in spec.ListFields() if f.name not in skip}  # noqa: E731
    assert listed(new.trainer_spec) == listed(ref.trainer_spec)
    for fd in ref.trainer_spec.DESCRIPTOR.fields:
        if fd.name not in skip:
            assert getattr(new.trainer_spec, fd.name) == getattr(ref.trainer_spec, fd.name), fd.name
    assert list(new.trainer_spec.input) == [] and not new.trainer_spec.HasField("model_prefix")
    assert new.normalizer_spec.name == ref.normalizer_spec.name == "nmt_nfkc"
    assert [(p.piece, p.type) for p in new.pieces[:15]] == [(p.piece, p.type) for p in ref.pieces[:15]]
    assert len(new.pieces) == 4000
    assert card["trainer_spec"]["vocab_size"] == 4000 and card["trainer_arguments"]["num_threads"] == 16


def test_outputs_card_and_tokenizer(uer_small, clue_sample):
    from zh_tokenizers.spm_tokenizer import SpmTokenizer

    prefix, card = uer_small
    saved = json.loads(Path(f"{prefix}.card.json").read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(card))
    vocab_lines = Path(f"{prefix}.vocab").read_text(encoding="utf-8").splitlines()
    assert len(vocab_lines) == 4000 and vocab_lines[0] == "[PAD]\t0" and vocab_lines[4] == "[MASK]\t0"
    s = card["sentences"]
    assert s["lines"] == 400 and s["lines"] == s["empty"] + s["invalid_utf8"] + s["skipped_too_long"] + s["used"]
    assert s["too_long"] == 73 and s["skipped_too_long"] == 0  # default --long-lines split keeps them
    assert s["fed_to_trainer"] == s["sentences"] > 400
    f = card["corpus"]["files"][0]
    assert f["size"] == clue_sample.stat().st_size and len(card["corpus"]["fingerprint"]) == 64
    import hashlib

    assert f["digest"] == hashlib.sha256(clue_sample.read_bytes()).hexdigest()
    assert card["sentencepiece_version"] and card["peak_rss_mb"]["main"] > 0
    assert sorted(p.name for p in prefix.parent.iterdir()) == [f"{prefix.name}{e}" for e in (".card.json", ".model", ".vocab")]
    tok = SpmTokenizer(f"{prefix}.model")
    assert tok.special_ids == {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4}
    assert tok.decode(tok.encode("我们在北京")) == "我们在北京"


def test_skip_mode_counts_what_uer_trainer_dropped(clue_sample, tmp_path):
    card = train_spm(SpmTrainConfig(corpus=(str(clue_sample),), out_prefix=str(tmp_path / "skip"), preset="uer",
                                    vocab_size=2500, long_lines="skip"))
    s = card["sentences"]
    assert s["skipped_too_long"] == 73 and s["fed_to_trainer"] == 327


def _model_pieces(prefix) -> list[tuple[str, float]]:
    return [(p.piece, p.score) for p in load_model_proto(Path(f"{prefix}.model").read_bytes()).pieces]


def test_sampling_is_seeded_bounded_and_worker_independent(clue_sample, tmp_path):
    base = dict(corpus=(str(clue_sample),), preset="uer", vocab_size=3000, sample_sentences=450)
    a = train_spm(SpmTrainConfig(out_prefix=str(tmp_path / "a"), seed=7, **base))
    b = train_spm(SpmTrainConfig(out_prefix=str(tmp_path / "b"), seed=7, workers=2, chunk_bytes=20000, **base))
    c = train_spm(SpmTrainConfig(out_prefix=str(tmp_path / "c"), seed=8, **base))
    assert a["sentences"]["fed_to_trainer"] == 450  # bounded: exactly the sample
    assert (tmp_path / "a.model").read_bytes() == (tmp_path / "b.model").read_bytes()
    assert _model_pieces(tmp_path / "a") != _model_pieces(tmp_path / "c")
    assert a["sentences"]["lines"] == b["sentences"]["lines"] == 400


def test_bottom_k_sample_does_not_depend_on_unit_cuts(clue_sample):
    files = expand_corpus([str(clue_sample)])
    opts = SentenceOptions(max_bytes=1024, sample_k=100, seed=3)

    def sample(chunk):
        merged = BottomK(100)
        for unit in plan_units(files, chunk):
            merged.add(scan_unit((unit, opts)).sample)
        return merged.sentences()

    whole, pieces = sample(1 << 30), sample(7777)
    assert whole == pieces and len(whole) == 100
    everything = []
    for unit in plan_units(files, 1 << 30):
        everything.extend(scan_unit((unit, SentenceOptions(max_bytes=1024))).sentences)
    assert set(whole) <= set(everything)
    assert whole != everything[:100]  # shuffled, not the head of the corpus


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab中\r ", max_size=12), max_size=30), st.integers(1, 40), st.booleans())
def test_byte_range_units_yield_every_line_once(tmp_path_factory, lines, chunk, final_newline):
    path = tmp_path_factory.mktemp("units") / "c.txt"
    data = "\n".join(lines) + ("\n" if final_newline and lines else "")
    path.write_bytes(data.encode("utf-8"))
    files = expand_corpus([str(path)])
    opts = SentenceOptions(max_bytes=1 << 20)
    got, counts = [], Counts()
    for unit in plan_units(files, chunk):
        res = scan_unit((unit, opts))
        got.extend(res.sentences)
        counts.add(res.counts)
    expected = [ln.strip() for ln in data.split("\n")] if data else []
    if data.endswith("\n"):
        expected = expected[:-1]
    assert got == [e for e in expected if e]
    assert counts.lines == len(expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30), max_size=20), st.integers(4, 40), st.sampled_from(["", PRESEG_DELIMITER]))
def test_pack_pieces_bounded_and_lossless(pieces, max_bytes, joiner):
    out, cuts = pack_pieces(pieces, max_bytes, joiner)
    assert all(len(s.encode("utf-8")) <= max_bytes for s in out)
    assert "".join(x.replace(joiner, "") if joiner else x for x in out) == "".join(
        p.replace(joiner, "") if joiner else p for p in pieces)
    assert cuts == sum(len(p.encode("utf-8")) > max_bytes for p in pieces)


def test_long_line_split_keeps_every_sentence():
    line = "第一句话很长。" * 200 + "最后一句没有句号"
    c = Counts()
    out = line_to_sentences(line, SentenceOptions(max_bytes=100), c)
    assert "".join(out) == line and all(len(s.encode()) <= 100 for s in out)
    assert c.too_long == 1 and c.used == 1 and c.skipped_too_long == 0
    assert line_to_sentences(line, SentenceOptions(max_bytes=100, long_lines="skip"), c) == []
    assert c.skipped_too_long == 1
    assert hard_cut("ab中文", 3) == ["ab", "中", "文"]


def test_jieba_pre_segmentation_keeps_pieces_inside_words(clue_sample, tmp_path):
    import jieba

    jieba.setLogLevel(60)
    lines = [ln for ln in clue_sample.read_text(encoding="utf-8").splitlines() if len(ln.encode()) <= 1024][:200]
    corpus = tmp_path / "short.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import unicodedata

    words = {unicodedata.normalize("NFKC", w) for ln in lines for w in jieba.cut(ln)}

    def crossing(prefix):
        proto = load_model_proto(Path(f"{prefix}.model").read_bytes())
        multi = [p.piece.lstrip("\u2581") for p in proto.pieces if p.type == 1 and len(p.piece.lstrip("\u2581")) > 1]
        return multi, [p for p in multi if not any(p in w for w in words)]

    card = train_spm(SpmTrainConfig(corpus=(str(corpus),), out_prefix=str(tmp_path / "j"), vocab_size=2000,
                                    pre_segment="jieba"))
    multi, bad = crossing(tmp_path / "j")
    assert len(multi) > 100 and bad == []
    assert card["pre_segment"]["method"] == "jieba"
    spec = load_model_proto((tmp_path / "j.model").read_bytes()).trainer_spec
    assert spec.pretokenization_delimiter == PRESEG_DELIMITER
    train_spm(SpmTrainConfig(corpus=(str(corpus),), out_prefix=str(tmp_path / "n"), vocab_size=2000))
    _, bad_plain = crossing(tmp_path / "n")
    assert bad_plain  # without pre-segmentation some pieces do cross jieba words


def test_parquet_clean_dir_input(tmp_path, clue_sample):
    import pyarrow as pa
    import pyarrow.parquet as pq

    docs = clue_sample.read_text(encoding="utf-8").splitlines()[:150]
    d = tmp_path / "clean"
    d.mkdir()
    table = pa.table({"text": docs, "source": ["x"] * len(docs), "line": list(range(len(docs))),
                      "meta": ["{}"] * len(docs)})
    pq.write_table(table, d / "train-00000-of-00001.parquet")
    pq.write_table(table.slice(0, 5), d / "validation-00000-of-00001.parquet")
    card = train_spm(SpmTrainConfig(corpus=(str(d),), out_prefix=str(tmp_path / "pq"), vocab_size=2000,
                                    character_coverage=0.99, spm_options=(("hard_vocab_limit", "false"),)))
    assert [Path(f["path"]).name for f in card["corpus"]["files"]] == ["train-00000-of-00001.parquet"]
    assert card["sentences"]["lines"] == 150
    pq.write_table(pa.table({"body": ["x"]}), d / "train-00000-of-00001.parquet")
    from corpusprep.errors import InputError

    with pytest.raises(InputError, match="no 'text' column"):
        train_spm(SpmTrainConfig(corpus=(str(d),), out_prefix=str(tmp_path / "pq2")))


def test_spec_fields_cover_every_field(clue_spm):
    ref = _ref_proto(clue_spm)
    fields = spec_fields(ref.trainer_spec)
    assert set(fields) == {f.name for f in ref.trainer_spec.DESCRIPTOR.fields}
    assert fields["model_type"] == {"value": "UNIGRAM", "set": False}
    assert fields["train_extremely_large_corpus"] == {"value": True, "set": True}


def test_cli_errors_are_one_clear_line(tmp_path, clue_sample):
    missing = cli("build-spm", str(tmp_path / "nope.txt"), "--out-prefix", str(tmp_path / "m"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines() == [f"error: {tmp_path / 'nope.txt'}: no such file or folder"]
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    res = cli("build-spm", str(empty), "--out-prefix", str(tmp_path / "e"))
    assert res.returncode == 2 and res.stderr.strip().splitlines()[-1].startswith(f"error: {empty}: no text to train on")
    big = cli("build-spm", str(clue_sample), "--out-prefix", str(tmp_path / "b"), "--preset", "uer")
    assert big.returncode == 2 and "Vocabulary size too high (100000)" in big.stderr and "Traceback" not in big.stderr
    assert not list(tmp_path.glob("b.*")) and not list(tmp_path.glob("e.*"))
    bad = cli("build-spm", str(clue_sample), "--out-prefix", str(tmp_path / "x"), "--pre-segment", "thulac")
    assert bad.returncode == 2 and "--pre-segment" in bad.stderr


def test_cli_trains(tmp_path, clue_sample):
    res = cli("build-spm", str(clue_sample), "--out-prefix", str(tmp_path / "cli"), "--preset", "uer", "--vocab-size", "3000",
               "--sample-sentences", "500", "--seed", "1", "--threads", "2", "--spm-option", "split_digits=true")
    assert res.returncode == 0, res.stderr
    card = json.loads((tmp_path / "cli.card.json").read_text(encoding="utf-8"))
    assert card["trainer_spec"]["split_digits"] is True and card["trainer_arguments"]["num_threads"] == 2
    assert "num_threads" not in card["trainer_spec_set_fields"]


def test_sampled_jieba_segments_only_the_sample(clue_sample, tmp_path):
    card = train_spm(SpmTrainConfig(corpus=(str(clue_sample),), out_prefix=str(tmp_path / "sj"), vocab_size=2000,
                                    sample_sentences=300, seed=5, pre_segment="jieba", character_coverage=0.98,
                                    spm_options=(("hard_vocab_limit", "false"),)))
    s = card["sentences"]
    assert s["sampled"] and s["sample_size"] == 300
    assert s["fed_to_trainer"] >= 300  # re-packing at word boundaries may split a sampled sentence
    assert card["timings_s"]["segment"] > 0 and card["pre_segment"]["method"] == "jieba"
    spec = load_model_proto((tmp_path / "sj.model").read_bytes()).trainer_spec
    assert spec.pretokenization_delimiter == PRESEG_DELIMITER


def test_out_prefix_ending_in_a_separator_is_refused(tmp_path):
    """'--out-prefix dir/' used to write dir.model beside the folder instead of inside it."""
    from corpusprep.errors import ZooprepError

    (tmp_path / "c.txt").write_text("你好世界\n", encoding="utf-8")
    folder = tmp_path / "models"
    folder.mkdir()
    with pytest.raises(ZooprepError, match="ends in a separator"):
        SpmTrainConfig(corpus=(str(tmp_path / "c.txt"),), out_prefix=f"{folder}/").validate()
    assert not (tmp_path / "models.model").exists()
