"""Arrow side of `shard`: streaming part writers (schema from format.py), and the files that make a
directory loadable by ``datasets.load_from_disk`` (dataset_info.json, state.json).

Parts are Arrow IPC *stream* files, the format ``datasets`` memory-maps; the schema carries the
``huggingface`` metadata so features (variable-length uint16/uint32 lists) round-trip exactly.
"""
from __future__ import annotations

import json
from itertools import chain
from pathlib import Path

import numpy as np
import pyarrow as pa

from corpusprep.atomic import AtomicFile, write_json
from corpusprep.instances.format import id_dtype, instance_schema  # noqa: F401  (the schema is defined in format.py)


class RowBuffer:
    """Collects instances (numpy blocks, flat token runs or single Python rows) and turns them into
    record batches whose ``input_ids`` hold the real tokens only (variable-length lists, FORMATS.md sec. 4)."""

    def __init__(self, schema: pa.Schema, row_len: int, pad_id: int):
        self.schema = schema
        self.cols = schema.names
        self.row_len = row_len
        self.pad_id = pad_id  # not stored any more: readers pad at batch time
        self.np_dtype = np.uint16 if schema.field("input_ids").type.value_type == pa.uint16() else np.uint32
        self._pieces: list[tuple[np.ndarray, np.ndarray]] = []  # (real ids of consecutive rows, row lengths)
        self._rows: list[list[int]] = []
        self._extra: dict[str, list] = {c: [] for c in self.cols if c != "input_ids"}
        self.n = 0

    def add_block(self, ids: np.ndarray, lengths: np.ndarray) -> None:
        """Add padded rows (2-D, at most row_len wide) with their true lengths; only for id-only schemas."""
        lengths = np.asarray(lengths)
        real = np.arange(ids.shape[1])[None, :] < lengths[:, None]
        self.add_flat(ids[real], lengths)

    def add_flat(self, values: np.ndarray, lengths: np.ndarray) -> None:
        """Add rows given as their real ids back to back (``values``) and each row's length; only for
        id-only schemas."""
        lengths = np.asarray(lengths)
        if lengths.size and (int(lengths.max()) > self.row_len or int(lengths.min()) < 0):
            raise ValueError(f"row lengths must lie in 0..{self.row_len}")
        if int(lengths.sum()) != len(values):
            raise ValueError(f"{len(values)} ids given for rows of {int(lengths.sum())} ids in all")
        self._flush_rows()
        self._pieces.append((values, lengths))
        self.n += len(lengths)

    def add(self, src: list[int], **extra) -> None:
        """Add one unpadded instance; ``extra`` gives the processor columns."""
        if len(src) > self.row_len:
            raise ValueError(f"row of {len(src)} ids is longer than row_len {self.row_len}")
        self._rows.append(src)
        for c, values in self._extra.items():
            values.append(extra[c])
        self.n += 1

    def _flush_rows(self) -> None:
        if not self._rows:
            return
        lengths = np.fromiter((len(r) for r in self._rows), dtype=np.int64, count=len(self._rows))
        values = np.fromiter(chain.from_iterable(self._rows), dtype=self.np_dtype, count=int(lengths.sum()))
        self._pieces.append((values, lengths))
        self._rows = []

    def take_batch(self) -> pa.RecordBatch | None:
        """Everything added so far as one record batch (None when empty); the buffer is emptied."""
        self._flush_rows()
        if not self._pieces:
            return None
        values = np.concatenate([v for v, _ in self._pieces]).astype(self.np_dtype, copy=False)
        lengths = np.concatenate([n for _, n in self._pieces])
        self._pieces = []
        if len(values) >= 1 << 31:
            raise ValueError("a record batch of 2**31 ids or more: flush more often")
        offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
        offsets[1:] = np.cumsum(lengths)
        arrays = [pa.ListArray.from_arrays(_numpy_array(offsets), _numpy_array(values))]
        for c in self.cols[1:]:
            arrays.append(_column(self._extra[c], self.schema.field(c).type))
            self._extra[c] = []
        self.n = 0
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


_ARROW_TYPES = {np.dtype(np.uint16): pa.uint16(), np.dtype(np.uint32): pa.uint32(), np.dtype(np.int32): pa.int32(),
                np.dtype(np.int8): pa.int8()}


def _column(values: list, arrow_type) -> pa.Array:
    """A processor column (scalars, or lists of ids / positions) from Python values through numpy:
    ``pa.array`` on Python objects imports pandas (~0.6 CPU-s per process) and converts one by one."""
    if pa.types.is_list(arrow_type):
        dtype = np.dtype(arrow_type.value_type.to_pandas_dtype())
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        offsets = np.zeros(len(values) + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.fromiter(chain.from_iterable(values), dtype=dtype, count=int(offsets[-1]))
        return pa.ListArray.from_arrays(_numpy_array(offsets), _numpy_array(flat))
    return _numpy_array(np.array(values, dtype=np.dtype(arrow_type.to_pandas_dtype())))


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


def write_datasets_metadata(out_dir: Path, schema: pa.Schema, filenames: list[str], fingerprint: str,
                            info: dict | None = None) -> None:
    """dataset_info.json + state.json exactly as ``save_to_disk`` lays them out (datasets 2.x-5.x);
    ``info`` fills citation / description / homepage / license."""
    features = json.loads(schema.metadata[b"huggingface"])["info"]["features"]
    text = {"citation": "", "description": "", "homepage": "", "license": "", **(info or {})}
    write_json(out_dir / "dataset_info.json", {**text, "features": features})
    write_json(out_dir / "state.json", {
        "_data_files": [{"filename": f} for f in filenames],
        "_fingerprint": fingerprint,
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": None,
    })
