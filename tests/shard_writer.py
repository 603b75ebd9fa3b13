"""A second, hand-written writer of the `zooprep shard` format (FORMATS.md section 4, both format
versions) for tests and benchmarks that need shards of a chosen shape without running `shard`.

Pure pyarrow (no `datasets` import): the files are Arrow stream files laid out as
`datasets.Dataset.save_to_disk` writes them, plus state.json, dataset_info.json and zooprep.json.
tests/test_shard_writer.py keeps it equal to real `shard` output; the package's one writer of the
format is the `shard` stage.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from corpusprep.atomic import sha256_file, write_json
from corpusprep.instances.format import FORMAT_VERSION, LENGTH, RAGGED, SCALAR_TYPES, instance_schema

BERT_SPECIALS = {"pad": 0, "unk": 100, "cls": 101, "sep": 102, "mask": 103}


def synthetic_rows(n: int, processor: str = "mlm", seq_len: int = 64, vocab_size: int = 21128,
                   seed: int = 0, specials: dict | None = None, min_len: int = 2,
                   whole_word: bool = False, static_masking: bool = False, full_share: float = 0.5) -> dict:
    """Random but well-formed instances: `[CLS] A [SEP]` (+ `B [SEP]` for bert/albert), padded.

    About ``full_share`` of rows are full length; the rest have a random shorter length.
    """
    sp = specials or BERT_SPECIALS
    rng = np.random.default_rng(seed)
    row_len = seq_len + 1 if processor == "lm" else seq_len
    pair = processor in ("bert", "albert")
    lo = max(min_len, 5 if pair else 2)
    lengths = np.where(rng.random(n) < full_share, row_len, rng.integers(lo, row_len + 1, n)).astype(np.int32)
    normal = np.array(sorted(set(range(1000, vocab_size)) - set(sp.values())), dtype=np.int64)
    ids = normal[rng.integers(0, normal.size, (n, row_len))]
    pos = np.arange(row_len)
    ids[pos[None, :] >= lengths[:, None]] = sp["pad"]
    ids[:, 0] = sp["cls"]
    ids[np.arange(n), lengths - 1] = sp["sep"]
    cols: dict = {"input_ids": ids, "length": lengths}
    if pair:
        seg_a = np.array([rng.integers(2, max(3, L - 2)) for L in lengths], dtype=np.int32)
        seg_a = np.minimum(seg_a, lengths - 2)
        ids[np.arange(n), seg_a - 1] = sp["sep"]
        cols["seg_a_len"] = seg_a
        cols["nsp_label" if processor == "bert" else "sop_label"] = rng.integers(0, 2, n).astype(np.int8)
    if whole_word:
        starts = []
        for L in lengths:
            s = [0]
            p = 1
            while p < L:
                s.append(p)
                p += int(rng.integers(1, 5))
            starts.append(np.array(s, dtype=np.int32))
        cols["word_starts"] = starts
    if static_masking:
        mpos, mlab = [], []
        for i, L in enumerate(lengths):
            cand = [p for p in range(int(L)) if ids[i, p] not in (sp["cls"], sp["sep"], sp["pad"])]
            k = min(len(cand), max(1, int(round(0.15 * L))))
            chosen = np.sort(rng.choice(cand, k, replace=False)).astype(np.int32) if k else np.zeros(0, np.int32)
            mpos.append(chosen)
            mlab.append(ids[i, chosen].astype(np.int32))
            ids[i, chosen] = sp["mask"]
        cols["masked_positions"], cols["masked_labels"] = mpos, mlab
    return cols


def write_shard(directory: str | Path, cols: dict, processor: str = "mlm", seq_len: int | None = None,
                vocab_size: int = 21128, specials: dict | None = None, num_files: int = 1,
                batch_rows: int = 1000, format_version: int = FORMAT_VERSION, **meta_extra) -> Path:
    """Write ``cols`` (from :func:`synthetic_rows`) as a shard directory; returns its path.

    ``format_version=1`` writes the layout of zooprep before format 2 (fixed-size padded input_ids,
    a length column, int32 ragged columns), so tests can check that old directories read the same."""
    import pyarrow as pa

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sp = specials or BERT_SPECIALS
    ids = np.asarray(cols["input_ids"])
    lengths = np.asarray(cols[LENGTH])
    n, row_len = ids.shape
    seq_len = seq_len or (row_len - 1 if processor == "lm" else row_len)
    dtype = np.uint16 if vocab_size <= 65536 else np.uint32
    names = ["input_ids", LENGTH] + [c for c in (*SCALAR_TYPES, *RAGGED) if c in cols]
    schema = (instance_schema(names, np.dtype(dtype).name, row_len) if format_version == FORMAT_VERSION
              else _format1_schema(names, np.dtype(dtype).name, row_len))

    def arrays(lo: int, hi: int):
        out = {}
        for name in schema.names:
            typ = schema.field(name).type
            if name == "input_ids" and format_version == 1:
                out[name] = pa.FixedSizeListArray.from_arrays(pa.array(ids[lo:hi].astype(dtype).ravel()), row_len)
            elif name == "input_ids":
                out[name] = pa.array([r[:k] for r, k in zip(ids[lo:hi].astype(dtype), lengths[lo:hi])], type=typ)
            elif name in RAGGED:
                out[name] = pa.array([np.asarray(x, typ.value_type.to_pandas_dtype()) for x in cols[name][lo:hi]],
                                     type=typ)
            else:
                out[name] = pa.array(np.asarray(cols[name])[lo:hi], type=typ)
        return out

    bounds = np.linspace(0, n, num_files + 1).astype(int)
    files = []
    for i in range(num_files):
        name = f"data-{i:05d}-of-{num_files:05d}.arrow"
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        with pa.OSFile(str(directory / name), "wb") as sink, pa.ipc.new_stream(sink, schema) as w:
            for b in range(lo, hi, batch_rows):
                w.write_table(pa.table(arrays(b, min(hi, b + batch_rows)), schema=schema))
        files.append({"path": name, "sha256": sha256_file(directory / name), "rows": hi - lo})
    (directory / "state.json").write_text(json.dumps({"_data_files": [{"filename": f["path"]} for f in files],
                                                      "_fingerprint": "zooprep-test", "_format_columns": None,
                                                      "_format_kwargs": {}, "_format_type": None,
                                                      "_output_all_columns": False, "_split": None}))
    features = json.loads(schema.metadata[b"huggingface"])["info"]["features"]
    (directory / "dataset_info.json").write_text(json.dumps({"features": features, "citation": "", "description": "",
                                                             "homepage": "", "license": ""}))
    meta = {"zooprep_version": "0.1.0", **({"format_version": format_version} if format_version != 1 else {}),
            "processor": processor, "seq_len": seq_len, "row_len": row_len,
            "tokenizer": {"kind": "synthetic", "vocab_size": vocab_size, "special_ids": sp}, "special_ids": sp,
            "dtype": np.dtype(dtype).name, "seed": 7, "full_sentences": False,
            "static_masking": "masked_positions" in cols, "dup_factor": 1, "whole_word": "word_starts" in cols,
            "sources": [], "counts": {"documents": n, "instances": n, "tokens": int(np.sum(cols["length"])),
                                      "padding_share": 0.0, "unk_rate": 0.0},
            "files": files, "manifest": {"dataset": None, "recipe_stage": None}}
    meta.update(meta_extra)
    write_json(directory / "zooprep.json", meta)
    return directory


def _format1_schema(names: list[str], dtype: str, row_len: int):
    """The part schema of format 1 (fixed-size input_ids, int32 length and ragged columns)."""
    import pyarrow as pa

    def typ(c):
        if c == "input_ids":
            return pa.list_(getattr(pa, dtype)(), row_len)
        if c == LENGTH:
            return pa.int32()
        return getattr(pa, SCALAR_TYPES[c])() if c in SCALAR_TYPES else pa.list_(pa.int32())

    value = lambda t: {"dtype": t, "_type": "Value"}  # noqa: E731
    feats = {c: ({"feature": value(dtype), "length": row_len, "_type": "List"} if c == "input_ids"
                 else value("int32") if c == LENGTH else value(SCALAR_TYPES[c]) if c in SCALAR_TYPES
                 else {"feature": value("int32"), "_type": "List"}) for c in names}
    return pa.schema([pa.field(c, typ(c)) for c in names], metadata={"huggingface": json.dumps({"info": {"features": feats}})})
