"""Corpus inputs of `shard`: which files, how they are cut into work units, how a unit is read.

Work units depend only on the files and ``unit_bytes`` (never on the worker count), which is what
makes the output identical for 1 or N workers. Text files are cut at byte offsets moved forward to
the next document start (next line for one-document-per-line, next line after a blank line for the
sentence-per-line layout), found with a few seeks: no pass over the whole corpus. Parquet files
(``clean`` output) are cut at row-group boundaries.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from corpusprep.errors import InputError

LINES = "lines"  # one document per line (mlm, lm)
SENTENCES = "sentences"  # one sentence per line, blank line between documents (bert, albert)


@dataclass(frozen=True)
class Source:
    path: Path
    kind: str  # text | parquet
    size: int


@dataclass(frozen=True)
class WorkUnit:
    index: int  # position in the whole plan (output order)
    source_index: int
    path: str
    kind: str
    start: int  # text: byte offset; parquet: first row group
    end: int  # text: byte offset (exclusive); parquet: row group (exclusive)
    size: int  # bytes of input, for progress


@dataclass(slots=True)
class Document:
    key: str  # stable identity within the plan, seeds the per-document random source
    text: str | None = None  # LINES layout
    sentences: list[str] | None = None  # SENTENCES layout


@dataclass(slots=True)
class UnitTally:
    rejected: int = 0
    empty: int = 0
    samples: list | None = None


def layout_for(processor: str) -> str:
    return SENTENCES if processor in ("bert", "albert") else LINES


def expand_corpus(paths) -> list[Source]:
    """Files named, or inside named directories (``train-*`` shards first choice, like clean's output)."""
    sources: list[Source] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = _dir_files(p)
            if not found:
                raise InputError(str(p), "directory holds no .parquet or .txt corpus files")
        elif p.is_file():
            found = [p]
        else:
            raise InputError(str(p), "no such file or directory")
        for f in found:
            kind = "parquet" if f.suffix == ".parquet" else "text"
            sources.append(Source(f, kind, f.stat().st_size))
    return sources


def _dir_files(d: Path) -> list[Path]:
    for pattern in ("train-*.parquet", "*.parquet", "train-*.txt", "*.txt"):
        found = sorted(x for x in d.glob(pattern) if x.is_file())
        if found:
            return found
    return []


def plan_units(sources: list[Source], layout: str, unit_bytes: int) -> list[WorkUnit]:
    units: list[WorkUnit] = []
    for si, src in enumerate(sources):
        spans = _parquet_spans(src, unit_bytes) if src.kind == "parquet" else _text_spans(src, layout, unit_bytes)
        for start, end, size in spans:
            units.append(WorkUnit(len(units), si, str(src.path), src.kind, start, end, size))
    return units


def _text_spans(src: Source, layout: str, unit_bytes: int) -> list[tuple[int, int, int]]:
    bounds = [0]
    with open(src.path, "rb") as fh:
        target = unit_bytes
        while target < src.size:
            b = _next_doc_start(fh, target, layout)
            if b >= src.size:
                break
            if b > bounds[-1]:
                bounds.append(b)
            target = max(b, target) + unit_bytes
    bounds.append(src.size)
    return [(a, b, b - a) for a, b in zip(bounds, bounds[1:]) if b > a] or [(0, 0, 0)]


def _next_doc_start(fh, offset: int, layout: str) -> int:
    """First document start at or after ``offset`` (file size if none)."""
    fh.seek(offset - 1)
    fh.readline()  # finish the line holding byte offset-1: we are now at a line start >= offset
    if layout == LINES:
        return fh.tell()
    while True:
        line = fh.readline()
        if not line:
            return fh.tell()
        if not line.decode("utf-8", "replace").strip():
            return fh.tell()


def _parquet_spans(src: Source, unit_bytes: int) -> list[tuple[int, int, int]]:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(src.path).metadata
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(str(src.path), f"not a readable Parquet file ({exc})") from None
    if "text" not in meta.schema.names:
        raise InputError(str(src.path), "Parquet file has no 'text' column (expected clean's output)")
    spans, start, acc = [], 0, 0
    for rg in range(meta.num_row_groups):
        acc += meta.row_group(rg).total_byte_size
        if acc >= unit_bytes:
            spans.append((start, rg + 1, acc))
            start, acc = rg + 1, 0
    if start < meta.num_row_groups or not spans:
        spans.append((start, meta.num_row_groups, acc))
    return spans


def read_documents(unit: WorkUnit, layout: str, tally: UnitTally, sentence_splitter=None) -> Iterator[Document]:
    """The unit's documents in order; undecodable lines are counted rejects, empty documents skipped."""
    if unit.kind == "parquet":
        yield from _parquet_documents(unit, layout, tally, sentence_splitter)
    elif layout == LINES:
        yield from _line_documents(unit, tally)
    else:
        yield from _sentence_documents(unit, tally)


def _lines(unit: WorkUnit, tally: UnitTally) -> Iterator[tuple[int, str | None]]:
    """(byte offset, decoded line without its line break) for each physical line of the unit."""
    with open(unit.path, "rb") as fh:
        fh.seek(unit.start)
        pos = unit.start
        while pos < unit.end:
            raw = fh.readline()
            if not raw:
                return
            at, pos = pos, pos + len(raw)
            try:
                yield at, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                tally.rejected += 1
                if tally.samples is None:
                    tally.samples = []
                if len(tally.samples) < 5:
                    tally.samples.append({"reason": "invalid_utf8", "source": unit.path, "byte": at,
                                          "detail": str(exc)[:120]})
                yield at, None


def _line_documents(unit: WorkUnit, tally: UnitTally) -> Iterator[Document]:
    n = 0
    for _, line in _lines(unit, tally):
        if line is None:
            continue
        if not line.strip():
            tally.empty += 1
            continue
        yield Document(f"{unit.source_index}:{unit.start}:{n}", text=line)
        n += 1


def _sentence_documents(unit: WorkUnit, tally: UnitTally) -> Iterator[Document]:
    n = 0
    sentences: list[str] = []
    for _, line in _lines(unit, tally):
        if line is None:
            continue
        if line.strip():
            sentences.append(line)
            continue
        if sentences:
            yield Document(f"{unit.source_index}:{unit.start}:{n}", sentences=sentences)
            n += 1
            sentences = []
    if sentences:
        yield Document(f"{unit.source_index}:{unit.start}:{n}", sentences=sentences)


def _parquet_documents(unit: WorkUnit, layout: str, tally: UnitTally, splitter) -> Iterator[Document]:
    import pyarrow.parquet as pq

    if splitter is None:
        from corpusprep.sentences import split_sentences as splitter
    pf = pq.ParquetFile(unit.path)
    n = 0
    for rg in range(unit.start, unit.end):
        for text in pf.read_row_group(rg, columns=["text"]).column("text").to_pylist():
            if not text or not text.strip():
                tally.empty += 1
                continue
            key = f"{unit.source_index}:{unit.start}:{n}"
            n += 1
            if layout == LINES:
                yield Document(key, text=text)
            else:
                sentences = splitter(text)
                if sentences:
                    yield Document(key, sentences=sentences)
                else:
                    tally.empty += 1
