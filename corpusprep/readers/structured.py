"""Readers for layouts whose records may span lines: RFC-4180 CSV and JSON arrays (one unit per file)."""
from __future__ import annotations

import csv
import json
import re
from collections import deque
from typing import Callable, Iterator

from corpusprep.errors import InputError
from corpusprep.records import Record, Reject
from corpusprep.readers.lines import RAW_PREFIX, BadLine, unit_line_blocks
from corpusprep.readers.rawio import input_size
from corpusprep.readers.schemas import Mapped, row_mapper
from corpusprep.readers.units import DEFAULT_MAX_LINE_BYTES, WorkUnit

Out = Iterator["Record | Reject"]


class _LineFeed:
    """Feeds decoded physical lines (with their newline) to a parser, remembering bad lines.

    A bad line is fed as its replacement-decoded text so the parser stays in step; the record that
    contains it is rejected under the bad line's reason.
    """

    def __init__(self, unit: WorkUnit):
        self.unit = unit
        self.bad: dict[int, BadLine] = {}

    def __iter__(self) -> Iterator[str]:
        for first, items in unit_line_blocks(self.unit):
            if items.__class__ is list:  # only str lines
                yield from [item + "\n" for item in items]
                continue
            for ln, item in enumerate(items, first):
                if item.__class__ is str:
                    yield item + "\n"
                else:
                    self.bad[ln] = item
                    yield item.raw + "\n"

    def bad_between(self, first: int, last: int) -> BadLine | None:
        """The first bad line in [first, last] (removing all of them from the pending set)."""
        found = None
        for ln in sorted(k for k in self.bad if first <= k <= last):
            bad = self.bad.pop(ln)
            found = found or bad
        return found


class _CsvFeed(_LineFeed):
    """A line feed that numbers the lines it hands over and can hand lines over again.

    ``last`` is the number of the last physical line given to the parser (the csv module reads
    exactly up to the end of a record), ``taken`` the lines of the record in progress; ``replay``
    gives lines back after a runaway quoted field, so they are parsed as rows again."""

    def __init__(self, unit: WorkUnit):
        super().__init__(unit)
        self.last = 0
        self.taken: list[tuple[int, str]] = []
        self.replay: deque[tuple[int, str]] = deque()
        self._source = self._numbered()

    def _numbered(self) -> Iterator[tuple[int, str]]:
        ln = self.unit.option("first_line", 1) - 1
        for line in _LineFeed.__iter__(self):
            ln += 1
            yield ln, line

    def __iter__(self) -> "_CsvFeed":
        return self

    def __next__(self) -> str:
        # a plain iterator, not a generator: after the source ran out, replayed lines still come
        if self.replay:
            ln, line = self.replay.popleft()
        else:
            nxt = next(self._source, None)
            if nxt is None:
                raise StopIteration
            ln, line = nxt
        self.last = ln
        self.taken.append((ln, line))
        return line


# A quoted field that spans lines is legitimate (Douban's padded times, multi-line reviews), but an
# unclosed quote swallows the rows after it. A multi-line record whose inner lines parse as rows of
# the table's width is taken for a runaway quote: it is rejected and those lines are read again.
_RUNAWAY_LINES = 1000  # a record spanning more physical lines is taken for a runaway quote anyway


def _runaway(lines: list[tuple[int, str]], width: int) -> bool:
    if len(lines) <= 1:
        return False
    if len(lines) > _RUNAWAY_LINES:
        return True
    need = 1 if width >= 3 else 3
    rowlike = 0
    for _, line in lines[1:]:
        if '"' in line:
            continue
        cells = line.rstrip("\n").split(",")
        if len(cells) == width and cells[0].strip() and len(cells[0].strip()) <= 32:
            rowlike += 1
            if rowlike >= need:
                return True
    return False


