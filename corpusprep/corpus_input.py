"""CORPUS arguments of `shard`, `build-vocab` and `build-spm`: which files, their work units, reading a unit.

Files: a file argument is taken as given (``*.parquet`` is Parquet, anything else text). A directory
gives the first non-empty of ``train-*.parquet``, ``*.parquet``, ``train-*.txt``, ``*.txt`` found in it
and its sub-directories (hidden files and folders skipped, e.g. ``clean``'s ``.work``), sorted by path:
the training shards of a ``clean`` output directory (never its ``validation-*`` shards), else any Parquet,
else the training shards of a ``--layout uer`` directory, else any text tree (e.g. a raw corpus).

Units depend only on the files and the unit size, never on the worker count, so results do not either.
A text unit is a byte range and owns the lines that *start* in it, so any worker can read it alone and
the units together hold every line once. ``text_cut`` says where ranges end: anywhere (``BYTES``), or
moved forward to the next line start (``LINE``) or past the next blank line (``BLANK_LINE``), found
with a few seeks, so a unit starts exactly at a document. Parquet units are runs of whole row groups.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from corpusprep.errors import InputError

TEXT, PARQUET = "text", "parquet"
BYTES, LINE, BLANK_LINE = "bytes", "line", "blank_line"  # text_cut
DIR_PATTERNS = ("train-*.parquet", "*.parquet", "train-*.txt", "*.txt")  # first that matches wins
_BLOCK = 4 << 20
_BATCH_ROWS = 4096


@dataclass(frozen=True)
class CorpusFile:
    path: str
    kind: str  # TEXT | PARQUET
    size: int


@dataclass(frozen=True)
class WorkUnit:
    index: int  # position in the whole plan (output order)
    file_index: int
    path: str
    kind: str
    start: int  # text: byte offset; Parquet: first row group
    end: int  # exclusive: byte offset / row group
    size: int  # bytes of input, for progress


def expand_corpus(paths) -> list[CorpusFile]:
    """The files CORPUS arguments name (directories expanded by the rule above), in order."""
    from corpusprep.outdir import require_complete_input, require_recorded

    out: list[CorpusFile] = []
    for raw in paths:
        p = Path(raw)
        require_complete_input(p)  # an unfinished zooprep output is refused, never read as data
        if p.is_dir():
            found = corpus_dir_files(p)
            if not found:
                raise InputError(str(p), "directory holds no .parquet or .txt corpus files")
            require_recorded(found)  # files of a zooprep output: only those its complete state records
        elif p.is_file():
            found = [p]
        else:
            raise InputError(str(p), "no such file or directory")
        out.extend(CorpusFile(str(f), PARQUET if f.suffix == ".parquet" else TEXT, f.stat().st_size) for f in found)
    return out


def corpus_dir_files(folder: Path) -> list[Path]:
    for pattern in DIR_PATTERNS:
        found = sorted(f for f in folder.rglob(pattern)
                       if f.is_file() and not any(part.startswith(".") for part in f.relative_to(folder).parts))
        if found:
            return found
    return []


def plan_units(files: list[CorpusFile], unit_bytes: int, *, text_cut: str = BYTES,
               parquet_unit_bytes: int | None = None) -> list[WorkUnit]:
    """Cut every file into units (at least one each). Parquet: consecutive row groups until they hold
    ``parquet_unit_bytes`` (uncompressed); 0 gives one unit per row group, None one unit per file."""
    units: list[WorkUnit] = []
    for fi, f in enumerate(files):
        if f.kind == PARQUET:
            spans = _parquet_spans(f.path, parquet_unit_bytes)
        else:
            spans = [(a, b, b - a) for a, b in _text_spans(f.path, f.size, unit_bytes, text_cut)]
        units.extend(WorkUnit(i, fi, f.path, f.kind, a, b, n) for i, (a, b, n) in enumerate(spans, len(units)))
    return units


def _text_spans(path: str, size: int, unit_bytes: int, cut: str) -> list[tuple[int, int]]:
    if cut == BYTES:
        return [(s, min(s + unit_bytes, size)) for s in range(0, max(size, 1), unit_bytes)]
    bounds = [0]
    with open(path, "rb") as fh:
        target = unit_bytes
        while target < size:
            b = _next_cut(fh, target, cut)
            if b >= size:
                break
            if b > bounds[-1]:
                bounds.append(b)
            target = max(b, target) + unit_bytes
    bounds.append(size)
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a] or [(0, 0)]


def _next_cut(fh, offset: int, cut: str) -> int:
    """First line start (LINE) or first start after a blank line (BLANK_LINE) at or after ``offset``."""
    fh.seek(offset - 1)
    fh.readline()  # finish the line holding byte offset-1: we are now at a line start >= offset
    if cut == LINE:
        return fh.tell()
    while True:
        line = fh.readline()
        if not line or not line.decode("utf-8", "replace").strip():
            return fh.tell()


def _parquet_spans(path: str, unit_bytes: int | None) -> list[tuple[int, int, int]]:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(path, f"not a readable Parquet file ({exc})") from None
    if "text" not in meta.schema.names:
        raise InputError(path, "Parquet file has no 'text' column (expected clean's output)")
    spans, start, acc = [], 0, 0
    for rg in range(meta.num_row_groups):
        acc += meta.row_group(rg).total_byte_size
        if unit_bytes is not None and acc >= unit_bytes:
            spans.append((start, rg + 1, acc))
            start, acc = rg + 1, 0
    if start < meta.num_row_groups or not spans:
        spans.append((start, meta.num_row_groups, acc))
    return spans


def text_blocks(path: str, start: int, end: int,
                raw: Callable[[bytes], object] | None = None) -> Iterator[tuple[int, bytes]]:
    """(byte offset, block of whole lines) holding exactly the lines that start in [start, end).

    The line in progress at ``start`` belongs to the unit before; the last line is finished past ``end``.
    ``raw`` (e.g. a hash's update) is given exactly the bytes [start, end), in order.
    """
    with open(path, "rb") as fh:
        inside = start == 0  # False while in the line that began before ``start``
        if not inside:
            fh.seek(start - 1)
            inside = fh.read(1) == b"\n"
        fh.seek(start)
        pos, carry, carry_at = start, b"", start
        while pos < end:
            block = fh.read(min(_BLOCK, end - pos))
            if not block:
                break
            if raw is not None:
                raw(block)
            at, pos = pos, pos + len(block)
            if not inside:
                cut = block.find(b"\n")
                if cut < 0:
                    continue
                inside, at, block = True, at + cut + 1, block[cut + 1:]
            if carry:
                at, block = carry_at, carry + block
            whole = block.rfind(b"\n") + 1
            if whole:
                yield at, block[:whole]
            carry, carry_at = block[whole:], at + whole
        if carry:
            yield carry_at, carry + fh.readline()


def text_lines(path: str, start: int, end: int,
               raw: Callable[[bytes], object] | None = None) -> Iterator[tuple[int, bytes]]:
    """(byte offset, line with its b"\\n") for each line that starts in [start, end); see `text_blocks`."""
    for at, block in text_blocks(path, start, end, raw):
        for line in io.BytesIO(block):  # splits at b"\n" only, like readline
            yield at, line
            at += len(line)


def newlines_before(path: str, offsets: list[int]) -> list[int]:
    """For each of the ascending byte ``offsets``, how many newlines precede it (one sequential pass)."""
    out: list[int] = []
    count = done = 0
    with open(path, "rb") as fh:
        for offset in offsets:
            while done < offset:
                block = fh.read(min(_BLOCK, offset - done))
                if not block:
                    break
                count += block.count(b"\n")
                done += len(block)
            out.append(count)
    return out


def line_number_at(path: str, offset: int) -> int:
    """1-based physical line number of byte ``offset`` (for error messages: reads the file up to it)."""
    return 1 + newlines_before(path, [offset])[0]


def parquet_texts(path: str, first_group: int, end_group: int) -> Iterator[str | None]:
    """The ``text`` column of row groups [first_group, end_group), row by row (None where null)."""
    import pyarrow.parquet as pq

    if end_group <= first_group:
        return
    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=_BATCH_ROWS, row_groups=range(first_group, end_group), columns=["text"]):
        yield from batch.column(0).to_pylist()
