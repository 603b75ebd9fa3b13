"""Final shard files: Parquet (default), `uer` (one document per line), `uer-sentences`.

Writers produce the same bytes for the same rows in the same order: Parquet row groups have a
fixed number of rows (not "whatever batch came in"), zstd at a fixed level, and no timestamps.
"""
from __future__ import annotations

import re
from pathlib import Path

from corpusprep.atomic import AtomicFile, sha256_file

SPLITS = ("train", "validation")
OUTPUT_COLUMNS = ("text", "source", "line", "meta")
_EXT = {"parquet": "parquet", "uer": "txt", "uer-sentences": "txt"}
SHARD_NAME_RE = re.compile(r"^(train|validation)-\d{5}-of-\d{5}\.(parquet|txt)$")
_ASCII_WORD_JOIN = re.compile(r"(?<=[A-Za-z0-9])\n+(?=[A-Za-z0-9])")
# Characters that some line readers (Python's str.splitlines among them) treat as line breaks.
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def one_line_breaks(text: str) -> str:
    """Every line-break-like character becomes '\n', so text layouts keep their line structure."""
    return _OTHER_BREAKS.sub("\n", text) if _OTHER_BREAKS.search(text) else text


def shard_name(split: int, shard: int, num_shards: int, layout: str) -> str:
    return f"{SPLITS[split]}-{shard:05d}-of-{num_shards:05d}.{_EXT[layout]}"


def uer_line(text: str) -> str:
    """One document on one line: lines run together (a space only between two ASCII words)."""
    text = one_line_breaks(text)
    if "\n" not in text:
        return text
    return _ASCII_WORD_JOIN.sub(" ", text).replace("\n", "")


def output_schema():
    import pyarrow as pa

    return pa.schema([("text", pa.string()), ("source", pa.string()), ("line", pa.int64()), ("meta", pa.string())])


class _AtomicShard:
    """A shard file written under its AtomicFile temporary name: ``close`` renames it into place and
    returns its sha256, ``abort`` deletes it. Subclasses open ``self._tmp`` and close it in ``_close_file``."""

    def __init__(self, path: Path):
        self.path, self.rows = path, 0
        self._atomic = AtomicFile(path)
        self._tmp = self._atomic.tmp

    def _close_file(self) -> None:
        raise NotImplementedError

    def close(self) -> str:
        self._close_file()
        self._atomic.commit()
        return sha256_file(self.path)

    def abort(self) -> None:
        try:
            self._close_file()
        finally:
            self._atomic.abort()


class ParquetShardWriter(_AtomicShard):
    def __init__(self, path: Path, row_group_rows: int):
        import pyarrow.parquet as pq

        super().__init__(path)
        self._group = row_group_rows
        self._schema = output_schema()
        self._writer = pq.ParquetWriter(str(self._tmp), self._schema, compression="zstd", compression_level=3,
                                        write_statistics=True, store_schema=True)
        self._pending: list = []
        self._pending_rows = 0

    def write(self, batch) -> None:
        """``batch``: a pyarrow RecordBatch/Table with the output columns."""
        if batch.num_rows == 0:
            return
        self._pending.append(batch.select(list(OUTPUT_COLUMNS)))
        self._pending_rows += batch.num_rows
        self.rows += batch.num_rows
        if self._pending_rows >= self._group:
            self._drain(final=False)

    def _drain(self, final: bool) -> None:
        import pyarrow as pa

        table = pa.Table.from_batches(self._pending, schema=self._schema) if self._pending else None
        self._pending, self._pending_rows = [], 0
        if table is None:
            return
        full = (table.num_rows // self._group) * self._group
        if full:
            self._writer.write_table(table.slice(0, full), row_group_size=self._group)
        rest = table.slice(full)
        if rest.num_rows:
            if final:
                self._writer.write_table(rest, row_group_size=self._group)
            else:
                self._pending, self._pending_rows = [rest.combine_chunks().to_batches()[0]], rest.num_rows

    def close(self) -> str:
        self._drain(final=True)
        return super().close()

    def _close_file(self) -> None:
        self._writer.close()


class TextShardWriter(_AtomicShard):
    """``uer``: a document per line; ``uer-sentences``: a sentence per line, blank line after a document."""

    def __init__(self, path: Path, layout: str):
        super().__init__(path)
        self._layout = layout
        self._fh = open(self._tmp, "wb", buffering=1 << 20)

    def write(self, batch) -> None:
        texts = batch.column("text").to_pylist()
        self.rows += len(texts)
        if self._layout == "uer":
            out = "".join(uer_line(t) + "\n" for t in texts)
        else:
            from corpusprep.sentences import split_sentences

            out = "".join("".join(s + "\n" for s in split_sentences(one_line_breaks(t))) + "\n" for t in texts)
        self._fh.write(out.encode("utf-8"))

    def _close_file(self) -> None:
        self._fh.close()


def open_shard_writer(path: Path, layout: str, row_group_rows: int):
    if layout == "parquet":
        return ParquetShardWriter(path, row_group_rows)
    return TextShardWriter(path, layout)
