"""Every data processor: hand-checked examples, round trips, 1 vs 2 workers, and `--compat uer`
parity (including --workers N = --processes_num N) against tests/uer_restated.py on the shared
corpora, exported with `export --to uer` (so the dataset.pt layout is checked too), and the
collators against UER's dataloader tensors."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpusprep.errors import InputError, ZooprepError
from corpusprep.feed.collate import CollatorConfig, PretrainCollator
from corpusprep.feed.export import ExportConfig, export_uer, iter_uer_dataset
from corpusprep.feed.shards import ShardReader
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.data_processors import get, names
from corpusprep.instances.data_processors.bart import bart_instances, infill
from corpusprep.instances.data_processors.bilm import targets
from corpusprep.instances.data_processors.cls import cls_instance
from corpusprep.instances.data_processors.gsg import gsg_instances
from corpusprep.instances.data_processors.t5 import corrupt
from corpusprep.instances.masking import MaskIds
from corpusprep.instances.pipeline import run_shard
from tests.uer_restated import UerPreprocess, uer_batch
from zh_tokenizers import load_tokenizer

from conftest import cli

CHARS = "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸。"
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
IDS = MaskIds(pad=0, cls=2, sep=3, mask=4, vocab_size=40, unk=1)


@pytest.fixture()
def tiny_vocab(tmp_path) -> Path:
    p = tmp_path / "vocab.txt"
    p.write_text("\n".join(SPECIAL + list(CHARS) + [f"<extra_id_{i}>" for i in range(5)]) + "\n", encoding="utf-8")
    return p


def vid(ch: str) -> int:
    return len(SPECIAL) + CHARS.index(ch)


def shard(tmp_path, corpus, vocab, name="out", **kw) -> Path:
    kw.setdefault("workers", 1)
    cfg = ShardConfig(corpus=(Path(corpus),), out=tmp_path / name, vocab=Path(vocab), show_progress=False, **kw)
    return run_shard(cfg).out


def rows(out: Path) -> list[dict]:
    meta = json.loads((out / "zooprep.json").read_text())
    table = pa.concat_tables(pa.ipc.open_stream(out / f["path"]).read_all() for f in meta["files"])
    return [dict(r, length=len(r["input_ids"])) for r in table.to_pylist()]  # format 2: rows unpadded


def data_bytes(out: Path) -> list[bytes]:
    meta = json.loads((out / "zooprep.json").read_text())
    return [(out / f["path"]).read_bytes() for f in meta["files"]]


def exported(tmp_path, out: Path) -> list:
    target = tmp_path / f"{out.name}.pt"
    export_uer(ExportConfig(out, target))
    return list(iter_uer_dataset(target))


# ------------------------------------------------------------------ registry ------------------------

def test_registry_lists_every_uer_processor_and_cli_help_names_them():
    assert set(names()) == {"mlm", "bert", "albert", "lm", "cls", "t5", "bilm", "cls_mlm", "prefixlm", "bart", "gsg", "mt"}
    for n in names():
        p = get(n)
        assert p.name == n and p.summary and p.uer_names and callable(p.compat) and callable(p.uer_tuples)
    with pytest.raises(ZooprepError, match="cls_mlm"):
        get("nope")
    out = cli("shard", "--help", env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"}).stdout
    assert " | ".join(names()) in " ".join(out.replace("│", "").split())  # however the help is wrapped


def test_docs_table_and_recipe_printer_follow_the_registry():
    from manifests import recipe_commands

    doc = (Path(__file__).parent.parent / "docs" / "shard.md").read_text(encoding="utf-8")
    for n in names():
        assert f"| `{n}` |" in doc, n
    assert recipe_commands.zooprep_processors() == tuple(names())


# ------------------------------------------------------------------ hand-checked examples -----------

def test_cls_framing_and_truncation_as_uer():
    assert cls_instance([10, 11], None, 8, IDS, sep_single=False) == ([2, 10, 11], 3)
    assert cls_instance([10, 11], None, 8, IDS, sep_single=True) == ([2, 10, 11, 3], 4)
    assert cls_instance([10, 11], [12], 8, IDS, False) == ([2, 10, 11, 3, 12, 3], 4)
    assert cls_instance([10, 11], [12, 13, 14, 15], 6, IDS, False) == ([2, 10, 11, 3, 12, 13], 4)
    assert cls_instance([10] * 9, [12], 6, IDS, False) == ([2] + [10] * 5, 6)  # A fills the row: one segment


def test_t5_runs_of_masked_positions_become_one_sentinel_each():
    src = [2, 10, 11, 12, 13, 14, 3, 0]
    masked = [(2, 11), (3, 12), (5, 14)]  # position 3 kept its id (the 10 % unchanged case): still masked
    src_masked = [2, 10, 4, 12, 13, 4, 3, 0]
    out, tgt_in = corrupt(src_masked, masked, {"cls": 2, "sep": 3, "mask": 4, "pad": 0}, 35, 40)
    assert out == [2, 10, 35, 13, 36, 3, 0, 0]
    assert tgt_in == [2, 35, 11, 12, 36, 14, 37, 3]


def test_bilm_targets_shift_both_ways():
    src = np.array([[10, 11, 12, 0], [20, 0, 0, 0]])
    fwd, bwd = targets(src, np.array([3, 1]), {"cls": 2, "sep": 3, "pad": 0})
    assert fwd.tolist() == [[11, 12, 3, 0], [3, 0, 0, 0]]
    assert bwd.tolist() == [[2, 10, 11, 0], [2, 0, 0, 0]]


def test_prefixlm_targets_start_at_the_source_sep(tmp_path, tiny_vocab):
    corpus = tmp_path / "p.txt"
    corpus.write_text("一二\t三四五\n一\t二三四五六七八九十\n一二三四五六七\t八\n", encoding="utf-8")
    out = shard(tmp_path, corpus, tiny_vocab, processor="prefixlm", seq_len=6)
    got = rows(out)
    # second line cut at seq_len + 1 = 7 tokens; third skipped (framed source of 9 >= 6)
    assert [r["input_ids"][: r["length"]] for r in got] == [
        [2, vid("一"), vid("二"), 3, vid("三"), vid("四"), vid("五")],
        [2, vid("一"), 3, vid("二"), vid("三"), vid("四"), vid("五")]]
    assert json.loads((out / "zooprep.json").read_text())["counts"]["rejected_lines"] == 1
    inst = exported(tmp_path, out)
    assert inst[0] == (([2, vid("一"), vid("二"), 3, vid("三"), vid("四")], 0),
                       [0, 0, 0, vid("三"), vid("四"), vid("五")], [4, 6])  # [SEP] of the source predicts 三
    assert inst[1][1] == [0, 0, vid("二"), vid("三"), vid("四"), vid("五")]


def test_bart_shuffles_whole_sentences_and_infill_merges_mask_runs():
    out = []
    doc = [[10, 11], [12], [13, 14, 15], [16] * 20, [17]]
    bart_instances(doc, random.Random(3), 9, IDS, lambda src, target_ids: out.append((src, target_ids)))
    # chunks stay under seq_len - 2 = 7 tokens; the 20-token sentence is dropped
    assert [t for _, t in out] == [[2, 10, 11, 12, 13, 14, 15, 3], [2, 17, 3]]
    for src, tgt in out:
        assert sorted(src) == sorted(tgt) and src[0] == 2 and src[-1] == 3
    rows_, lens = infill(np.array([[2, 4, 4, 10, 4, 3, 0]]), np.array([6]), 4, 0)
    assert rows_.tolist() == [[2, 4, 10, 4, 3, 0, 0]] and lens.tolist() == [5]


def test_gsg_lead_masks_the_first_30_percent_of_sentences():
    out = []
    doc = [[10, 11], [12], [13, 14], [15], [16, 17], [18], [19], [20], [21], [22]]
    gsg_instances(doc, random.Random(0), 64, 64, "lead", IDS, lambda s, target_ids: out.append((s, target_ids)))
    assert out == [([2, 4, 4, 4, 15, 16, 17, 18, 19, 20, 21, 22, 3], [2, 10, 11, 12, 13, 14, 3])]


# ------------------------------------------------------------------ round trips / inputs --------------

def test_cls_from_tsv_and_from_clean_parquet_meta_labels(tmp_path, tiny_vocab):
    tsv = tmp_path / "c.tsv"
    tsv.write_text("1\t一二三\n0\t四五\t六七\nx\t八\nonly-one-field\n", encoding="utf-8")
    out = shard(tmp_path, tsv, tiny_vocab, processor="cls", seq_len=16)
    got = rows(out)
    assert [(r["input_ids"][: r["length"]], r["seg_a_len"], r["label"]) for r in got] == [
        ([2, vid("一"), vid("二"), vid("三")], 4, 1),
        ([2, vid("四"), vid("五"), 3, vid("六"), vid("七"), 3], 4, 0)]
    meta = json.loads((out / "zooprep.json").read_text())
    assert meta["counts"]["rejected_lines"] == 2
    assert {s["reason"] for s in meta["reject_samples"]} == {"label", "fields"}
    clean = tmp_path / "clean"
    clean.mkdir()
    pq.write_table(pa.table({"text": ["一二三", "四五", "六"], "source": ["s"] * 3, "line": [1, 2, 3],
                             "meta": ['{"label": 1}', '{"label": "0"}', '{"stars": 5}']}),
                   clean / "train-00000-of-00001.parquet")
    p = shard(tmp_path, clean, tiny_vocab, "pq", processor="cls", seq_len=16)
    assert [(r["input_ids"][: r["length"]], r["label"]) for r in rows(p)] == [
        ([2, vid("一"), vid("二"), vid("三")], 1), ([2, vid("四"), vid("五")], 0)]
    stars = shard(tmp_path, clean, tiny_vocab, "stars", processor="cls", seq_len=16, label_field="stars")
    assert [r["label"] for r in rows(stars)] == [5]


def test_shard_report_names_the_reasons_of_rejected_lines(tmp_path, tiny_vocab):
    """The summary used to call every reject 'invalid UTF-8', also non-integer labels and missing fields."""
    from corpusprep.instances.pipeline import run_shard as run
    from corpusprep.instances.report import format_report

    tsv = tmp_path / "c.tsv"
    tsv.write_bytes("1\t一二三\npos\t四\nneg\t五\nonly-one-field\n".encode() + b"0\t\xff\xfe\n")
    cfg = ShardConfig(corpus=(tsv,), out=tmp_path / "o", vocab=tiny_vocab, show_progress=False, workers=1,
                      processor="cls", seq_len=16)
    result = run(cfg)
    counts = result.meta["counts"]
    assert counts["rejected_lines"] == 4 == sum(counts["rejected_reasons"].values())
    assert counts["rejected_reasons"]["label"] == 2 and counts["rejected_reasons"]["fields"] == 1
    report = format_report(result)
    assert "invalid UTF-8" not in report and "fields 1, label 2" in report


@pytest.mark.parametrize("processor", ["bart", "gsg", "cls", "t5"])
def test_hf_export_of_a_shard_without_rows_is_an_empty_parquet_with_the_columns(tmp_path, tiny_vocab, processor,
                                                                              monkeypatch):
    """`export --to hf` of a 0-row shard used to fail with 'error: .../.OUT.tmp: No such file or directory'."""
    import pyarrow.parquet as pq
    from corpusprep.feed.export import export
    from corpusprep.instances import pipeline

    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    # `shard` now refuses to make a 0-row shard (issue 20); one made by an earlier version still exports
    monkeypatch.setattr(pipeline, "refuse_empty", lambda *a, **k: None)
    out = shard(tmp_path, empty, tiny_vocab, processor=processor, seq_len=16)
    result = export(ExportConfig(out, tmp_path / "hf.parquet", to="hf"))
    table = pq.read_table(tmp_path / "hf.parquet")
    assert result.instances == 0 == table.num_rows
    assert "input_ids" in table.column_names
    wanted = {"bart": "target_ids", "gsg": "target_ids", "cls": "labels", "t5": "special_tokens_mask"}[processor]
    assert wanted in table.column_names


def test_prefixlm_reads_clean_parquet_rows(tmp_path, tiny_vocab):
    """prefixlm on `clean` output used to end in an ImportError traceback (parquet_texts)."""
    clean = tmp_path / "clean"
    clean.mkdir()
    pq.write_table(pa.table({"text": ["一二\t三四", "五六", ""], "source": ["s"] * 3, "line": [1, 2, 3],
                             "meta": ["{}"] * 3}), clean / "train-00000-of-00001.parquet")
    out = shard(tmp_path, clean, tiny_vocab, processor="prefixlm", seq_len=16)
    meta = json.loads((out / "zooprep.json").read_text())
    assert len(rows(out)) == 1 and meta["counts"]["rejected_reasons"] == {"fields": 1}


def test_bilm_rows_decode_back_to_the_documents(tmp_path, tiny_vocab):
    corpus = tmp_path / "d.txt"
    docs = ["一二三四五六七八九十甲", "乙丙", "", "丁戊己庚"]
    corpus.write_text("\n".join(docs) + "\n", encoding="utf-8")
    out = shard(tmp_path, corpus, tiny_vocab, processor="bilm", seq_len=4)
    tok = load_tokenizer(vocab=str(tiny_vocab))
    pieces = [tok.decode(r["input_ids"][: r["length"]]) for r in rows(out)]
    assert pieces == ["一二三四", "五六七八", "九十甲", "乙丙", "丁戊己庚"]


def test_t5_needs_a_sentinel_vocab_and_records_its_id(tmp_path, tiny_vocab, google_vocab):
    corpus = tmp_path / "d.txt"
    corpus.write_text("一二三四五六七八九十\n", encoding="utf-8")
    out = shard(tmp_path, corpus, tiny_vocab, processor="t5", seq_len=8)
    assert json.loads((out / "zooprep.json").read_text())["processor_options"] == {"sentinel_id": len(SPECIAL) + len(CHARS)}
    with pytest.raises(ZooprepError, match="sentinel"):
        shard(tmp_path, corpus, google_vocab, "x", processor="t5", seq_len=8)


def test_options_that_do_not_apply_are_refused(tmp_path, tiny_vocab):
    corpus = tmp_path / "d.txt"
    corpus.write_text("1\t一\n", encoding="utf-8")
    with pytest.raises(ZooprepError, match="static-masking does not apply"):
        shard(tmp_path, corpus, tiny_vocab, processor="cls", static_masking=True)
    with pytest.raises(ZooprepError, match="dup-factor does not apply"):
        shard(tmp_path, corpus, tiny_vocab, processor="cls_mlm", static_masking=True, dup_factor=2)
    with pytest.raises(ZooprepError, match="sentence-selection"):
        shard(tmp_path, corpus, tiny_vocab, processor="gsg", sentence_selection="best")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """~60 KB per layout, many work units at --unit-mb 0.005."""
    rng = random.Random(1)
    d = tmp_path_factory.mktemp("gen")
    sent = lambda: "".join(rng.choice(CHARS[:-1]) for _ in range(rng.randint(2, 14))) + "。"  # noqa: E731
    docs = [[sent() for _ in range(rng.randint(1, 9))] for _ in range(400)]
    (d / "lines.txt").write_text("".join("".join(x) + "\n" for x in docs), encoding="utf-8")
    (d / "sents.txt").write_text("".join("\n".join(x) + "\n\n" for x in docs), encoding="utf-8")
    (d / "cls.txt").write_text("".join(f"{i % 3}\t{x[0]}" + (f"\t{x[-1]}" if i % 2 else "") + "\n"
                                       for i, x in enumerate(docs)), encoding="utf-8")
    (d / "pairs.txt").write_text("".join(f"{x[0]}\t{''.join(x[1:])}\n" for x in docs), encoding="utf-8")
    return d


NEW = [("cls", "cls.txt", {}), ("cls_mlm", "cls.txt", {"static_masking": True}), ("t5", "lines.txt", {}),
       ("t5", "lines.txt", {"static_masking": True, "span_masking": True}), ("bilm", "lines.txt", {}),
       ("prefixlm", "pairs.txt", {}), ("bart", "sents.txt", {"dup_factor": 2}),
       ("gsg", "sents.txt", {"sentence_selection": "random", "tgt_seq_len": 24})]


@pytest.mark.parametrize("processor,corpus,opts", NEW)
def test_one_and_two_workers_give_identical_bytes(tmp_path, tiny_vocab, generated, processor, corpus, opts):
    one = shard(tmp_path, generated / corpus, tiny_vocab, "one", processor=processor, seq_len=24, unit_mb=0.005,
                workers=1, **opts)
    two = shard(tmp_path, generated / corpus, tiny_vocab, "two", processor=processor, seq_len=24, unit_mb=0.005,
                workers=2, **opts)
    meta = json.loads((one / "zooprep.json").read_text())
    assert len(meta["files"]) > 3 and meta["counts"]["instances"] > 100
    assert data_bytes(one) == data_bytes(two)


@pytest.mark.parametrize("processor,corpus,opts", NEW)
def test_collators_give_both_name_styles(tmp_path, tiny_vocab, generated, processor, corpus, opts):
    out = shard(tmp_path, generated / corpus, tiny_vocab, processor=processor, seq_len=24, **opts)
    reader = ShardReader(out)
    raw = reader.take(np.arange(min(16, len(reader))))
    for style in ("hf", "uer"):
        col = PretrainCollator(CollatorConfig.from_meta(reader.meta, names=style), seed=3)
        batch = col.numpy(raw, np.random.default_rng(0))
        want = get(processor).uer_names if style == "uer" else ("input_ids", "attention_mask")
        assert set(want) <= set(batch)
        assert all(v.dtype == np.int64 and v.shape[0] == len(raw["length"]) for v in batch.values())


# ------------------------------------------------------------------ UER parity -----------------------

def _couplet_files(shared_dir: Path, tmp_path: Path, n: int) -> tuple[Path, Path]:
    base = shared_dir / "corpora" / "couplets" / "v-zich__couplet-clean-dataset" / "couplets" / "test"
    ins = (base / "in.txt").read_text(encoding="utf-8").splitlines()[:n]
    outs = (base / "out.txt").read_text(encoding="utf-8").splitlines()[:n]
    pairs = tmp_path / "couplets_prefixlm.txt"
    pairs.write_text("".join(f"{a.strip()}\t{b.strip()}\n" for a, b in zip(ins, outs)), encoding="utf-8")
    cls_pairs = tmp_path / "couplets_cls.txt"
    cls_pairs.write_text("".join(f"{i % 3}\t{a.strip()}\t{b.strip()}\n" for i, (a, b) in enumerate(zip(ins, outs))),
                         encoding="utf-8")
    return pairs, cls_pairs


def _head(src: Path, dst: Path, lines: int) -> Path:
    dst.write_bytes(b"".join(src.read_bytes().splitlines(keepends=True)[:lines]))
    return dst


def _corpus(kind: str, shared_dir: Path, tmp_path: Path) -> Path:
    clue = shared_dir / "corpora" / "cluecorpussmall" / "dbiir__UER-py" / "corpora"
    if kind == "lines":
        return _head(clue / "CLUECorpusSmall_sampled.txt", tmp_path / "lines.txt", 40)
    if kind == "sents":
        return _head(clue / "CLUECorpusSmall_bert_sampled.txt", tmp_path / "sents.txt", 500)
    if kind == "cls":
        review = shared_dir / "corpora" / "reviews" / "dbiir__UER-py" / "corpora" / "book_review_cls.txt"
        return _head(review, tmp_path / "cls.txt", 300)
    pairs, cls_pairs = _couplet_files(shared_dir, tmp_path, 300)
    return pairs if kind == "pairs" else cls_pairs


# (processor, corpus, seq_len, our options, UER options, UER --processes_num values)
PARITY = [
    ("mlm", "lines", 64, {}, {}, (1, 3)),
    ("mlm", "lines", 64, {"static_masking": True, "span_masking": True, "dup_factor": 2},
     {"dynamic_masking": False, "span_masking": True, "dup_factor": 2}, (2,)),
    ("mlm", "lines", 64, {"static_masking": True, "full_sentences": True, "docs_buffer_size": 7},
     {"dynamic_masking": False, "full_sentences": True, "docs_buffer_size": 7}, (1, 2)),
    ("lm", "lines", 64, {}, {}, (3,)),
    ("t5", "lines", 64, {"static_masking": True, "span_masking": True, "span_geo_prob": 0.3, "span_max_length": 5},
     {"dynamic_masking": False, "span_masking": True, "span_geo_prob": 0.3, "span_max_length": 5}, (1, 2)),
    ("bilm", "lines", 32, {}, {}, (1, 3)),
    ("cls", "cls", 64, {}, {}, (1, 3)),
    ("cls", "cls_pairs", 24, {}, {}, (2,)),
    ("cls_mlm", "cls", 64, {"static_masking": True}, {"dynamic_masking": False}, (1, 2)),
    ("cls_mlm", "cls_pairs", 24, {}, {}, (3,)),
    ("cls_mlm", "cls", 64, {"static_masking": True, "whole_word": True},
     {"dynamic_masking": False, "whole_word_masking": True}, (2,)),
    ("mlm", "lines", 64, {"static_masking": True, "whole_word": True},
     {"dynamic_masking": False, "whole_word_masking": True}, (1,)),
    ("prefixlm", "pairs", 24, {}, {}, (1, 3)),
    ("bert", "sents", 64, {"static_masking": True, "dup_factor": 2, "docs_buffer_size": 10},
     {"dynamic_masking": False, "dup_factor": 2, "docs_buffer_size": 10}, (1, 2)),
    ("albert", "sents", 64, {"static_masking": True, "span_masking": True},
     {"dynamic_masking": False, "span_masking": True, "dup_factor": 1}, (2,)),
    ("bart", "sents", 64, {"dup_factor": 2, "docs_buffer_size": 20},
     {"dynamic_masking": False, "dup_factor": 2, "docs_buffer_size": 20}, (1, 2)),
    ("gsg", "sents", 64, {"sentence_selection": "random", "tgt_seq_len": 48},
     {"dynamic_masking": False, "dup_factor": 1, "strategy": "random", "tgt_seq_length": 48}, (1, 3)),
    ("gsg", "sents", 64, {"tgt_seq_len": 32}, {"tgt_seq_length": 32}, (2,)),
]


@pytest.mark.parametrize("processor,kind,seq_len,ours,theirs,workers", PARITY,
                         ids=[f"{p[0]}-{p[1]}-{i}" for i, p in enumerate(PARITY)])
def test_compat_uer_equals_uer_preprocess(tmp_path, shared_dir, processor, kind, seq_len, ours, theirs, workers):
    vocab = shared_dir / "reference" / "vocab" / ("google_zh_with_sentinel_vocab.txt" if processor == "t5"
                                                   else "google_zh_vocab.txt")
    corpus = _corpus(kind, shared_dir, tmp_path)
    tok = load_tokenizer(vocab=str(vocab), uer_compat=True)
    for n in workers:
        out = shard(tmp_path, corpus, vocab, f"w{n}", processor=processor, seq_len=seq_len, compat="uer",
                    workers=n, **ours)
        expected = UerPreprocess(tok, processor, seq_len, **theirs).run(corpus, n)
        got = exported(tmp_path, out)
        assert len(got) == len(expected) > 5
        assert got == expected


def test_compat_workers_split_lines_like_uer(tmp_path, tiny_vocab):
    """A line range per worker, every worker reseeded: with 2 workers the second half starts
    the random stream again, so its masks repeat the first half's draws."""
    corpus = tmp_path / "c.txt"
    corpus.write_text("一二三四五六七八\n" * 4, encoding="utf-8")
    out = shard(tmp_path, corpus, tiny_vocab, processor="mlm", seq_len=10, compat="uer", workers=2, static_masking=True)
    got = [(r["input_ids"], r["masked_positions"]) for r in rows(out)]
    assert len(got) == 4 and got[:2] == got[2:] and got[0] != got[1]


