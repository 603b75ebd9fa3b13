"""CORPUS arguments of `shard`, `build-vocab` and `build-spm`: which files, their work units, reading a unit.

This is the corpus readers' stack (``corpusprep.readers``) seen from the commands that take already
clean text: the same expander, the same ``WorkUnit``, the same byte-range line reading and repairs,
the same reject reasons and the same per-file fault isolation (``FailureLog``) as ``clean``.

Files: a file argument is taken as given (``*.parquet`` is Parquet, anything else UTF-8 text). A
directory gives the first non-empty of ``train-*.parquet``, ``*.parquet``, ``train-*.txt``, ``*.txt``
found in it and its sub-directories (hidden files and folders skipped, e.g. ``clean``'s ``.work``),
sorted by path: the training shards of a ``clean`` output directory (never its ``validation-*``
shards), else any Parquet, else the training shards of a ``--layout uer`` directory, else any text tree.
A raw table (CSV, TSV with a header, ``.jsonl``/``.json``) or a non-UTF-8 text file is refused with
a pointer to ``clean``, which reads those layouts (a header would otherwise become a document and a
label digit would be glued to every text); header-less ``label<TAB>text`` rows or JSON found by
content only are read with a warning.

Units depend only on the files and the unit size, never on the worker count, so results do not either.
A text unit is a byte range and owns the lines that *start* in it. ``text_cut`` says where ranges end:
anywhere (``BYTES``), or moved forward to the next line start (``LINE``) or past the next blank line
(``BLANK_LINE``, read as blank-line documents), found with a few seeks, so a unit starts exactly at
a document. Parquet units are runs of whole row groups.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

from corpusprep import storage
from corpusprep.errors import InputError, ZooprepError
from corpusprep.readers.failures import FailureLog, fail_fast
from corpusprep.readers.inputs import expand_inputs, walk
from corpusprep.readers.parquet import check_text_column
from corpusprep.readers.rawio import (detect_encoding, first_line_numbers, input_size, newlines_before, open_input,
                                      read_sample)
from corpusprep.readers.units import WorkUnit
from corpusprep.records import Failure, Record, Reject

__all__ = ["TEXT", "PARQUET", "BYTES", "LINE", "BLANK_LINE", "CorpusFile", "UnitRecords", "WorkUnit",
           "expand_corpus", "plan_units", "read_corpus_unit", "newlines_before"]

TEXT, PARQUET = "text", "parquet"
BYTES, LINE, BLANK_LINE = "bytes", "line", "blank_line"  # text_cut
_MIN_TABLE_LINES = 3
DIR_PATTERNS = ("train-*.parquet", "*.parquet", "train-*.txt", "*.txt")  # first that matches wins


@dataclass(frozen=True)
class CorpusFile:
    path: str
    kind: str  # TEXT | PARQUET
    size: int


def expand_corpus(paths, failures: FailureLog | None = None) -> list[CorpusFile]:
    """The files CORPUS arguments name (directories expanded by the rule above), in order.
    URLs (``s3://bucket/clean-out``) follow the same rules, a prefix being a directory.

    A missing or unusable file or folder is named in ``failures`` (without a log: InputError)."""
    from corpusprep.outdir import require_complete_input, require_recorded

    log = fail_fast(failures)
    out: list[CorpusFile] = []
    for raw in paths:
        if str(raw)[:7].lower() == "file://":
            raw = storage.absolute(str(raw))  # a local path in URL form
        if storage.is_url(raw):
            out.extend(_expand_url(str(raw), log))
            continue
        p = Path(raw)
        require_complete_input(p)  # an unfinished zooprep output is refused, never read as data
        if p.is_dir():
            found = corpus_dir_files(p, log)
            if not found:
                log.add(str(p), "directory holds no .parquet or .txt corpus files", nbytes=0)
                continue
            require_recorded(found)  # files of a zooprep output: only those its complete state records
        else:
            found = [Path(f) for f in expand_inputs([str(p)], log)]
        for f in found:
            out.append(CorpusFile(str(f), PARQUET if f.suffix == ".parquet" else TEXT, f.stat().st_size))
    return out


def _expand_url(url: str, log: FailureLog) -> list[CorpusFile]:
    """``expand_corpus`` of one URL: an object, a prefix (the directory rule) or a glob."""
    from corpusprep.outdir import require_complete_input, require_recorded

    if not storage.split_credentials(url)[1]:
        url = storage.absolute(url)  # S3://b//k -> s3://b/k (credentials stay where they are)
    require_complete_input(url)
    try:
        is_dir = storage.isdir(url)
    except ZooprepError as exc:
        log.add_error(storage.display(url), exc)
        return []
    if is_dir:
        found = corpus_dir_files(url, log)
        if not found:
            log.add(storage.display(url), "prefix holds no .parquet or .txt corpus objects", nbytes=0)
            return []
        require_recorded(found)
    else:
        found = expand_inputs([url], log)
    out = []
    for f in found:
        try:
            size = input_size(f)
        except InputError as exc:
            log.add_error(f, exc)
            continue
        out.append(CorpusFile(f, PARQUET if f.endswith(".parquet") else TEXT, size))
    return out


def corpus_dir_files(folder, log: FailureLog | None = None) -> list:
    """The corpus files of a directory (``Path``s) or URL prefix (URL strings), by DIR_PATTERNS."""
    if storage.is_url(folder):
        base = storage.absolute(folder).rstrip("/")
        urls = walk(str(folder), fail_fast(log), skip_docs=False)
        for pattern in DIR_PATTERNS:
            found = [f for f in urls if PurePosixPath(f[len(base) + 1:]).match(pattern)]
            if found:
                return found
        return []
    files = [Path(f) for f in walk(str(folder), fail_fast(log), skip_docs=False)]
    for pattern in DIR_PATTERNS:
        found = [f for f in files if f.match(pattern)]
        if found:
            return found
    return []


def plan_units(files: list[CorpusFile], unit_bytes: int, *, text_cut: str = BYTES,
               parquet_unit_bytes: int | None = None, failures: FailureLog | None = None,
               tab_rows: bool = False) -> list[WorkUnit]:
    """Cut every file into units (at least one each). Parquet: consecutive row groups until they hold
    ``parquet_unit_bytes`` (uncompressed); 0 gives one unit per row group, None one unit per file.
    ``tab_rows``: the reader expects ``label<TAB>text`` rows (cls), so such files are not refused.

    A file that cannot be planned is named in ``failures`` and left out (without a log: InputError)."""
    log = fail_fast(failures)
    units: list[WorkUnit] = []
    layout = "blank" if text_cut == BLANK_LINE else "lines"
    for fi, f in enumerate(files):
        try:
            if f.kind == PARQUET:
                spans = _parquet_spans(f.path, parquet_unit_bytes)
                made = [_unit(fi, f, "parquet", a, b, n, {}) for a, b, n in spans]
            else:
                _check_plain_text(f.path, tab_rows)
                bounds = _text_spans(f.path, f.size, unit_bytes, text_cut)
                firsts = first_line_numbers(f.path, [a for a, _ in bounds])
                made = [_unit(fi, f, layout, a, b, b - a, {"first_line": ln} if ln != 1 else {})
                        for (a, b), ln in zip(bounds, firsts)]
        except (InputError, OSError, UnicodeError, RecursionError) as exc:
            log.add_error(f.path, exc)
            continue
        units.extend(made)
    return [_renumber(u, i) for i, u in enumerate(units)]


def _unit(file_index: int, f: CorpusFile, layout: str, start: int, end: int, size: int, extra: dict) -> WorkUnit:
    family = {"parquet": "parquet", "blank": "text-blank"}.get(layout, "text")
    options = tuple(sorted({"layout": layout, **extra}.items()))
    return WorkUnit(0, f.path, family, "utf-8" if layout != "parquet" else "", start, end, None, options,
                    file_index, size)


def _renumber(u: WorkUnit, index: int) -> WorkUnit:
    return WorkUnit(index, u.path, u.family, u.encoding, u.start, u.end, u.compression, u.options, u.file_index,
                    u.size)


def _check_plain_text(path: str, tab_rows: bool = False) -> None:
    """UTF-8 text with one document (or sentence) per line; tables and legacy encodings go to `clean`."""
    from corpusprep.readers.sniff import sniff_layout
    from corpusprep.readers.units import compression_of

    if compression_of(path):
        raise InputError(path, "compressed file: corpus commands read plain UTF-8 text or Parquet; "
                               "run `zooprep clean` on it first")
    sample = read_sample(path, None)
    enc = detect_encoding(sample, path)
    if not enc.startswith("utf-8"):
        raise InputError(path, f"text is not UTF-8 (looks like {enc}); run `zooprep clean` on it first "
                               "(it decodes legacy encodings)")
    text = sample[: sample.rfind(b"\n") + 1 or len(sample)].decode("utf-8", "replace").replace("\r\n", "\n")
    layout = sniff_layout(path, text)
    by_name = Path(path).suffix.lower() in (".csv", ".tsv", ".jsonl", ".json", ".ndjson")
    if not by_name and sum(1 for ln in text.split("\n") if ln.strip()) < _MIN_TABLE_LINES:
        return  # too little to tell a table from text that happens to hold a tab
    if layout not in ("tsv", "label-tsv", "csv", "jsonl", "json-array"):
        return
    if tab_rows and layout in ("tsv", "label-tsv") and Path(path).suffix.lower() in (".tsv", ".txt", ""):
        return  # what a cls reader reads: label<TAB>text rows, with or without a header
    what = {"tsv": "a table with a header row", "label-tsv": "label<TAB>text rows", "csv": "CSV",
            "jsonl": "JSON lines", "json-array": "a JSON array"}[layout]
    message = (f"looks like {what}, not one document per line: a header would become a document and labels "
               "would be glued to the texts; run `zooprep clean` on it first and use its output")
    if by_name or (layout == "tsv" and _names_known_column(text)):
        raise InputError(path, message)
    # label<TAB>text without a header, or JSON found by content only: likely, not certain (text with
    # tabs, a code corpus), so it is read, with a warning
    print(f"warning: {path}: {message}", file=sys.stderr)


def _names_known_column(text: str) -> bool:
    """Whether the first line is a header naming a known column (``label``, ``text_a``, ``review``...)."""
    from corpusprep.readers.schemas import TEXT_CANDIDATES

    first = text.split("\n", 1)[0]
    return bool({c.strip().lower() for c in first.split("\t")} & {"label", *TEXT_CANDIDATES})


def _text_spans(path: str, size: int, unit_bytes: int, cut: str) -> list[tuple[int, int]]:
    if cut == BYTES:
        return [(s, min(s + unit_bytes, size)) for s in range(0, max(size, 1), unit_bytes)]
    bounds = [0]
    with open_input(path) as fh:
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
    meta = check_text_column(path)
    spans, start, acc = [], 0, 0
    for rg in range(meta.num_row_groups):
        acc += meta.row_group(rg).total_byte_size
        if unit_bytes is not None and acc >= unit_bytes:
            spans.append((start, rg + 1, acc))
            start, acc = rg + 1, 0
    if start < meta.num_row_groups or not spans:
        spans.append((start, meta.num_row_groups, acc))
    return spans


def read_corpus_unit(unit: WorkUnit) -> Iterator["Record | Reject | Failure"]:
    """The records of one unit (lines, blank-line documents, or Parquet rows), counted rejects, and
    at most one final ``Failure``: ``corpusprep.readers.read_unit_guarded``."""
    from corpusprep.readers.read import read_unit_guarded

    return read_unit_guarded(unit)


class UnitRecords:
    """The records of one corpus unit, with what reading met on the way: the one loop shard,
    build-vocab and build-spm read their units with.

    Iterating yields ``Record``s; rejects are counted per reason (``rejected``) and the first
    ``samples`` of them kept; a failure ends the unit and is kept in ``failed`` (a
    ``FailedFile.as_dict``), or raised at once with ``fail_fast`` (``--on-error fail``)."""

    def __init__(self, unit: WorkUnit, fail_fast: bool = False, samples: int = 5):
        self.unit, self.fail_fast, self.max_samples = unit, fail_fast, samples
        self.rejected: dict[str, int] = {}
        self.samples: list[dict] = []
        self.failed: dict | None = None

    def __iter__(self) -> Iterator[Record]:
        for item in read_corpus_unit(self.unit):
            cls = item.__class__
            if cls is Record:
                yield item
            elif cls is Reject:
                self.rejected[item.reason] = self.rejected.get(item.reason, 0) + 1
                if len(self.samples) < self.max_samples:
                    self.samples.append({"reason": item.reason, "source": item.source, "line": item.line,
                                         "detail": item.raw[:120]})
            else:
                if self.fail_fast:
                    raise InputError(item.source, item.reason, item.line)
                from corpusprep.readers.failures import file_size

                self.failed = {"path": item.source, "reason": item.reason, "bytes": file_size(self.unit.path),
                               "line": item.line}
                return

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


def range_sha256(path: str, start: int, end: int) -> str:
    """sha256 of the bytes [start, end) of a file."""
    import hashlib

    h = hashlib.sha256()
    with open_input(path) as fh:
        fh.seek(start)
        left = end - start
        while left > 0:
            block = fh.read(min(4 << 20, left))
            if not block:
                break
            h.update(block)
            left -= len(block)
    return h.hexdigest()


def line_number_at(path: str, offset: int) -> int:
    """1-based physical line number of byte ``offset`` (for error messages: reads the file up to it)."""
    return 1 + newlines_before(path, [offset])[0]
