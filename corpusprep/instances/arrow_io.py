"""Arrow side of `shard`: streaming part writers (schema from format.py), and the files that make a
directory loadable by ``datasets.load_from_disk`` (dataset_info.json, state.json).

Parts are Arrow IPC *stream* files, the format ``datasets`` memory-maps; the schema carries the
``huggingface`` metadata so features (fixed-size uint16/uint32 lists) round-trip exactly.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from corpusprep.atomic import AtomicFile, write_json
from corpusprep.instances.format import id_dtype, instance_schema  # noqa: F401  (the schema is defined in format.py)


class RowBuffer:
    """Collects instances (numpy blocks or single Python rows) and turns them into record batches."""

    def __init__(self, schema: pa.Schema, row_len: int, pad_id: int):
        self.schema = schema
        self.cols = schema.names
        self.row_len = row_len
        self.pad_id = pad_id
        self.np_dtype = np.uint16 if schema.field("input_ids").type.value_type == pa.uint16() else np.uint32
        self._blocks: list[tuple[np.ndarray, np.ndarray]] = []
        self._rows: list[list[int]] = []
        self._extra: dict[str, list] = {c: [] for c in self.cols if c not in ("input_ids", "length")}
        self.n = 0

    def add_block(self, ids: np.ndarray, lengths: np.ndarray) -> None:
        """Add padded rows (2-D, row_len wide) with their true lengths; only for id+length schemas."""
        self._flush_rows()
        self._blocks.append((ids, lengths))
        self.n += len(lengths)

    def add(self, src: list[int], **extra) -> None:
        """Add one unpadded instance; ``extra`` gives the processor columns."""
        self._rows.append(src)
        for c, values in self._extra.items():
            values.append(extra[c])
        self.n += 1

    def _flush_rows(self) -> None:
        if not self._rows:
            return
        block = np.full((len(self._rows), self.row_len), self.pad_id, dtype=self.np_dtype)
        lengths = np.fromiter((len(r) for r in self._rows), dtype=np.int32, count=len(self._rows))
        for i, r in enumerate(self._rows):
            block[i, : len(r)] = r
        self._blocks.append((block, lengths))
        self._rows = []

    def take_batch(self) -> pa.RecordBatch | None:
        """Everything added so far as one record batch (None when empty); the buffer is emptied."""
        self._flush_rows()
        if not self._blocks:
            return None
        ids = np.concatenate([b for b, _ in self._blocks]).astype(self.np_dtype, copy=False)
        lengths = np.concatenate([n for _, n in self._blocks]).astype(np.int32, copy=False)
        self._blocks = []
        arrays = [pa.FixedSizeListArray.from_arrays(_numpy_array(ids.reshape(-1)), self.row_len),
                  _numpy_array(lengths)]
        for c in self.cols[2:]:
            values = self._extra[c]
            typ = self.schema.field(c).type
            arrays.append(pa.array(values, type=typ))
            self._extra[c] = []
        self.n = 0
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


_ARROW_TYPES = {np.dtype(np.uint16): pa.uint16(), np.dtype(np.uint32): pa.uint32(), np.dtype(np.int32): pa.int32()}


def _numpy_array(values: np.ndarray) -> pa.Array:
    """Zero-copy Arrow view of a 1-D numpy array (``pa.array`` would import pandas: ~1 s per worker)."""
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(_ARROW_TYPES[values.dtype], len(values), [None, pa.py_buffer(values)])


class PartWriter:
    """Streams record batches into ``path`` through a temporary name; renamed only on success."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path = Path(path)
        self._out = AtomicFile(self.path)
        self.tmp = self._out.tmp
        self.schema = schema
        self.rows = 0

    def __enter__(self) -> "PartWriter":
        self._sink = pa.OSFile(str(self.tmp), "wb")
        self._writer = pa.ipc.new_stream(self._sink, self.schema)
        return self

    def write(self, batch: pa.RecordBatch | None) -> None:
        if batch is not None and batch.num_rows:
            self._writer.write_batch(batch)
            self.rows += batch.num_rows

    def __exit__(self, exc_type, *exc) -> None:
        try:
            self._writer.close()
            self._sink.close()
        except BaseException:
            self._out.abort()
            raise
        if exc_type is not None:
            self._out.abort()
            return
        self._out.commit()


def write_datasets_metadata(out_dir: Path, schema: pa.Schema, filenames: list[str], fingerprint: str) -> None:
    """dataset_info.json + state.json exactly as ``save_to_disk`` lays them out (datasets 2.x-5.x)."""
    features = json.loads(schema.metadata[b"huggingface"])["info"]["features"]
    write_json(out_dir / "dataset_info.json",
               {"citation": "", "description": "", "features": features, "homepage": "", "license": ""})
    write_json(out_dir / "state.json", {
        "_data_files": [{"filename": f} for f in filenames],
        "_fingerprint": fingerprint,
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": None,
    })