def test_compat_bilm_refuses_the_endless_uer_loop(tmp_path, tiny_vocab):
    corpus = tmp_path / "c.txt"
    corpus.write_text("一二三\n四五六七\n", encoding="utf-8")  # the last line is exactly seq_len long
    with pytest.raises(InputError, match="never finishes"):
        shard(tmp_path, corpus, tiny_vocab, processor="bilm", seq_len=4, compat="uer")


# ------------------------------------------------------------------ collators vs UER's loaders ---------

@pytest.mark.parametrize("processor,kind,seq_len,ours", [
    ("cls", "cls_pairs", 24, {}), ("bilm", "lines", 32, {}), ("prefixlm", "pairs", 24, {}),
    ("gsg", "sents", 64, {"tgt_seq_len": 48}),
    ("t5", "lines", 64, {"static_masking": True, "span_masking": True}),
])
def test_collator_uer_names_equal_uer_dataloader(tmp_path, shared_dir, processor, kind, seq_len, ours):
    vocab = shared_dir / "reference" / "vocab" / ("google_zh_with_sentinel_vocab.txt" if processor == "t5"
                                                   else "google_zh_vocab.txt")
    out = shard(tmp_path, _corpus(kind, shared_dir, tmp_path), vocab, processor=processor, seq_len=seq_len, **ours)
    reader = ShardReader(out)
    idx = np.arange(min(32, len(reader)))
    col = PretrainCollator(CollatorConfig.from_meta(reader.meta, names="uer"))
    got = col.numpy(reader.take(idx))
    instances = exported(tmp_path, out)[: len(idx)]
    tok = load_tokenizer(vocab=str(vocab))
    sentinel = reader.meta.options.get("sentinel_id")
    want = uer_batch(processor, instances, tok.vocab_size, reader.meta.special_ids, sentinel)
    for key, value in want.items():
        assert got[key].tolist() == value, key