def read_csv(unit: WorkUnit) -> Out:
    """RFC-4180 CSV with a header row. Quoted fields may hold newlines; ``Record.line`` is the
    physical line where the record starts. Blank lines are not records. Extra cells beyond the
    header belong to the last column when that is the text column (unquoted commas in the text);
    otherwise such a row is ``bad_row``. Missing trailing cells are empty."""
    source = unit.source
    feed = _CsvFeed(unit)
    # a field may be as long as a line may be; an unclosed quote then ends in a counted bad_csv
    # after max_line_bytes instead of swallowing the rest of the file into memory
    csv.field_size_limit(unit.option("max_line_bytes", DEFAULT_MAX_LINE_BYTES))
    reader = csv.reader(feed, strict=False)
    text_field = unit.option("text_field")
    header: list[str] | None = None
    mapper: Callable[[list], Mapped] | None = None
    text_last = False
    prev_end = 0
    skip_first = unit.option("csv_header", True)
    if unit.option("columns"):  # planned: header-less, or the text column was inferred
        header = list(unit.option("columns"))
        mapper = row_mapper(unit.family, text_field, header)
        if mapper is None:
            raise InputError(source, f"columns {header} have no column {text_field!r}")
        text_last = mapper.body_index == len(header) - 1  # type: ignore[attr-defined]
    while True:
        feed.taken = []
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            start, prev_end = prev_end + 1, feed.last
            taken = [t for t in feed.taken if t[1].strip()]
            if len(taken) > 1:  # a field that ran into the size limit: read what it swallowed again
                start = prev_end = taken[0][0]
                feed.replay.extendleft(reversed(feed.taken[feed.taken.index(taken[0]) + 1:]))
            yield Reject("bad_csv", source, start, str(exc)[:RAW_PREFIX])
            continue
        start, prev_end = prev_end + 1, feed.last
        taken = [t for t in feed.taken if t[1].strip()]
        if header is not None and taken and _runaway(taken, len(header)):
            first_ln, first_line = taken[0]
            bad = feed.bad_between(first_ln, first_ln) if feed.bad else None
            yield Reject("bad_csv", source, first_ln, f"unclosed quote: {first_line}"[:RAW_PREFIX])
            feed.replay.extendleft(reversed(feed.taken[feed.taken.index(taken[0]) + 1:]))
            prev_end = first_ln
            continue
        bad = feed.bad_between(start, prev_end) if feed.bad else None
        if skip_first and header is not None and start == 1 and row:
            skip_first = False
            continue  # the header row of a planned table
        if header is None:
            if bad is not None:
                raise InputError(source, f"header line cannot be read ({bad.reason})", start)
            if not row:
                continue
            header = [h.strip().lstrip("\ufeff") for h in row]
            mapper = row_mapper(unit.family, text_field, header)
            if mapper is None:
                want = f"column {text_field!r}" if text_field else "a known text column"
                raise InputError(source, f"CSV header {header} has no {want}; pass --text-field", start)
            text_last = mapper.body_index == len(header) - 1  # type: ignore[attr-defined]
            continue
        if bad is not None:
            yield bad.reject(source, start)
            continue
        if not row or (len(row) == 1 and not row[0].strip() and len(header) > 1):
            continue  # a blank line is not a record
        if len(row) != len(header):
            if len(row) < len(header):
                row = row + [""] * (len(header) - len(row))  # missing trailing cells: empty
            elif text_last:
                row = row[: len(header) - 1] + [",".join(row[len(header) - 1:])]
            else:
                yield Reject("bad_row", source, start, ",".join(row)[:RAW_PREFIX])
                continue
        mapped = mapper(row)
        if mapped.__class__ is str:
            yield Reject(mapped, source, start, ",".join(row)[:RAW_PREFIX])
        else:
            yield Record(mapped[0], source, start, mapped[1])
    for ln in sorted(feed.bad):  # bad lines the parser never turned into a row
        yield feed.bad.pop(ln).reject(source, ln)


# After a broken element, reading resumes at the next element start: "}" "," then "{".
_RESYNC = re.compile(r"\}\s*,\s*(?=\{)")
_WS = re.compile(r"[\s,]*")


def read_json_array(unit: WorkUnit, mapper: Callable[[dict], Mapped]) -> Out:
    """A file holding one JSON array of objects (chinese-poetry). Objects are parsed one by one, so
    a broken object is rejected as ``bad_json`` and reading resumes at the next one. The file is
    held in memory (these collections are a few MB per file)."""
    from dataclasses import replace

    from corpusprep.readers.linebased import has_lone_surrogate, too_deep
    from corpusprep.readers.units import JSON_ARRAY_MAX_BYTES

    source = unit.source
    size = input_size(unit.path) if not unit.compression else 0
    if size > JSON_ARRAY_MAX_BYTES:
        raise InputError(source, f"a JSON array of {size} bytes is read whole and the limit is "
                                 f"{JSON_ARRAY_MAX_BYTES}; convert it to JSON lines (one object per line)")
    # the whole array may sit on one physical line (a 27 MB one-line file is common): the per-line
    # limit is the array limit here, not the 16 MB line limit
    whole = replace(unit, options=tuple(sorted({**dict(unit.options), "max_line_bytes": JSON_ARRAY_MAX_BYTES}.items())))
    feed = _LineFeed(whole)
    text = "".join(feed)
    escapes = "\\ud" in text or "\\uD" in text
    decoder = json.JSONDecoder()
    counted_pos, counted_line = 0, 1

    def line_at(pos: int) -> int:
        nonlocal counted_pos, counted_line
        counted_line += text.count("\n", counted_pos, pos)
        counted_pos = pos
        return counted_line

    i = _WS.match(text, 0).end()
    if i >= len(text):
        return  # empty file
    if text[i] == "{":
        # a single object, or JSON lines given as an array family: read objects one after another
        pass
    elif text[i] == "[":
        i += 1
    else:
        yield Reject("bad_json", source, line_at(i), text[i:i + RAW_PREFIX])
        return
    n = len(text)
    while True:
        i = _WS.match(text, i).end()
        if i >= n or text[i] == "]":
            break
        ln = line_at(i)
        try:
            obj, end = decoder.raw_decode(text, i)
        except (json.JSONDecodeError, RecursionError) as exc:  # RecursionError: nested too deeply
            m = _RESYNC.search(text, max(getattr(exc, "pos", i + 1), i + 1))
            stop = m.end() if m else n
            yield Reject("bad_json", source, ln, text[i:stop][:RAW_PREFIX])
            i = stop
            continue
        bad = feed.bad_between(ln, line_at(end)) if feed.bad else None
        if bad is not None:
            yield bad.reject(source, ln)
        elif not isinstance(obj, dict):
            yield Reject("bad_json", source, ln, text[i:end][:RAW_PREFIX])
        elif too_deep(text[i:end]):
            yield Reject("bad_json", source, ln, text[i:end][:RAW_PREFIX])
        elif escapes and has_lone_surrogate(obj, text[i:end]):
            yield Reject("undecodable", source, ln, text[i:end][:RAW_PREFIX])
        else:
            mapped = mapper(obj)
            if mapped.__class__ is str:
                yield Reject(mapped, source, ln, text[i:end][:RAW_PREFIX])
            else:
                yield Record(mapped[0], source, ln, mapped[1])
        i = end
    for ln in sorted(feed.bad):  # bad lines outside any object (e.g. a truncated tail)
        yield feed.bad.pop(ln).reject(source, ln)
