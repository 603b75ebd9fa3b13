"""Shard format 2 (docs/FORMATS.md section 4): rows stored unpadded, read back padded per batch.

The reference is format 1 (fixed-size padded input_ids + a length column, int32 ragged columns), which
the reader still accepts: every processor's real `shard` output is rewritten in format 1 with
``write_shard(format_version=1)`` of tests/shard_writer.py, and both directories must give the same
batches, the same collated tensors and byte-identical UER and Hugging Face exports. (The same check against
main's own code before the change, on the shared CLUECorpusSmall sample, is
``benchmarks/bench_bytes_per_token.py --check-export``.)
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from corpusprep.errors import InputError
from corpusprep.feed.collate import CollatorConfig, PretrainCollator
from corpusprep.feed.export import ExportConfig, export_hf, export_uer
from corpusprep.feed.shards import ShardReader
from corpusprep.instances.arrow_io import RowBuffer
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.format import instance_schema
from corpusprep.instances.pipeline import run_shard

from conftest import REPO, cli
from shard_writer import synthetic_rows, write_shard

# name -> (processor, input layout, options)
CASES = {
    "mlm": ("mlm", "lines", {}),
    "mlm-full": ("mlm", "lines", {"full_sentences": True}),
    "mlm-static-ww": ("mlm", "lines", {"static_masking": True, "whole_word": True}),
    "bert-static": ("bert", "sents", {"static_masking": True}),
    "albert": ("albert", "sents", {}),
    "lm": ("lm", "lines", {}),
    "bilm": ("bilm", "lines", {}),
    "t5": ("t5", "lines", {}),
    "cls": ("cls", "cls", {}),
    "cls_mlm": ("cls_mlm", "cls", {"whole_word": True}),
    "prefixlm": ("prefixlm", "pairs", {}),
    "bart": ("bart", "sents", {}),
    "gsg": ("gsg", "sents", {}),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, corpora_dir) -> dict[str, Path]:
    clue = corpora_dir / "cluecorpussmall" / "dbiir__UER-py" / "corpora"
    lines = [ln.strip() for ln in (clue / "CLUECorpusSmall_sampled.txt").read_text(encoding="utf-8").splitlines()
             if ln.strip()][:60]
    sents = (clue / "CLUECorpusSmall_bert_sampled.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    cut = [i for i, ln in enumerate(sents) if not ln.strip()][12]  # a dozen documents
    d = tmp_path_factory.mktemp("v2-inputs")
    layouts = {
        "lines": "".join(ln + "\n" for ln in lines),
        "sents": "".join(sents[: cut + 1]),
        "cls": "".join(f"{i % 3}\t{ln}\n" for i, ln in enumerate(lines)),
        "pairs": "".join(f"{ln[:len(ln) // 2]}\t{ln[len(ln) // 2:]}\n" for ln in lines),
    }
    out = {}
    for name, text in layouts.items():
        out[name] = d / f"{name}.txt"
        out[name].write_text(text, encoding="utf-8")
    return out


def as_format1(src: Path, dst: Path) -> Path:
    """Rewrite a format-2 shard directory in format 1 (the converter the old-format reader is tested with)."""
    reader = ShardReader(src)
    meta = reader.meta
    cols = reader.take(np.arange(len(reader)))
    keep = {k: v for k, v in meta.raw.items()
            if k not in ("files", "format_version", "row_len", "seq_len", "processor", "special_ids", "tokenizer",
                         "dtype", "counts")}
    return write_shard(dst, cols, meta.processor, seq_len=meta.seq_len, vocab_size=meta.vocab_size,
                       specials=meta.special_ids, num_files=2, batch_rows=7, format_version=1, **keep)


def same_batch(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], list):
            assert len(a[k]) == len(b[k]) and all(np.array_equal(x, y) for x, y in zip(a[k], b[k])), k
            assert all(x.dtype == y.dtype for x, y in zip(a[k], b[k])), k
        else:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
            assert a[k].dtype == b[k].dtype, k


@pytest.mark.parametrize("case", list(CASES))
def test_format2_reads_exports_and_collates_like_format1(tmp_path, inputs, reference_dir, case):
    import datasets

    processor, layout, opts = CASES[case]
    vocab = reference_dir / "vocab" / ("google_zh_with_sentinel_vocab.txt" if processor == "t5" else "google_zh_vocab.txt")
    new = run_shard(ShardConfig(corpus=(inputs[layout],), out=tmp_path / "v2", vocab=vocab, seq_len=32, workers=1,
                                show_progress=False, **opts)).out
    assert json.loads((new / "zooprep.json").read_text())["format_version"] == 2
    old = as_format1(new, tmp_path / "v1")
    r2, r1 = ShardReader(new), ShardReader(old)
    assert r1.meta.format_version == 1 and len(r1) == len(r2) > 3
    # the files hold real tokens only: part bytes well below row_len * 2 per row
    table = pa.concat_tables(pa.ipc.open_stream(new / f).read_all() for f in r2.meta.files)
    assert "length" not in table.column_names and pa.types.is_list(table.schema.field("input_ids").type)
    assert sum(len(x) for x in table.column("input_ids").to_pylist()) == int(r2.take(np.arange(len(r2)))["length"].sum())
    rng = np.random.default_rng(0)
    for idx in (np.arange(len(r2)), rng.permutation(len(r2))[:5], rng.integers(0, len(r2), 300), np.arange(0)):
        same_batch(r2.take(idx), r1.take(idx))  # 300 rows: the grouped path; 5: the row loop
    collate = PretrainCollator(CollatorConfig.from_meta(r2.meta))
    idx = np.arange(min(len(r2), 16))
    same_batch(collate(r2.take(idx), np.random.default_rng(1)), collate(r1.take(idx), np.random.default_rng(1)))
    for fn, to, ext in ((export_uer, "uer", "pt"), (export_hf, "hf", "parquet")):
        a, b = tmp_path / f"new.{ext}", tmp_path / f"old.{ext}"
        fn(ExportConfig(directory=new, out=a, to=to))
        fn(ExportConfig(directory=old, out=b, to=to))
        assert a.read_bytes() == b.read_bytes(), ext
    ds = datasets.load_from_disk(str(new))  # still a `datasets` directory, memory-mapped
    assert len(ds) == len(r2)
    assert ds[0]["input_ids"] == r2.take([0])["input_ids"][0, : r2.take([0])["length"][0]].tolist()


def test_row_buffer_block_flat_and_rows_give_the_same_batch():
    schema = instance_schema(["input_ids", "length"], "uint16", 6)
    ids = np.array([[2, 9, 9, 3, 0, 0], [2, 7, 3, 0, 0, 0], [2, 5, 5, 5, 5, 3]])
    lengths = np.array([4, 3, 6])
    a, b, c = (RowBuffer(schema, 6, 0) for _ in range(3))
    a.add_block(ids, lengths)
    b.add_flat(np.concatenate([r[:n] for r, n in zip(ids, lengths)]), lengths)
    for r, n in zip(ids, lengths):
        c.add(r[:n].tolist())
    batches = [x.take_batch() for x in (a, b, c)]
    assert batches[0].equals(batches[1]) and batches[0].equals(batches[2])
    assert batches[0].column(0).to_pylist() == [[2, 9, 9, 3], [2, 7, 3], [2, 5, 5, 5, 5, 3]]
    assert a.take_batch() is None
    with pytest.raises(ValueError):
        a.add_flat(np.zeros(7, np.uint16), np.array([7]))  # longer than row_len
    with pytest.raises(ValueError):
        a.add_flat(np.zeros(3, np.uint16), np.array([2]))  # ids and lengths disagree
    with pytest.raises(ValueError):
        a.add(list(range(7)))


def test_narrow_types_follow_vocab_and_row_len():
    small = instance_schema(["input_ids", "length", "masked_positions", "masked_labels", "word_starts"], "uint16", 512)
    assert "length" not in small.names
    assert [small.field(c).type for c in small.names] == [pa.list_(pa.uint16())] * 4
    big = instance_schema(["input_ids", "masked_positions", "masked_labels", "target_ids"], "uint32", 70000)
    assert [big.field(c).type for c in big.names] == [pa.list_(pa.uint32())] * 4


def test_synthetic_format1_and_format2_dirs_read_the_same(tmp_path):
    cols = synthetic_rows(500, "bert", seq_len=24, static_masking=True, whole_word=True, seed=3)
    v2 = write_shard(tmp_path / "v2", cols, "bert", num_files=3, batch_rows=64)
    v1 = write_shard(tmp_path / "v1", cols, "bert", num_files=3, batch_rows=64, format_version=1)
    idx = np.random.default_rng(0).permutation(500)
    same_batch(ShardReader(v2).take(idx), ShardReader(v1).take(idx))
    np.testing.assert_array_equal(ShardReader(v2).take(idx)["input_ids"], cols["input_ids"][idx])
    assert (v1 / "data-00000-of-00003.arrow").stat().st_size > (v2 / "data-00000-of-00003.arrow").stat().st_size
    shown = [cli("inspect", str(d), "-n", "3", "--start", "100", check=True).stdout for d in (v1, v2)]
    assert shown[0] == shown[1] and "--- row 100  length" in shown[1]


def test_unknown_format_version_and_overlong_rows_are_refused(tmp_path):
    cols = synthetic_rows(20, "mlm", seq_len=8)
    d = write_shard(tmp_path / "future", cols, "mlm")
    meta = json.loads((d / "zooprep.json").read_text())
    meta["format_version"] = 3
    (d / "zooprep.json").write_text(json.dumps(meta))
    r = cli("export", str(d), "--to", "uer", "--out", str(tmp_path / "x.pt"))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith(f"error: {d / 'zooprep.json'}: format_version 3")
    # a row longer than row_len (an edited row_len) is named, not padded past its width
    d2 = write_shard(tmp_path / "long", cols, "mlm")
    meta = json.loads((d2 / "zooprep.json").read_text())
    meta["seq_len"] = meta["row_len"] = 4
    (d2 / "zooprep.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="more than row_len 4"):
        ShardReader(d2)