def test_cls_from_clean_output_of_a_review_family(tmp_path, shared_dir, google_vocab):
    """`clean` on a labelled review CSV, then `shard --processor cls`: every row keeps its label."""
    import csv

    src = shared_dir / "corpora" / "reviews" / "SophonPlus__ChineseNlpCorpus" / "datasets" / "waimai_10k" / "waimai_10k.csv"
    cli("clean", str(src), "--out", str(tmp_path / "clean"), "--layout", "parquet", check=True)
    out = shard(tmp_path, tmp_path / "clean", google_vocab, processor="cls", seq_len=64)
    with open(src, encoding="utf-8") as fh:
        labels = [int(r["label"]) for r in csv.DictReader(fh)]
    got = [r["label"] for r in rows(out)]
    assert len(got) == json.loads((out / "zooprep.json").read_text())["counts"]["documents"] > 500
    assert got == labels[: len(got)]


def test_cli_new_options_reach_the_config(tmp_path, tiny_vocab):
    corpus = tmp_path / "s.txt"
    corpus.write_text("".join(f"一二三。\n四五{'六' * k}。\n七八。\n\n" for k in range(12)), encoding="utf-8")
    out = tmp_path / "gsg"
    proc = cli("shard", str(corpus), "--out", str(out), "--processor", "gsg", "--seq-len", "16", "--tgt-seq-len", "12",
               "--sentence-selection", "random", "--vocab", str(tiny_vocab), "--compat", "uer", "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((out / "zooprep.json").read_text())
    assert meta["processor_options"] == {"tgt_seq_len": 12, "sentence_selection": "random"}
    assert meta["options"]["compat"] == "uer" and len(meta["files"]) == 2
    bad = cli("shard", str(corpus), "--out", str(tmp_path / "x"), "--processor", "t6", "--vocab", str(tiny_vocab))
    assert bad.returncode == 2 and "t5" in bad.stderr and bad.stderr.strip().count("\n") == 0
