"""Read a `shard` output directory (docs/FORMATS.md section 4) as memory-mapped numpy views.

Nothing is copied into Python lists: each Arrow file is memory-mapped and every column becomes a
numpy view over the mapped buffers. Rows are addressed by a global index in corpus order
(file order from zooprep.json, then row order inside each file). The files hold real tokens only;
``take`` pads each batch's rows with [PAD] to row_len, so processors see the same blocks as ever.
Directories of format 1 (fixed-size padded rows + a length column) are read too.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpusprep.errors import InputError
from corpusprep.instances.format import LENGTH, RAGGED, SCALAR_TYPES, ShardMeta, read_meta  # noqa: F401  (one definition)

SCALAR_COLUMNS = tuple(SCALAR_TYPES)
RAGGED_COLUMNS = RAGGED


@dataclass
class _Ragged:
    """A list column as (offsets, values) numpy views; row i = values[offsets[i]:offsets[i+1]] (as int32)."""

    offsets: np.ndarray
    values: np.ndarray

    def row(self, i: int) -> np.ndarray:
        return self.values[self.offsets[i]:self.offsets[i + 1]].astype(np.int32)


@dataclass
class _Chunk:
    """One record batch. Row i's ids are ``values[starts[i]:starts[i] + lengths[i]]``: list offsets in
    format 2, ``i * row_len`` in format 1 (fixed-size rows, the real part given by the length column)."""

    values: np.ndarray  # uint16/uint32 view of the mapped file
    starts: np.ndarray
    lengths: np.ndarray
    scalars: dict[str, np.ndarray]
    ragged: dict[str, _Ragged]

    def __len__(self) -> int:
        return len(self.lengths)


def list_view(arr) -> _Ragged:
    """A list column's offsets and values as numpy views of the mapped buffers (values in their own type)."""
    if arr.null_count:
        raise ValueError("null list entries")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset: arr.offset + len(arr) + 1]
    values = arr.values.to_numpy(zero_copy_only=True) if len(arr.values) else np.zeros(0, np.int32)
    return _Ragged(offsets, values)


def mapped_batches(path: Path) -> list:
    """The record batches of a part file listed in zooprep.json, memory-mapped; InputError naming it."""
    import pyarrow as pa

    if not path.is_file():
        raise InputError(str(path), "listed in zooprep.json but missing")
    try:
        return list(pa.ipc.open_stream(pa.memory_map(str(path), "r")))
    except (pa.ArrowInvalid, OSError) as exc:  # OSError: a part cut inside a record batch
        raise InputError(str(path), f"not an Arrow stream file ({exc})") from None


def _chunk_from_batch(batch, row_len: int, source: str) -> _Chunk:
    import pyarrow as pa

    names = batch.schema.names
    if "input_ids" not in names:
        raise InputError(source, "Arrow file lacks the input_ids column of a shard")
    ids = batch.column(names.index("input_ids"))
    if pa.types.is_fixed_size_list(ids.type):  # format 1: padded rows + a length column
        if LENGTH not in names:
            raise InputError(source, "fixed-size input_ids without a length column (format 1 needs it)")
        if ids.type.list_size != row_len:
            raise InputError(source, f"input_ids rows hold {ids.type.list_size} ids but zooprep.json says row_len {row_len}")
        values = ids.flatten().to_numpy(zero_copy_only=True)
        lengths = batch.column(names.index(LENGTH)).to_numpy(zero_copy_only=True)
        starts = np.arange(len(batch), dtype=np.int64) * row_len
    elif pa.types.is_list(ids.type):  # format 2: real tokens only, the offsets give each row's length
        if ids.null_count:
            raise InputError(source, "input_ids holds null rows")
        view = list_view(ids)
        values, starts, lengths = view.values, view.offsets[:-1], np.diff(view.offsets)
    else:
        raise InputError(source, f"input_ids has type {ids.type}, not a list of ids (rebuild the shard directory)")
    if len(lengths) and (int(lengths.min()) < 0 or int(lengths.max()) > row_len):
        raise InputError(source, f"a row holds more than row_len {row_len} ids (or a negative length)")
    scalars = {c: batch.column(names.index(c)).to_numpy(zero_copy_only=True) for c in SCALAR_COLUMNS if c in names}
    ragged = {c: list_view(batch.column(names.index(c))) for c in RAGGED_COLUMNS if c in names}
    return _Chunk(values, starts, lengths, scalars, ragged)


