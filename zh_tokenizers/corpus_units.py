"""Work units over a vocab-building corpus: byte ranges of UTF-8 text files, row groups of Parquet files.

A text unit owns the lines that *start* inside its byte range, so units can be read independently by any
worker and together cover every line exactly once.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from corpusprep.errors import InputError

CHUNK_BYTES = 32 << 20
_READ = 4 << 20


@dataclass(frozen=True)
class CorpusUnit:
    path: str
    kind: str  # "text" | "parquet"
    start: int  # byte offset (text) or row group index (parquet)
    end: int  # byte offset, exclusive (text); row group index + 1 (parquet)


def expand_corpus(paths: list[str]) -> list[str]:
    """Files to read: given files as is; a directory gives the *.parquet files under it, else its *.txt files
    (recursively, sorted, hidden files skipped)."""
    files: list[str] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            found = _visible(p, "*.parquet") or _visible(p, "*.txt")
            if not found:
                raise InputError(item, "directory has no *.parquet or *.txt files")
            files.extend(str(f) for f in found)
        elif p.is_file():
            files.append(str(p))
        else:
            raise InputError(item, "no such file or directory")
    return files


def _visible(folder: Path, pattern: str) -> list[Path]:
    return sorted(f for f in folder.rglob(pattern)
                  if f.is_file() and not any(part.startswith(".") for part in f.relative_to(folder).parts))


def plan_units(files: list[str], chunk_bytes: int = CHUNK_BYTES) -> list[CorpusUnit]:
    units: list[CorpusUnit] = []
    for path in files:
        if path.endswith(".parquet"):
            import pyarrow.parquet as pq

            try:
                groups = pq.ParquetFile(path).num_row_groups
            except Exception as exc:  # pyarrow raises several types for a broken file
                raise InputError(path, f"not a readable Parquet file ({exc})") from None
            units.extend(CorpusUnit(path, "parquet", g, g + 1) for g in range(groups))
        else:
            size = os.path.getsize(path)
            units.extend(CorpusUnit(path, "text", s, min(s + chunk_bytes, size))
                         for s in range(0, max(size, 1), chunk_bytes))
    return units


def _line_of(path: str, offset: int) -> int:
    count = 1
    with open(path, "rb") as fh:
        done = 0
        while done < offset:
            block = fh.read(min(_READ, offset - done))
            if not block:
                break
            count += block.count(b"\n")
            done += len(block)
    return count


def _owned_bytes(path: str, start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """Yield (offset, block of whole lines) for the lines starting in [start, end)."""
    with open(path, "rb") as fh:
        pos = start
        if start > 0:
            fh.seek(start - 1)
            if fh.read(1) != b"\n":
                skipped = fh.readline()  # the line in progress belongs to the previous unit
                pos = start + len(skipped)
        fh.seek(pos)
        while pos < end:
            block = fh.read(min(_READ, end - pos))
            if not block:
                return
            if not block.endswith(b"\n"):
                block += fh.readline()  # finish the last line, even past ``end``
            yield pos, block
            pos += len(block)


def iter_unit_texts(unit: CorpusUnit) -> Iterator[str]:
    """Texts of one unit: lines of a text file, or the ``text`` column of a Parquet row group."""
    if unit.kind == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(unit.path)
        if "text" not in pf.schema_arrow.names:
            raise InputError(unit.path, "Parquet file has no 'text' column")
        column = pf.read_row_group(unit.start, columns=["text"]).column("text")
        for value in column.to_pylist():
            if value:
                yield value
        return
    for offset, block in _owned_bytes(unit.path, unit.start, unit.end):
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = _line_of(unit.path, offset + exc.start)
            raise InputError(unit.path, "not valid UTF-8 (convert it with `clean` first)", line=line) from None
        yield from text.splitlines()
