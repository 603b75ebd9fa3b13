"""Read a `shard` output directory (docs/FORMATS.md section 4) as memory-mapped numpy views.

Nothing is copied into Python lists: each Arrow file is memory-mapped and every column becomes a
numpy view over the mapped buffers. Rows are addressed by a global index in corpus order
(file order from zooprep.json, then row order inside each file).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpusprep.errors import InputError
from corpusprep.instances.format import RAGGED, SCALAR_TYPES, ShardMeta, read_meta  # noqa: F401  (one definition)

SCALAR_COLUMNS = tuple(SCALAR_TYPES)
RAGGED_COLUMNS = RAGGED


@dataclass
class _Ragged:
    """A list<int32> column as (offsets, values) numpy views; row i = values[offsets[i]:offsets[i+1]]."""

    offsets: np.ndarray
    values: np.ndarray

    def row(self, i: int) -> np.ndarray:
        return self.values[self.offsets[i]:self.offsets[i + 1]]


@dataclass
class _Chunk:
    input_ids: np.ndarray  # (rows, row_len) view, uint16/uint32
    scalars: dict[str, np.ndarray]
    ragged: dict[str, _Ragged]


def _list_view(arr) -> _Ragged:
    import pyarrow as pa

    if arr.null_count:
        raise ValueError("null list entries")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset: arr.offset + len(arr) + 1]
    values = arr.values.to_numpy(zero_copy_only=True) if len(arr.values) else np.zeros(0, np.int32)
    if arr.type.value_type != pa.int32():
        values = values.astype(np.int32)
    return _Ragged(offsets, values)


def _chunk_from_batch(batch, row_len: int, source: str) -> _Chunk:
    names = batch.schema.names
    if "input_ids" not in names or "length" not in names:
        raise InputError(source, "Arrow file lacks the input_ids/length columns of a shard")
    ids = batch.column(names.index("input_ids"))
    flat = ids.flatten().to_numpy(zero_copy_only=True)
    width = ids.type.list_size if hasattr(ids.type, "list_size") else row_len
    if width != row_len:
        raise InputError(source, f"input_ids rows hold {width} ids but zooprep.json says row_len {row_len}")
    scalars = {c: batch.column(names.index(c)).to_numpy(zero_copy_only=True) for c in SCALAR_COLUMNS if c in names}
    ragged = {c: _list_view(batch.column(names.index(c))) for c in RAGGED_COLUMNS if c in names}
    return _Chunk(flat.reshape(len(batch), row_len), scalars, ragged)


class ShardReader:
    """Random access to the rows of a shard directory through memory-mapped Arrow files.

    ``take(indices)`` gathers a batch of rows into fresh numpy arrays (the only copy made).
    Picklable: a DataLoader worker re-opens the maps from the directory path.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.meta = read_meta(self.directory)
        self._open()

    def _open(self) -> None:
        import pyarrow as pa

        chunks: list[_Chunk] = []
        for name in self.meta.files:
            path = self.directory / name
            if not path.is_file():
                raise InputError(str(path), "listed in zooprep.json but missing")
            try:
                reader = pa.ipc.open_stream(pa.memory_map(str(path), "r"))
                batches = list(reader)
            except pa.ArrowInvalid as exc:
                raise InputError(str(path), f"not an Arrow stream file ({exc})") from None
            chunks.extend(_chunk_from_batch(b, self.meta.row_len, str(path)) for b in batches if len(b))
        self._chunks = chunks
        sizes = np.array([len(c.input_ids) for c in chunks], dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def __getstate__(self):
        return {"directory": self.directory}

    def __setstate__(self, state):
        self.__init__(state["directory"])

    def __len__(self) -> int:
        return int(self._starts[-1])

    @property
    def row_len(self) -> int:
        return self.meta.row_len

    def _locate(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        chunk = np.searchsorted(self._starts, indices, side="right") - 1
        return chunk, indices - self._starts[chunk]

    def take(self, indices, skip: frozenset = frozenset()) -> dict[str, np.ndarray | list]:
        """Rows ``indices`` as a raw batch: 2-D ``input_ids`` (int64), 1-D scalar columns,
        and ragged columns as lists of int32 arrays (except the columns named in ``skip``)."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"row index out of range 0..{len(self) - 1}")
        chunk_of, local = self._locate(idx)
        out: dict = {"input_ids": np.empty((idx.size, self.row_len), dtype=np.int64)}
        first = self._chunks[0] if self._chunks else None
        scal_names = list(first.scalars) if first else ["length"]
        rag_names = [n for n in first.ragged if n not in skip] if first else []
        for name in scal_names:
            out[name] = np.empty(idx.size, dtype=np.int64)
        for name in rag_names:
            out[name] = [None] * idx.size
        if idx.size <= 256:  # random rows hit many record batches: a row loop beats grouping
            chunks = self._chunks
            ids_out = out["input_ids"]
            for i, (c, r) in enumerate(zip(chunk_of.tolist(), local.tolist())):
                ch = chunks[c]
                ids_out[i] = ch.input_ids[r]
                for name in scal_names:
                    out[name][i] = ch.scalars[name][r]
                for name in rag_names:
                    out[name][i] = ch.ragged[name].row(r)
            return out
        for c in np.unique(chunk_of):
            sel = np.nonzero(chunk_of == c)[0]
            rows = local[sel]
            ch = self._chunks[c]
            out["input_ids"][sel] = ch.input_ids[rows]
            for name in scal_names:
                out[name][sel] = ch.scalars[name][rows]
            for name in rag_names:
                rag = ch.ragged[name]
                for s, r in zip(sel.tolist(), rows.tolist()):
                    out[name][s] = rag.row(r)
        return out
