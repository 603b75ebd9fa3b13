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

import numpy as np
import pyarrow as pa

from corpusprep.atomic import sha256_file
from corpusprep.instances.arrow_io import PartWriter, _numpy_array
from corpusprep.instances.data_processors import VIEW_PROCESSORS
from corpusprep.instances.sources import UnitTally, read_texts

KIND = "encoded"
FLUSH_DOCS = 4096
_ARROW_IDS = {"uint16": pa.uint16(), "uint32": pa.uint32()}
# Row-shaping options of `shard` that a view chooses at load time instead (or that need fixed rows).
VIEW_TIME = ("seq_len", "full_sentences", "docs_buffer_size", "seed")
DROPPED_META = ("processor", "seq_len", "row_len", "full_sentences", "static_masking", "dup_factor", "whole_word",
                "seed", "processor_options")


def is_encoded(meta: dict) -> bool:
    return meta.get("kind") == KIND


def encoded_schema(dtype: str) -> pa.Schema:
    """``input_ids: list<uint16|uint32>``, with the ``huggingface`` features metadata."""
    feats = {"input_ids": {"feature": {"dtype": dtype, "_type": "Value"}, "_type": "List"}}
    return pa.schema([pa.field("input_ids", pa.list_(_ARROW_IDS[dtype]))],
                     metadata={"huggingface": json.dumps({"info": {"features": feats}})})


def documents_batch(ids: np.ndarray, lengths: np.ndarray, np_dtype, schema: pa.Schema) -> pa.RecordBatch:
    """Documents given as their ids back to back and each one's length -> one record batch of
    variable-length rows."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    values = _numpy_array(np.asarray(ids, dtype=np_dtype))
    return pa.RecordBatch.from_arrays([pa.ListArray.from_arrays(_numpy_array(offsets), values,
                                                                type=schema.field(0).type)], schema=schema)


def encode_unit(ctx, unit, writer: PartWriter, stats, tally: UnitTally) -> None:
    """The unit's documents as `shard` reads and tokenizes them for the line processors (build.line_rows:
    the same texts, the same flat tokenizer path), in record batches of ``FLUSH_DOCS`` documents."""
    from corpusprep.instances.build import count_content, encode_groups

    tok, unk = ctx.tok, ctx.tok.special_ids["unk"]
    np_dtype = np.uint16 if ctx.schema.field(0).type.value_type == pa.uint16() else np.uint32
    ids_parts: list[np.ndarray] = []
    len_parts: list[np.ndarray] = []
    pending = 0
    for texts, whole, _ in encode_groups(read_texts(unit, tally), tok):
        stats.documents += len(texts)
        stats.instances += len(texts)
        stats.read(texts, np.diff(whole.offsets))
        count_content(whole, stats, unk)
        stats.more.texts(tok, texts)
        ids_parts.append(whole.ids)
        len_parts.append(np.diff(whole.offsets))
        pending += len(texts)
        if pending < FLUSH_DOCS:
            continue
        ids, lengths = np.concatenate(ids_parts), np.concatenate(len_parts)
        at = tokens = 0
        while pending - at >= FLUSH_DOCS:
            n = int(lengths[at: at + FLUSH_DOCS].sum())
            writer.write(documents_batch(ids[tokens: tokens + n], lengths[at: at + FLUSH_DOCS], np_dtype, ctx.schema))
            at, tokens = at + FLUSH_DOCS, tokens + n
        ids_parts, len_parts, pending = [ids[tokens:]], [lengths[at:]], pending - at
    if pending:
        writer.write(documents_batch(np.concatenate(ids_parts), np.concatenate(len_parts), np_dtype, ctx.schema))
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
