"""Per-unit spill files between the two phases of `clean`.

Each package of work units writes ``DIR/.work/packages/pkg-XXXXXX/``:

* ``records.arrow``: an Arrow IPC file of the kept records; every record batch belongs to one
  output group (split x shard), so phase 2 reads exactly the batches of the shard it merges;
* ``index.json``: group -> batch numbers;
* ``bands.npy`` + ``band_pos.npy``: LSH band keys of the kept records near-dup applies to, and
  their positions in the package (only when near-dup is on);
* ``stats.json``: counts, per-reason drops, chars/bytes, the first rejects per reason;
* ``done.json``: written LAST (a done-marker of ``corpusprep.outdir.done``): the package's key
  (options fingerprint and its units), the content identity of every input range it read, and the
  sha256 of every file above. A package counts as finished only while all of these still hold.

Work files are renamed into place but not fsynced: the checksums in done.json already catch a
file torn by a crash (the unit is then redone), and fsyncing thousands of small files is slow.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from corpusprep.atomic import AtomicFile, json_bytes, write_bytes
from corpusprep.outdir import read_done, write_done

SPILL_COLUMNS = ("text", "source", "line", "meta", "unit", "pos", "key", "dedup")
_FLUSH_ROWS = 4096
_FLUSH_CHARS = 16 << 20


def spill_schema():
    import pyarrow as pa

    return pa.schema([("text", pa.string()), ("source", pa.string()), ("line", pa.int64()),
                      ("meta", pa.string()), ("unit", pa.int64()), ("pos", pa.int64()), ("key", pa.uint64()),
                      ("dedup", pa.bool_())])


def put_npy(path: Path, array: np.ndarray) -> None:
    """``np.save`` a work array under a temporary name, then rename it into place (no fsync)."""
    out = AtomicFile(path, fsync=False)
    try:
        with open(out.tmp, "wb") as fh:
            np.save(fh, array)
        out.commit()
    except BaseException:
        out.abort()
        raise


def put_json(path: Path, obj) -> None:
    write_bytes(path, json_bytes(obj, None), fsync=False)


def package_dir(work: Path, index: int) -> Path:
    return work / "packages" / f"pkg-{index:06d}"


class SpillWriter:
    """Buffers kept records per output group and flushes them as record batches (bounded memory)."""

    def __init__(self, directory: Path):
        import pyarrow as pa

        self.dir = directory
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self._pa = pa
        self._schema = spill_schema()
        self._out = AtomicFile(self.dir / "records.arrow", fsync=False)
        self._writer = pa.ipc.new_file(str(self._out.tmp), self._schema)
        self._buffers: dict[int, list[list]] = {}
        self._buffered_chars = 0
        self._batches = 0
        self.index: dict[int, list[int]] = {}
        self.rows: dict[int, int] = {}

    def add_rows(self, group: int, columns: tuple[list, ...]) -> None:
        """Append rows to one group; ``columns`` are lists in SPILL_COLUMNS order, equal lengths."""
        buf = self._buffers.get(group)
        if buf is None:
            buf = self._buffers[group] = [[] for _ in SPILL_COLUMNS]
        for col, values, name in zip(buf, columns, SPILL_COLUMNS):
            if name == "key":
                col.append(np.asarray(values, dtype=np.uint64))  # chunks, concatenated at flush
            else:
                col.extend(values)
        self._buffered_chars += sum(map(len, columns[0]))
        if len(buf[0]) >= _FLUSH_ROWS:
            self._flush(group)
        elif self._buffered_chars >= _FLUSH_CHARS:
            for g in sorted(self._buffers):
                self._flush(g)

    def _flush(self, group: int) -> None:
        buf = self._buffers.pop(group, None)
        if not buf or not buf[0]:
            return
        pa = self._pa
        self._buffered_chars -= sum(map(len, buf[0]))
        arrays = []
        for col, f in zip(buf, self._schema):
            if f.name == "key":  # uint64 keys arrive as numpy arrays (big Python ints convert slowly)
                arrays.append(pa.array(np.concatenate(col).astype(np.uint64)))
            else:
                arrays.append(pa.array(col, type=f.type))
        self._writer.write_batch(pa.record_batch(arrays, schema=self._schema))
        self.index.setdefault(group, []).append(self._batches)
        self.rows[group] = self.rows.get(group, 0) + len(buf[0])
        self._batches += 1

    def close(self) -> None:
        for g in sorted(self._buffers):
            self._flush(g)
        self._writer.close()
        self._out.commit()
        put_json(self.dir / "index.json", {str(g): b for g, b in sorted(self.index.items())})

    def abort(self) -> None:
        try:
            self._writer.close()
        finally:
            self._out.abort()


def write_bands(directory: Path, bands: list[np.ndarray], positions: list[int], width: int) -> None:
    arr = np.vstack(bands).astype(np.uint64) if bands else np.zeros((0, width), dtype=np.uint64)
    put_npy(directory / "bands.npy", arr)
    put_npy(directory / "band_pos.npy", np.asarray(positions, dtype=np.int64))


DONE = "done.json"


def finish_package(directory: Path, stats: dict, key, inputs: list[dict]) -> None:
    """Write stats.json, then done.json (last): key, input identity, checksums of every spill file."""
    put_json(directory / "stats.json", stats)
    files = [p for p in sorted(directory.iterdir()) if p.is_file() and not p.name.startswith(".") and p.name != DONE]
    write_done(directory / DONE, key, inputs, files, {})


def package_is_done(directory: Path, key, why: list | None = None) -> bool:
    """True when done.json exists, its key is ``key``, its inputs are unchanged and every checksum verifies."""
    return read_done(directory / DONE, key, why) is not None


def done_digest(directory: Path) -> str:
    """sha256 of a finished package's done.json: what the shards merged from it depend on."""
    import hashlib

    return hashlib.sha256((directory / DONE).read_bytes()).hexdigest()


def load_stats(directory: Path) -> dict:
    return json.loads((directory / "stats.json").read_text(encoding="utf-8"))


def load_index(directory: Path) -> dict[int, list[int]]:
    raw = json.loads((directory / "index.json").read_text(encoding="utf-8"))
    return {int(g): b for g, b in raw.items()}


def read_group(directory: Path, batches: list[int], columns=None):
    """Yield the record batches of one group from a unit's spill file, in write order."""
    import pyarrow as pa

    if not batches:
        return
    with pa.memory_map(str(directory / "records.arrow"), "r") as source:
        reader = pa.ipc.open_file(source)
        for i in batches:
            batch = reader.get_batch(i)
            yield batch.select(columns) if columns else batch
