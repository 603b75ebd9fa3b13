"""`shard --encode-only`: an *encoded corpus*, every document's token ids stored once, no cut, no framing.

One row per document (``input_ids``: variable-length ``list<uint16>``, uint32 past 65,536 ids), in
the order `shard` reads them; units, resume, the complete state and ``datasets.load_from_disk``
are those of every `shard` output (pipeline.py runs this module's unit builder and metadata step).
zooprep.json says ``"kind": "encoded"`` and records the documents of every unit, so a loader can
replay `shard`'s cut rule at any --seq-len (corpusprep.feed.views). Readers that need fixed
instances (export, inspect, the shard loader) refuse the directory (format.read_meta).
"""
from __future__ import annotations

import json
from itertools import chain

import numpy as np
import pyarrow as pa

from corpusprep.atomic import sha256_file
from corpusprep.instances.arrow_io import PartWriter
from corpusprep.instances.sources import LINES, UnitTally, read_documents

KIND = "encoded"
VIEW_PROCESSORS = ("mlm", "lm", "bilm")  # objectives whose rows are cuts of the document stream
FLUSH_DOCS = 4096
_ARROW_IDS = {"uint16": pa.uint16(), "uint32": pa.uint32()}
# Row-shaping options of `shard` that a view chooses at load time instead (or that need fixed rows).
VIEW_TIME = ("seq_len", "full_sentences", "docs_buffer_size", "seed")
FIXED_ONLY = ("static_masking", "dup_factor", "whole_word", "span_masking", "compat")
DROPPED_META = ("processor", "seq_len", "row_len", "full_sentences", "static_masking", "dup_factor", "whole_word",
                "seed", "processor_options")


def is_encoded(meta: dict) -> bool:
    return meta.get("kind") == KIND


def encoded_schema(dtype: str) -> pa.Schema:
    """``input_ids: list<uint16|uint32>``, with the ``huggingface`` features metadata."""
    feats = {"input_ids": {"feature": {"dtype": dtype, "_type": "Value"}, "_type": "List"}}
    return pa.schema([pa.field("input_ids", pa.list_(_ARROW_IDS[dtype]))],
                     metadata={"huggingface": json.dumps({"info": {"features": feats}})})


def _buffer_array(values: np.ndarray) -> pa.Array:
    """Zero-copy Arrow view of a 1-D numpy array (``pa.array`` would import pandas in every worker)."""
    values = np.ascontiguousarray(values)
    typ = {np.dtype(np.uint16): pa.uint16(), np.dtype(np.uint32): pa.uint32(), np.dtype(np.int32): pa.int32()}
    return pa.Array.from_buffers(typ[values.dtype], len(values), [None, pa.py_buffer(values)])


def documents_batch(enc: list, np_dtype, schema: pa.Schema) -> pa.RecordBatch:
    """Encoded documents (lists or arrays of ids) -> one record batch of variable-length rows."""
    lens = np.fromiter((len(d) for d in enc), dtype=np.int64, count=len(enc))
    offsets = np.zeros(len(enc) + 1, dtype=np.int32)
    np.cumsum(lens, out=offsets[1:])
    values = np.fromiter(chain.from_iterable(enc), dtype=np_dtype, count=int(lens.sum()))
    ids = pa.ListArray.from_arrays(_buffer_array(offsets), _buffer_array(values), type=schema.field(0).type)
    return pa.RecordBatch.from_arrays([ids], schema=schema)


def encode_unit(ctx, unit, writer: PartWriter, stats, tally: UnitTally) -> None:
    """The unit's documents as `shard` reads and tokenizes them for the line processors (line_rows)."""
    from corpusprep.instances.build import ENCODE_BATCH_DOCS, batched, count_content

    tok, unk = ctx.tok, ctx.tok.special_ids["unk"]
    np_dtype = np.uint16 if ctx.schema.field(0).type.value_type == pa.uint16() else np.uint32
    pending: list = []
    for batch in batched(read_documents(unit, LINES, tally), ENCODE_BATCH_DOCS):
        texts = [d.text for d in batch]
        enc = tok.encode_batch(texts)
        stats.documents += len(enc)
        stats.instances += len(enc)
        count_content(enc, stats, unk)
        stats.more.texts(tok, texts)
        pending.extend(enc)
        while len(pending) >= FLUSH_DOCS:  # record batches of FLUSH_DOCS documents
            writer.write(documents_batch(pending[:FLUSH_DOCS], np_dtype, ctx.schema))
            pending = pending[FLUSH_DOCS:]
    if pending:
        writer.write(documents_batch(pending, np_dtype, ctx.schema))
    stats.tokens = stats.content_tokens


def process_unit(ctx, unit) -> dict:
    """``build.process_unit`` for an encoded corpus: one Arrow part of documents + its done-marker."""
    from corpusprep.instances.build import Stats, part_paths, unit_inputs, unit_key
    from corpusprep.outdir import write_done

    part, marker = part_paths(ctx.parts_dir, unit.index)
    inputs = unit_inputs(unit)
    stats, tally = Stats(), UnitTally(fail_fast=ctx.cfg.on_error == "fail")
    with PartWriter(part, ctx.schema) as writer:
        encode_unit(ctx, unit, writer, stats, tally)
    result = {"unit": unit.index, "part": part.name, "rows": writer.rows, "sha256": sha256_file(part),
              "stats": stats.as_dict(), "rejected": tally.rejected, "rejected_reasons": tally.reasons,
              "empty_documents": tally.empty, "reject_samples": tally.samples or [], "failed": tally.failed}
    write_done(marker, unit_key(unit), inputs, {part: result["sha256"]}, result)
    return result


def metadata(meta: dict, results: list[dict]) -> dict:
    """zooprep.json of an encoded corpus: `shard`'s record less the row-shaping fields, plus the units."""
    out = {k: v for k, v in meta.items() if k not in DROPPED_META}
    counts = dict(out.get("counts") or {})
    for k in ("padding_share", "hints", "instances"):
        counts.pop(k, None)
    out["counts"] = counts
    out["kind"] = KIND
    # Units matter to the cut (--full-sentences buffers restart at each unit); parts without rows
    # are not kept, so the documents per unit are recorded here, in unit order.
    out["encoded"] = {"views": list(VIEW_PROCESSORS), "framed": False,
                      "unit_documents": [int(r["rows"]) for r in results]}
    return out
