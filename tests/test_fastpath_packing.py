"""The flat packers (mlm/lm/bilm rows written from one id array) against a list-based restatement of
UER-py's cut rule (uer/utils/dataset.py MlmDataset/LmDataset/BilmDataset workers), on random documents."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpusprep.instances.masking import MaskIds
from corpusprep.instances.processors import FullSentencePacker, cut_flat, pack_documents, pack_plain
from zh_tokenizers import load_tokenizer
from zh_tokenizers.batch_encode import Encoded, encode_flat

IDS = MaskIds(pad=0, cls=2, sep=3, mask=4, vocab_size=60000, unk=1)


# ---------------------------------------------------------------- the reference: plain Python lists ----

def ref_pieces(stream: list[int], width: int) -> list[list[int]]:
    """UER: ``for i in range(len(src) // seq_length)`` full pieces, then the rest if any (padded later)."""
    return [stream[i: i + width] for i in range(0, len(stream), width)]


def ref_documents(docs, width, framed=True, ids=IDS):
    out = []
    for d in docs:
        out += ref_pieces([ids.cls, *d, ids.sep] if framed else list(d), width)
    return out


def ref_full_sentences(docs, width, buffer_size, ids=IDS):
    """UER --full_sentences: framed documents concatenated per docs buffer, the buffer's tail padded."""
    out = []
    for a in range(0, len(docs), buffer_size):
        out += ref_pieces([t for d in docs[a: a + buffer_size] for t in (ids.cls, *d, ids.sep)], width)
    return out


def as_lists(rows, lengths, width, dtype):
    assert rows.shape == (len(lengths), width) and rows.dtype == dtype and lengths.dtype == np.int32
    for i, n in enumerate(lengths):  # padding after every row's true length
        assert (rows[i, n:] == IDS.pad).all()
    return [rows[i, :n].tolist() for i, n in enumerate(lengths)]


def full_sentence_rows(docs, width, buffer_size, batch, dtype):
    """What build.line_rows does: batches split where the docs buffer is flushed."""
    packer = FullSentencePacker(width, IDS, dtype)
    enc = Encoded.from_lists(docs)
    out, in_buffer, at = [], 0, 0
    for b in range(0, len(docs), batch):
        part = enc.slice(b, min(len(docs), b + batch))
        at = 0
        while at < len(part):
            take = min(len(part) - at, buffer_size - in_buffer)
            out += as_lists(*packer.add(part.slice(at, at + take)), width, dtype)
            at, in_buffer = at + take, in_buffer + take
            if in_buffer == buffer_size:
                out += as_lists(*packer.finish(), width, dtype)
                in_buffer = 0
    if in_buffer:
        out += as_lists(*packer.finish(), width, dtype)
    return out


# ---------------------------------------------------------------- properties ----------------------------

@pytest.fixture(scope="module")
def corpus_lines(corpora_dir) -> list[str]:
    from test_char_tokenizer_parity import corpus_lines as read_lines

    return read_lines(corpora_dir)


docs_st = st.lists(st.lists(st.integers(5, 59999), max_size=70), max_size=40)


@settings(max_examples=300, deadline=None)
@given(docs=docs_st, width=st.integers(1, 17), dtype=st.sampled_from([np.uint16, np.uint32]))
def test_pack_documents_and_plain_equal_the_list_cut(docs, width, dtype):
    for framed, pack in ((True, pack_documents), (False, pack_plain)):
        want = ref_documents(docs, width, framed)
        assert as_lists(*pack(docs, width, IDS, dtype), width, dtype) == want
        assert as_lists(*pack(Encoded.from_lists(docs), width, IDS, dtype), width, dtype) == want


def flat_as_lists(values, lengths, dtype):
    assert values.dtype == dtype and lengths.dtype == np.int32 and int(lengths.sum()) == len(values)
    ends = np.cumsum(lengths)
    return [values[e - n: e].tolist() for e, n in zip(ends, lengths)]


@settings(max_examples=300, deadline=None)
@given(docs=docs_st, width=st.integers(1, 17), dtype=st.sampled_from([np.uint16, np.uint32]))
def test_unpadded_cut_equals_the_list_cut(docs, width, dtype):
    """What shard writes (format 2 stores rows unpadded): ``cut_flat`` gives the same rows, no padding."""
    for framed in (True, False):
        want = ref_documents(docs, width, framed)
        assert flat_as_lists(*cut_flat(docs, width, IDS, dtype, framed), dtype) == want
        assert flat_as_lists(*cut_flat(Encoded.from_lists(docs), width, IDS, dtype, framed), dtype) == want


@settings(max_examples=300, deadline=None)
@given(docs=docs_st, width=st.integers(1, 17), buffer_size=st.integers(1, 12), batch=st.integers(1, 9),
       dtype=st.sampled_from([np.uint16, np.uint32]))
def test_full_sentences_equal_the_list_cut_at_any_batch_and_buffer_boundary(docs, width, buffer_size, batch, dtype):
    assert full_sentence_rows(docs, width, buffer_size, batch, dtype) == ref_full_sentences(docs, width, buffer_size)


def test_encoded_slice_and_count():
    enc = Encoded.from_lists([[7, 1], [], [1, 1, 9]])
    assert len(enc) == 3 and enc.count(1) == 3
    part = enc.slice(1, 3)
    assert len(part) == 2 and part.offsets.tolist() == [0, 0, 3] and part.ids.tolist() == [1, 1, 9]
    assert len(enc.slice(2, 2)) == 0 and enc.slice(2, 2).ids.size == 0


@pytest.mark.parametrize("spec", [{"kind": "bert"}, {"kind": "char"}, {"kind": "space"}, {"spm": True}])
def test_real_text_rows_equal_the_list_cut_for_every_tokenizer(google_vocab, clue_spm, corpus_lines, spec):
    """Every tokenizer (flat fast path or lists adapted) gives the reference rows on the shared samples."""
    tok = (load_tokenizer(spm=str(clue_spm)) if spec.get("spm")
           else load_tokenizer(vocab=google_vocab, kind=spec["kind"]))
    sample = corpus_lines[:400] + ["", "[MASK] x", "中" * 300]
    lists = tok.encode_batch(sample)
    enc = encode_flat(tok, sample)
    assert [enc.ids[a:b].tolist() for a, b in zip(enc.offsets[:-1], enc.offsets[1:])] == lists
    for width in (32, 129, 513):
        for framed, pack in ((True, pack_documents), (False, pack_plain)):
            assert as_lists(*pack(enc, width, IDS, np.uint32), width, np.uint32) == ref_documents(lists, width, framed)
        assert full_sentence_rows(lists, width, 100, 64, np.uint32) == ref_full_sentences(lists, width, 100)


# ---------------------------------------------------------------- whole `shard` runs -------------------

def _shard_rows(tmp_path, corpus, vocab, name, **kw) -> list[list[int]]:
    import json

    import pyarrow as pa

    from corpusprep.instances.config import ShardConfig
    from corpusprep.instances.pipeline import run_shard

    cfg = ShardConfig(corpus=(corpus,), out=tmp_path / name, vocab=vocab, show_progress=False, **kw)
    out = run_shard(cfg).out
    meta = json.loads((out / "zooprep.json").read_text())
    table = pa.concat_tables(pa.ipc.open_stream(out / f["path"]).read_all() for f in meta["files"])
    return table.column("input_ids").to_pylist()  # format 2: rows are stored unpadded


@pytest.mark.parametrize("processor,kw", [
    ("mlm", {}), ("lm", {}), ("bilm", {}),
    ("mlm", {"full_sentences": True, "docs_buffer_size": 7}),
    ("mlm", {"full_sentences": True, "docs_buffer_size": 300}),  # buffers cross the 256-document batches
])
@pytest.mark.parametrize("groups,chars", [(16, 1 << 20), (3, 1 << 20), (16, 20000)])
def test_shard_rows_equal_the_list_cut(tmp_path, monkeypatch, corpora_dir, google_vocab, processor, kw, groups, chars):
    """`shard` (one unit, so one docs-buffer sequence) gives exactly the reference rows of the documents it reads:
    the shared CLUE sample with empty and blank lines and documents several rows long mixed in; whatever number of
    256-document blocks the tokenizer is given at once."""
    from corpusprep.instances import build

    monkeypatch.setattr(build, "ENCODE_GROUPS", groups)
    monkeypatch.setattr(build, "ENCODE_CHARS", chars)
    src = corpora_dir / "cluecorpussmall" / "dbiir__UER-py" / "corpora" / "CLUECorpusSmall_sampled.txt"
    lines = src.read_text(encoding="utf-8").splitlines()[:700]
    lines[3:3] = ["", "   ", "中" * 200, "x", "[CLS] [UNK] é", "ab cd " * 60]
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    width = {"lm": 33, "bilm": 32}.get(processor, 32)  # lm rows hold seq_len + 1
    got = _shard_rows(tmp_path, corpus, google_vocab, "out", processor=processor, seq_len=32, workers=1, **kw)
    tok = load_tokenizer(vocab=google_vocab)
    docs = tok.encode_batch([t for t in lines if t.strip()])
    ids = MaskIds.from_tokenizer(tok)
    if kw.get("full_sentences"):
        want = ref_full_sentences(docs, width, kw["docs_buffer_size"], ids)
    else:
        want = ref_documents(docs, width, processor != "bilm", ids)
    assert len(got) > 700 and got == [[int(x) for x in r] for r in want]


@pytest.mark.parametrize("spm", [False, True])
def test_sentence_documents_equal_the_tokenizer_lists(tmp_path, corpora_dir, google_vocab, clue_spm, spm):
    """bert/albert/bart/gsg documents, sliced from one flat array, hold exactly the tokenizer's per-sentence ids
    (sentences without tokens dropped, documents without any counted as empty)."""
    from corpusprep.instances.build import Stats, UnitContext, tokenized_documents
    from corpusprep.instances.config import ShardConfig
    from corpusprep.instances.format import id_dtype, instance_schema
    from corpusprep.instances.sources import SENTENCES, UnitTally, expand_corpus, plan_units

    src = corpora_dir / "cluecorpussmall" / "dbiir__UER-py" / "corpora" / "CLUECorpusSmall_bert_sampled.txt"
    lines = src.read_text(encoding="utf-8").splitlines()[:900]
    lines[2:2] = ["", "\u200b", "", "中" * 40, " x "]  # a document of a single zero-width space: no tokens
    corpus = tmp_path / "s.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tok = load_tokenizer(spm=str(clue_spm)) if spm else load_tokenizer(vocab=google_vocab)
    kw = {"spm": clue_spm} if spm else {"vocab": google_vocab}
    cfg = ShardConfig(corpus=(corpus,), out=tmp_path / "o", processor="bert", show_progress=False, **kw)
    schema = instance_schema(["input_ids", "length"], id_dtype(tok.vocab_size), cfg.row_len)
    (unit,) = plan_units(expand_corpus([corpus]), SENTENCES, 1 << 30)
    tally = UnitTally()
    got = [(key, [list(s) for s in sents])
           for key, sents in tokenized_documents(UnitContext(cfg, tok, schema, str(tmp_path)), unit, Stats(), tally)]
    docs, current = [], []
    for line in lines + [""]:
        if line.strip():
            current.append(line)
        elif current:
            docs.append(current)
            current = []
    want = [[ids for ids in tok.encode_batch(d) if ids] for d in docs]
    assert [s for _, s in got] == [w for w in want if w] and len(got) > 100
    assert tally.empty == sum(1 for w in want if not w)
