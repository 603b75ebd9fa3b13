"""`shard` end to end: layouts on a tiny vocab, load_from_disk, determinism, resume, dtype, compat uer."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpusprep.errors import ZooprepError
from corpusprep.instances import build
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.inspect_dir import inspect_dir
from corpusprep.instances.pipeline import run_shard
from zh_tokenizers import load_tokenizer

from conftest import REPO, cli
CHARS = "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸。"
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture()
def tiny_vocab(tmp_path) -> Path:
    p = tmp_path / "vocab.txt"
    p.write_text("\n".join(SPECIAL + list(CHARS)) + "\n", encoding="utf-8")
    return p


def vid(ch: str) -> int:
    return len(SPECIAL) + CHARS.index(ch)


def cfg_for(tmp_path, corpus, vocab, **kw) -> ShardConfig:
    kw.setdefault("workers", 1)
    kw.setdefault("out", tmp_path / "out")
    return ShardConfig(corpus=tuple(corpus if isinstance(corpus, (list, tuple)) else [corpus]), vocab=vocab,
                       show_progress=False, **kw)


def rows(out: Path) -> list[dict]:
    meta = json.loads((out / "zooprep.json").read_text())
    table = pa.concat_tables(pa.ipc.open_stream(out / f["path"]).read_all() for f in meta["files"])
    assert "length" not in table.column_names  # format 2: the offsets give it
    return [dict(r, length=len(r["input_ids"])) for r in table.to_pylist()]


def unpadded(r) -> list[int]:
    return r["input_ids"][: r["length"]]


def data_bytes(out: Path) -> list[bytes]:
    meta = json.loads((out / "zooprep.json").read_text())
    return [(out / f["path"]).read_bytes() for f in meta["files"]]


# ------------------------------------------------------------------ layouts -------------------------

def test_mlm_layout_and_load_from_disk(tmp_path, tiny_vocab):
    import datasets

    corpus = tmp_path / "c.txt"
    corpus.write_text("一二三四五\n\n六\n", encoding="utf-8")
    res = run_shard(cfg_for(tmp_path, corpus, tiny_vocab, seq_len=4))
    got = rows(res.out)
    # Format 2: rows hold their real ids only (no [PAD]); the loader pads at batch time.
    assert [r["input_ids"] for r in got] == [[2, vid("一"), vid("二"), vid("三")],
                                             [vid("四"), vid("五"), 3], [2, vid("六"), 3]]
    assert [r["length"] for r in got] == [4, 3, 3]
    ds = datasets.load_from_disk(str(res.out))
    assert len(ds) == 3 and ds.features["input_ids"].feature.dtype == "uint16"
    assert getattr(ds.features["input_ids"], "length", -1) == -1  # variable length
    assert ds.data.schema.field("input_ids").type == pa.list_(pa.uint16())
    assert ds[1]["input_ids"] == got[1]["input_ids"]
    assert res.meta["format_version"] == 2
    meta = res.meta
    assert meta["counts"]["documents"] == 2 and meta["counts"]["instances"] == 3
    assert meta["counts"]["tokens"] == 10 and meta["counts"]["padding_share"] == pytest.approx(2 / 12, abs=1e-6)
    assert meta["counts"]["empty_documents"] == 1
    assert meta["special_ids"] == {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4}
    assert meta["sources"][0]["sha256"] and meta["files"][0]["rows"] == 3
    assert not (tmp_path / "out" / ".zooprep" / "work").exists()
    assert (tmp_path / "out" / ".zooprep" / "complete.json").is_file()


def test_lm_rows_hold_seq_len_plus_one(tmp_path, tiny_vocab):
    corpus = tmp_path / "c.txt"
    corpus.write_text("一二三四五\n", encoding="utf-8")
    res = run_shard(cfg_for(tmp_path, corpus, tiny_vocab, seq_len=2, processor="lm"))
    assert [unpadded(r) for r in rows(res.out)] == [[2, vid("一"), vid("二")], [vid("三"), vid("四"), vid("五")], [3]]
    assert res.meta["row_len"] == 3


def test_full_sentences_and_unk_rate(tmp_path, tiny_vocab):
    corpus = tmp_path / "c.txt"
    corpus.write_text("一二\n三X五\n", encoding="utf-8")  # X is not in the vocab
    res = run_shard(cfg_for(tmp_path, corpus, tiny_vocab, seq_len=4, full_sentences=True))
    assert [unpadded(r) for r in rows(res.out)] == [[2, vid("一"), vid("二"), 3], [2, vid("三"), 1, vid("五")], [3]]
    assert res.meta["counts"]["unk_rate"] == pytest.approx(1 / 5, abs=1e-6)


def test_bert_and_albert_layouts(tmp_path, tiny_vocab):
    corpus = tmp_path / "c.txt"
    corpus.write_text("一二。\n三四。\n五六。\n\n七八。\n九十。\n\n甲乙。\n丙丁。\n\n", encoding="utf-8")
    docs = [["一二。", "三四。", "五六。"], ["七八。", "九十。"], ["甲乙。", "丙丁。"]]
    sentences = {tuple(vid(c) for c in s): (d, j) for d, doc in enumerate(docs) for j, s in enumerate(doc)}
    for proc in ("bert", "albert"):
        res = run_shard(cfg_for(tmp_path, corpus, tiny_vocab, seq_len=32, processor=proc, out=tmp_path / proc))
        got = rows(res.out)
        assert got and res.meta["counts"]["documents"] == 3
        label_col = "nsp_label" if proc == "bert" else "sop_label"
        for r in got:
            ids, a = unpadded(r), r["seg_a_len"]
            assert ids[0] == 2 and ids[a - 1] == 3 and ids[-1] == 3 and 2 <= a < len(ids)
            seg_a = [sentences[tuple(ids[k: k + 3])] for k in range(1, a - 1, 3)]
            seg_b = [sentences[tuple(ids[k: k + 3])] for k in range(a, len(ids) - 1, 3)]
            assert len({d for d, _ in seg_a}) == 1  # A is one document's consecutive sentences
            if proc == "albert" or r[label_col] == 0:
                assert {d for d, _ in seg_a + seg_b} <= {seg_a[0][0]}
            if proc == "bert" and r[label_col] == 0:
                assert [j for _, j in seg_a + seg_b] == list(range(seg_a[0][1], seg_a[0][1] + len(seg_a + seg_b)))
            if proc == "albert" and r[label_col] == 1 and seg_b:
                assert seg_b[-1][1] + 1 == seg_a[0][1]  # swapped: B comes before A in the document
        assert {r[label_col] for r in got} <= {0, 1}


def test_static_masking_whole_word_and_dup_factor(tmp_path, tiny_vocab):
    corpus = tmp_path / "c.txt"
    corpus.write_text("一二三四五六七八九十甲乙丙丁戊己庚辛壬癸" * 2 + "\n" + "七八九十" * 5 + "\n", encoding="utf-8")
    res = run_shard(cfg_for(tmp_path, corpus, tiny_vocab, seq_len=16, static_masking=True, dup_factor=2,
                            whole_word=True))
    got = rows(res.out)
    assert len(got) == 2 * 5  # 42 and 22 framed tokens -> 3 + 2 rows, twice
    for r in got:
        ids, starts = unpadded(r), r["word_starts"]
        assert starts[0] == 0 and starts == sorted(set(starts))
        assert len(r["masked_positions"]) == len(r["masked_labels"]) <= max(1, round(len(ids) * 0.15))
        words = [set(range(a, b)) for a, b in zip(starts, starts[1:] + [len(ids)])]
        masked = set(r["masked_positions"])
        assert all(w <= masked or not (w & masked) for w in words)  # whole words only
        for p, lab in zip(r["masked_positions"], r["masked_labels"]):
            assert lab not in (0, 2, 3) and 0 <= p < len(ids)
    assert sum(len(r["masked_positions"]) for r in got) > 0
    assert got[:5] != got[5:]  # the second copy is masked differently


# ------------------------------------------------------------------ inputs ---------------------------

def test_parquet_input_matches_text_input(tmp_path, tiny_vocab):
    texts = ["一二三。四五六。", "七八九十。", "甲乙丙。丁戊己。庚辛。"]
    clean = tmp_path / "clean"
    clean.mkdir()
    pq.write_table(pa.table({"text": texts, "source": ["s"] * 3, "line": [1, 2, 3], "meta": ["{}"] * 3}),
                   clean / "train-00000-of-00001.parquet")
    pq.write_table(pa.table({"text": ["十九八"]}), clean / "validation-00000-of-00001.parquet")
    txt = tmp_path / "c.txt"
    txt.write_text("\n".join(texts) + "\n", encoding="utf-8")
    a = run_shard(cfg_for(tmp_path, clean, tiny_vocab, seq_len=6, out=tmp_path / "a"))
    b = run_shard(cfg_for(tmp_path, txt, tiny_vocab, seq_len=6, out=tmp_path / "b"))
    assert rows(a.out) == rows(b.out)
    # bert from Parquet splits each document into sentences
    c = run_shard(cfg_for(tmp_path, clean, tiny_vocab, seq_len=16, processor="bert", out=tmp_path / "c"))
    assert c.meta["counts"]["documents"] == 3 and all(r["seg_a_len"] >= 3 for r in rows(c.out))


def test_invalid_utf8_line_is_a_counted_reject(tmp_path, tiny_vocab):
    corpus = tmp_path / "c.txt"
    corpus.write_bytes("一二\n".encode() + b"\xff\xfe\n" + "三\n".encode())
    res = run_shard(cfg_for(tmp_path, corpus, tiny_vocab, seq_len=8))
    assert res.meta["counts"]["documents"] == 2 and res.meta["counts"]["rejected_lines"] == 1
    # changed: samples name the line (the corpus readers' numbering) and their reason, not a byte offset
    assert res.meta["reject_samples"][0]["line"] == 2 and res.meta["reject_samples"][0]["reason"] == "undecodable"


def test_bad_options_and_inputs_raise_clear_errors(tmp_path, tiny_vocab):
    with pytest.raises(ZooprepError, match="dup-factor"):
        run_shard(cfg_for(tmp_path, tmp_path, tiny_vocab, dup_factor=3))
    with pytest.raises(ZooprepError, match="no such file"):
        run_shard(cfg_for(tmp_path, tmp_path / "missing.txt", tiny_vocab))
    bad = tmp_path / "x.parquet"
    pq.write_table(pa.table({"body": ["一"]}), bad)
    with pytest.raises(ZooprepError, match="'text' column"):
        run_shard(cfg_for(tmp_path, bad, tiny_vocab))


def test_cli_error_is_one_line_and_inspect_decodes(tmp_path, tiny_vocab):
    proc = cli("shard", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "o"), "--vocab", str(tiny_vocab))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "nope.txt" in proc.stderr
    corpus = tmp_path / "c.txt"
    corpus.write_text("一二三四五\n", encoding="utf-8")
    res = run_shard(cfg_for(tmp_path, corpus, tiny_vocab, seq_len=16))
    text = inspect_dir(res.out, n=1)
    assert "rows            1" in text and "一二三四五" in text
    from corpusprep.outdir.rerun import AlreadyComplete

    with pytest.raises(AlreadyComplete):  # the rerun rule: the same command on a finished output does nothing
        run_shard(cfg_for(tmp_path, corpus, tiny_vocab, seq_len=16))
    with pytest.raises(ZooprepError, match="options changed: --seq-len 16 -> 8; pass --overwrite"):
        run_shard(cfg_for(tmp_path, corpus, tiny_vocab, seq_len=8))
    again = run_shard(cfg_for(tmp_path, corpus, tiny_vocab, seq_len=8, overwrite=True))
    assert again.meta["seq_len"] == 8


def test_uint16_until_65536_then_uint32(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("一二\n", encoding="utf-8")
    for size, dtype in ((65536, "uint16"), (65537, "uint32")):
        vocab = tmp_path / f"v{size}.txt"
        filler = [f"[unused{i}]" for i in range(size - len(SPECIAL) - 2)]
        vocab.write_text("\n".join(SPECIAL + filler + ["一", "二"]) + "\n", encoding="utf-8")
        res = run_shard(cfg_for(tmp_path, corpus, vocab, seq_len=4, out=tmp_path / dtype))
        assert res.meta["dtype"] == dtype
        assert rows(res.out)[0]["input_ids"] == [2, size - 2, size - 1, 3]
        typ = pa.ipc.open_stream(res.out / res.meta["files"][0]["path"]).schema.field("input_ids").type
        assert typ.value_type == (pa.uint16() if dtype == "uint16" else pa.uint32())


# ------------------------------------------------------------------ determinism / resume -------------

@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory) -> tuple[Path, Path]:
    """~150 KB of generated documents in both layouts (many work units at --unit-mb 0.01)."""
    rng = random.Random(0)
    d = tmp_path_factory.mktemp("corpus")
    docs = [["".join(rng.choice(CHARS[:-1]) for _ in range(rng.randint(3, 40))) + "。"
             for _ in range(rng.randint(1, 8))] for _ in range(600)]
    (d / "lines.txt").write_text("".join("".join(doc) + "\n" for doc in docs), encoding="utf-8")
    (d / "sents.txt").write_text("".join("\n".join(doc) + "\n\n" for doc in docs), encoding="utf-8")
    return d / "lines.txt", d / "sents.txt"


@pytest.mark.parametrize("processor,masking", [("mlm", True), ("bert", False)])
def test_one_and_two_workers_give_identical_bytes(tmp_path, tiny_vocab, small_corpus, processor, masking, monkeypatch):
    monkeypatch.setenv("ZOOPREP_MIN_MB_PER_WORKER", "0")  # a real pool even for this small input
    corpus = small_corpus[0] if processor == "mlm" else small_corpus[1]
    opts = dict(seq_len=32, processor=processor, unit_mb=0.02, static_masking=masking)
    one = run_shard(cfg_for(tmp_path, corpus, tiny_vocab, workers=1, out=tmp_path / "one", **opts))
    two = run_shard(cfg_for(tmp_path, corpus, tiny_vocab, workers=2, out=tmp_path / "two", **opts))
    assert len(one.meta["files"]) > 3
    assert data_bytes(one.out) == data_bytes(two.out)
    assert one.meta["files"] == two.meta["files"] and one.meta["counts"] == two.meta["counts"]
    if processor == "mlm":  # rows keep corpus order: the first row starts the first document
        first = rows(one.out)[0]["input_ids"]
        assert first[0] == 2 and first[1] == vid(corpus.read_text(encoding="utf-8")[0])


def test_unit_boundaries_lose_and_duplicate_nothing(tmp_path, tiny_vocab, small_corpus):
    import datasets

    lines, sents = small_corpus
    many = run_shard(cfg_for(tmp_path, lines, tiny_vocab, seq_len=16, unit_mb=0.005, out=tmp_path / "many"))
    one = run_shard(cfg_for(tmp_path, lines, tiny_vocab, seq_len=16, unit_mb=64, out=tmp_path / "one"))
    assert len(many.meta["files"]) > 10 and len(one.meta["files"]) == 1
    assert rows(many.out) == rows(one.out)  # mlm rows without masking do not depend on the units
    ds = datasets.load_from_disk(str(many.out))
    assert len(ds) == many.meta["counts"]["instances"] and dict(ds[-1], length=len(ds[-1]["input_ids"])) == rows(one.out)[-1]
    for layout_file, proc in ((sents, "albert"),):
        a = run_shard(cfg_for(tmp_path, layout_file, tiny_vocab, seq_len=32, processor=proc, unit_mb=0.005,
                              out=tmp_path / "pa"))
        b = run_shard(cfg_for(tmp_path, layout_file, tiny_vocab, seq_len=32, processor=proc, unit_mb=64,
                              out=tmp_path / "pb"))
        for key in ("documents", "content_tokens", "unk_tokens"):
            assert a.meta["counts"][key] == b.meta["counts"][key]
        assert a.meta["counts"]["documents"] == 600


def test_resume_after_a_kill_ends_byte_identical(tmp_path, tiny_vocab, small_corpus):
    corpus = small_corpus[0]
    opts = dict(seq_len=32, unit_mb=0.02, static_masking=True)
    clean = run_shard(cfg_for(tmp_path, corpus, tiny_vocab, out=tmp_path / "clean", **opts))
    calls = []

    def dies_on_fourth(ctx, unit):
        calls.append(unit.index)
        if len(calls) == 4:
            raise KeyboardInterrupt("simulated kill")
        return build.process_unit(ctx, unit)

    with pytest.raises(KeyboardInterrupt):
        run_shard(cfg_for(tmp_path, corpus, tiny_vocab, out=tmp_path / "resumed", **opts), unit_fn=dies_on_fourth)
    parts = tmp_path / "resumed" / ".zooprep" / "work" / "parts"
    assert parts.is_dir() and not (tmp_path / "resumed" / "zooprep.json").exists()
    # a damaged part is rebuilt, not trusted
    (parts / "part-000002.arrow").write_bytes(b"junk")
    res = run_shard(cfg_for(tmp_path, corpus, tiny_vocab, out=tmp_path / "resumed", **opts))
    assert res.resumed_units == 2 and res.built_units == len(clean.meta["files"]) - 2
    assert data_bytes(res.out) == data_bytes(clean.out)
    assert res.meta["files"] == clean.meta["files"]


# ------------------------------------------------------------------ compat uer -----------------------

def uer_reference_rows(path: Path, tok, width: int) -> list[list[int]]:
    """UER-py mlm/lm without masking, written out plainly: count '\\n', read that many lines in text
    mode, frame every line (empty ones too) as [CLS] ... [SEP], cut into width-sized pieces."""
    n = path.read_bytes().count(b"\n")
    out = []
    with open(path, encoding="utf-8") as fh:
        for _ in range(max(n, 1)):
            doc = [tok.special_ids["cls"]] + tok.encode(fh.readline()) + [tok.special_ids["sep"]]
            out += [doc[a: a + width] for a in range(0, len(doc), width)]
    return out


@pytest.mark.parametrize("processor", ["mlm", "lm"])
def test_compat_uer_mlm_lm_equal_uer_rules(tmp_path, tiny_vocab, processor):
    corpus = tmp_path / "c.txt"
    corpus.write_bytes("一二三四五六七\n\n八九十\r\n甲乙丙丁戊己庚辛壬癸一二三四\n不完的行".encode())
    tok = load_tokenizer(vocab=str(tiny_vocab), uer_compat=True)
    res = run_shard(cfg_for(tmp_path, corpus, tiny_vocab, seq_len=5, processor=processor, compat="uer"))
    width = 6 if processor == "lm" else 5
    assert [unpadded(r) for r in rows(res.out)] == uer_reference_rows(corpus, tok, width)
    assert [2, 3] in [unpadded(r) for r in rows(res.out)]  # the empty line, as UER frames it


def test_compat_uer_on_real_sample(tmp_path, google_vocab, corpora_dir):
    path = corpora_dir / "cluecorpussmall" / "dbiir__UER-py" / "corpora" / "CLUECorpusSmall_sampled.txt"
    small = tmp_path / "sample.txt"
    small.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:60]))
    tok = load_tokenizer(vocab=str(google_vocab), uer_compat=True)
    res = run_shard(cfg_for(tmp_path, small, google_vocab, seq_len=128, compat="uer"))
    assert [unpadded(r) for r in rows(res.out)] == uer_reference_rows(small, tok, 128)
    # without --compat, the same text gives the same ids (no empty lines, terminated file)
    plain = run_shard(cfg_for(tmp_path, small, google_vocab, seq_len=128, out=tmp_path / "plain", unit_mb=0.01))
    assert [unpadded(r) for r in rows(plain.out)] == [unpadded(r) for r in rows(res.out)]


def test_compat_uer_static_masking_replays_one_random_stream(tmp_path, tiny_vocab):
    corpus = tmp_path / "c.txt"
    corpus.write_text("一二三四五六七八九十\n甲乙丙丁戊己庚辛壬癸\n", encoding="utf-8")
    tok = load_tokenizer(vocab=str(tiny_vocab), uer_compat=True)
    res = run_shard(cfg_for(tmp_path, corpus, tiny_vocab, seq_len=8, compat="uer", static_masking=True,
                            dup_factor=2))
    from tests.test_instances import uer_style_mask
    from corpusprep.instances.masking import MaskIds

    rng, ids = random.Random(7), MaskIds.from_tokenizer(tok)
    expected = []
    for _ in range(2):
        expected += [uer_style_mask(piece, rng, ids) for piece in uer_reference_rows(corpus, tok, 8)]
    got = [(unpadded(r), r["masked_positions"], r["masked_labels"]) for r in rows(res.out)]
    assert got == [tuple(e) for e in expected]


def test_compat_uer_bert_drops_the_last_document_like_uer(tmp_path, tiny_vocab):
    corpus = tmp_path / "c.txt"
    corpus.write_text("一二。\n三四。\n\n五六。\n七八。\n\n九十。\n甲乙。\n\n", encoding="utf-8")
    res = run_shard(cfg_for(tmp_path, corpus, tiny_vocab, seq_len=16, processor="bert", compat="uer"))
    assert res.meta["counts"]["documents"] == 2
    seen = {t for r in rows(res.out) for t in unpadded(r)}
    assert vid("九") not in seen and vid("一") in seen
    other = tmp_path / "c2.txt"  # (the same file named twice is now read once: two files are needed)
    other.write_bytes(corpus.read_bytes())
    with pytest.raises(ZooprepError, match="exactly one plain-text"):
        run_shard(cfg_for(tmp_path, [corpus, other], tiny_vocab, compat="uer", out=tmp_path / "x"))


@pytest.mark.parametrize("option, kw", [
    ("--dup-factor", dict(dup_factor=10**9, static_masking=True)),
    ("--docs-buffer-size", dict(docs_buffer_size=10**12)),
    ("--span-max-length", dict(span_masking=True, span_max_length=10**12)),
    ("--tgt-seq-len", dict(processor="gsg", tgt_seq_len=10**12)),
    ("--tgt-seq-len", dict(processor="gsg", tgt_seq_len=2)),
])
def test_options_at_their_extremes_are_refused_before_any_work(tmp_path, tiny_vocab, option, kw):
    corpus = tmp_path / "c.txt"
    corpus.write_text("一二。\n", encoding="utf-8")
    with pytest.raises(ZooprepError, match=option):
        run_shard(cfg_for(tmp_path, corpus, tiny_vocab, **kw))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