class ShardReader:
    """Random access to the rows of a shard directory through memory-mapped Arrow files.

    ``take(indices)`` gathers a batch of rows into fresh numpy arrays (the only copy made).
    Picklable: a DataLoader worker re-opens the maps from the directory path.
    """

    def __init__(self, directory: str | Path):
        from corpusprep.outdir.remote import readable

        self.directory = Path(readable(directory))  # a URL: its verified local copy ($ZOOPREP_CACHE/objects)
        self.meta = read_meta(self.directory)
        self._open()

    def _open(self) -> None:
        chunks: list[_Chunk] = []
        for name in self.meta.files:
            path = self.directory / name
            chunks.extend(_chunk_from_batch(b, self.meta.row_len, str(path)) for b in mapped_batches(path) if len(b))
        self._chunks = chunks
        sizes = np.array([len(c) for c in chunks], dtype=np.int64)
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
        """Rows ``indices`` as a raw batch: 2-D ``input_ids`` (int64, padded with [PAD] to row_len),
        1-D ``length`` and scalar columns, and ragged columns as lists of int32 arrays (except the
        columns named in ``skip``)."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"row index out of range 0..{len(self) - 1}")
        chunk_of, local = self._locate(idx)
        ids_out = np.full((idx.size, self.row_len), self.meta.special_ids["pad"], dtype=np.int64)
        out: dict = {"input_ids": ids_out, LENGTH: np.empty(idx.size, dtype=np.int64)}
        first = self._chunks[0] if self._chunks else None
        scal_names = list(first.scalars) if first else []
        rag_names = [n for n in first.ragged if n not in skip] if first else []
        for name in scal_names:
            out[name] = np.empty(idx.size, dtype=np.int64)
        for name in rag_names:
            out[name] = [None] * idx.size
        if idx.size <= 256:  # random rows hit many record batches: a row loop beats grouping
            chunks = self._chunks
            lengths = out[LENGTH]
            for i, (c, r) in enumerate(zip(chunk_of.tolist(), local.tolist())):
                ch = chunks[c]
                s, n = int(ch.starts[r]), int(ch.lengths[r])
                ids_out[i, :n] = ch.values[s:s + n]
                lengths[i] = n
                for name in scal_names:
                    out[name][i] = ch.scalars[name][r]
                for name in rag_names:
                    out[name][i] = ch.ragged[name].row(r)
            return out
        for c in np.unique(chunk_of):
            sel = np.nonzero(chunk_of == c)[0]
            rows = local[sel]
            ch = self._chunks[c]
            n = ch.lengths[rows].astype(np.int64)
            out[LENGTH][sel] = n
            _gather_rows(ids_out, sel, ch.values, ch.starts[rows].astype(np.int64), n)
            for name in scal_names:
                out[name][sel] = ch.scalars[name][rows]
            for name in rag_names:
                rag = ch.ragged[name]
                for s, r in zip(sel.tolist(), rows.tolist()):
                    out[name][s] = rag.row(r)
        return out


def _gather_rows(out: np.ndarray, sel: np.ndarray, values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> None:
    """out[sel[k], :lengths[k]] = values[starts[k]:starts[k] + lengths[k]] for every k (``sel`` ascending)."""
    total = int(lengths.sum())
    if not total:
        return
    if sel[-1] - sel[0] + 1 == len(sel) and np.array_equal(starts[1:], starts[:-1] + lengths[:-1]):
        # consecutive rows into a contiguous run of the batch (export, sequential reads): one slice of
        # the file written through a row-major mask
        real = np.arange(out.shape[1])[None, :] < lengths[:, None]
        out[sel[0]: sel[-1] + 1][real] = values[starts[0]: starts[0] + total]
        return
    for o, s, n in zip(sel.tolist(), starts.tolist(), lengths.tolist()):  # scattered rows: one slice each
        out[o, :n] = values[s:s + n]
