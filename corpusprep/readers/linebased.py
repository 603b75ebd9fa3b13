"""Readers for layouts with one record per physical line (splittable into byte ranges) and for
blank-line separated documents."""
from __future__ import annotations

import json
from typing import Callable, Iterator

from corpusprep.records import Record, Reject
from corpusprep.readers.lines import (RAW_PREFIX, BadLine, iter_line_blocks, line_before_is_blank, owned_chunks,
                                      unit_line_blocks)
from corpusprep.readers.schemas import Mapped, row_mapper
from corpusprep.readers.units import DEFAULT_MAX_LINE_BYTES, WorkUnit

Out = Iterator["Record | Reject"]


def read_lines(unit: WorkUnit) -> Out:
    """One document per physical line; every line is a record, empty ones included (the cleaning
    filters drop and count them), so records == physical lines."""
    source = unit.source
    for first, items in unit_line_blocks(unit):
        if items.__class__ is list:  # only str lines: no per-line type check
            yield from [Record(item, source, ln) for ln, item in enumerate(items, first)]
            continue
        for ln, item in enumerate(items, first):
            yield Record(item, source, ln) if item.__class__ is str else item.reject(source, ln)


def _json_loads() -> Callable[[str], object]:
    """orjson when installed (about 4x faster), else the standard library. Results are the same:
    a line orjson refuses is retried with ``json`` before it counts as ``bad_json``."""
    try:
        import orjson
    except ImportError:
        return json.loads
    return orjson.loads


def read_jsonl(unit: WorkUnit, mapper: Callable[[dict], Mapped]) -> Out:
    """JSON lines: one object per line; blank lines are not records; a broken line is ``bad_json``."""
    source = unit.source
    loads = _json_loads()
    for first, items in unit_line_blocks(unit):
        for ln, item in enumerate(items, first):
            if item.__class__ is not str:
                yield item.reject(source, ln)
                continue
            if too_deep(item):
                yield Reject("bad_json", source, ln, item[:RAW_PREFIX])
                continue
            try:
                obj = loads(item)
            except ValueError:
                try:
                    obj = json.loads(item)  # what orjson refuses (NaN, >64-bit integers) json may take
                except (ValueError, RecursionError):  # RecursionError: nested deeper than ~1000 levels
                    if item.strip():
                        yield Reject("bad_json", source, ln, item[:RAW_PREFIX])
                    continue
                if has_lone_surrogate(obj, item):  # orjson refuses these; json takes "\\udfff" escapes
                    yield Reject("undecodable", source, ln, item[:RAW_PREFIX])
                    continue
            if obj.__class__ is not dict:
                yield Reject("bad_json", source, ln, item[:RAW_PREFIX])
                continue
            mapped = mapper(obj)
            if mapped.__class__ is str:
                yield Reject(mapped, source, ln, item[:RAW_PREFIX])
            else:
                yield Record(mapped[0], source, ln, mapped[1])


MAX_JSON_DEPTH = 200  # real corpora nest a few levels; deeper values break encoders downstream


def too_deep(raw: str) -> bool:
    """Whether JSON text nests arrays/objects deeper than MAX_JSON_DEPTH (a cheap count first; the
    exact scan, which skips strings, only for the rare text that has that many brackets)."""
    if raw.count("[") + raw.count("{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    in_str = escaped = False
    for ch in raw:
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def has_lone_surrogate(obj, raw: str) -> bool:
    """Whether a parsed JSON value holds a lone surrogate (only possible through a ``\\udXXX`` escape in
    ``raw``): such a string cannot be written as UTF-8, so its record is rejected as undecodable."""
    if "\\ud" not in raw and "\\uD" not in raw:
        return False
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_tsv(unit: WorkUnit, columns: tuple[str, ...], has_header: bool) -> Out:
    """Tab-separated rows without quoting (quote characters are literal text, as in UER's datasets).

    Extra tabs beyond the header's column count belong to the last column (the text, in the
    published layouts). A row with fewer columns than the header is ``bad_row``.
    """
    from corpusprep.errors import InputError

    source = unit.source
    mapper = row_mapper(unit.family, unit.option("text_field"), columns)
    if mapper is None:
        raise InputError(source, f"columns {list(columns)} hold no text column; pass --text-field")
    ncol = len(columns)
    skip_header = has_header and unit.start == 0
    for first, items in unit_line_blocks(unit):
        for ln, item in enumerate(items, first):
            if item.__class__ is not str:
                yield item.reject(source, ln)
                continue
            cells = item.split("\t", ncol - 1)
            if len(cells) < ncol:
                if item.strip():  # a blank line is not a row
                    yield Reject("bad_row", source, ln, item[:RAW_PREFIX])
                continue
            if skip_header and ln == 1:
                continue
            mapped = mapper(cells)
            if mapped.__class__ is str:
                yield Reject(mapped, source, ln, item[:RAW_PREFIX])
            else:
                yield Record(mapped[0], source, ln, mapped[1])


class _DocBuilder:
    """Accumulates the lines of one blank-line separated document, within a size limit."""

    def __init__(self, source: str, meta: dict | None, limit: int):
        self.source, self.meta, self.limit = source, meta, limit
        self.lines: list[str] = []
        self.start = 0
        self.size = 0
        self.problem: BadLine | None = None

    @property
    def is_open(self) -> bool:
        return bool(self.lines) or self.problem is not None

    def add(self, ln: int, item) -> "Record | Reject | None":
        """Take one physical line; a blank line closes the open document and returns it."""
        if item.__class__ is str and not item.strip():
            return self.finish()
        if not self.is_open:
            self.start = ln
        if self.problem is not None:
            return None  # the document is already rejected: skip to its end
        if item.__class__ is not str:
            self.problem, self.lines = item, []
            return None
        self.size += len(item) + 1
        if self.size > self.limit:
            self.problem = BadLine("document_too_long", "\n".join(self.lines)[:RAW_PREFIX])
            self.lines = []
        else:
            self.lines.append(item)
        return None

    def extend(self, ln: int, lines: list[str]) -> None:
        """Take consecutive non-blank lines at once (same result as ``add`` on each)."""
        if not self.is_open:
            self.start = ln
        if self.problem is not None:
            return
        grow = sum(map(len, lines)) + len(lines)
        if self.size + grow > self.limit:
            for i, item in enumerate(lines):  # the exact per-line rule decides where it overflowed
                self.add(ln + i, item)
            return
        self.size += grow
        self.lines.extend(lines)

    def finish(self) -> "Record | Reject | None":
        if not self.is_open:
            return None
        if self.problem is not None:
            out = self.problem.reject(self.source, self.start)
        else:
            out = Record("\n".join(self.lines), self.source, self.start, dict(self.meta) if self.meta else {})
        self.lines, self.size, self.problem = [], 0, None
        return out


def read_blank_docs(unit: WorkUnit, meta: dict | None = None) -> Out:
    """Documents separated by one or more blank (whitespace-only) lines; text = its lines joined by
    ``\\n``. A document containing a bad line is rejected whole under that line's reason; one over
    ``max_line_bytes`` characters is ``document_too_long`` (not held in memory past the limit).

    Byte ranges: a unit owns the documents whose first line starts in [start, end). It skips the
    tail of a document begun before ``start`` and reads past ``end`` to finish its last document.
    """
    limit = unit.option("max_line_bytes", DEFAULT_MAX_LINE_BYTES)
    builder = _DocBuilder(unit.source, meta, limit)
    ranged = not unit.compression and (unit.start > 0 or unit.end is not None)
    skipping = ranged and not line_before_is_blank(unit.path, unit.start, unit.encoding, limit)
    last_ln = unit.option("first_line", 1) - 1
    for first, items in unit_line_blocks(unit):
        last_ln = first + len(items) - 1
        if items.__class__ is list and not skipping:
            # fast path (only str lines): find the blank lines, hand over the runs between them
            prev = 0
            for b in [i for i, s in enumerate(items) if not s or s.isspace()]:
                if b > prev:
                    builder.extend(first + prev, items[prev:b])
                done = builder.finish()
                if done is not None:
                    yield done
                prev = b + 1
            if prev < len(items):
                builder.extend(first + prev, items[prev:])
            continue
        for ln, item in enumerate(items, first):
            if skipping:  # still inside the previous unit's document
                skipping = not (item.__class__ is str and not item.strip())
                continue
            done = builder.add(ln, item)
            if done is not None:
                yield done
    if ranged and unit.end is not None and builder.is_open:
        overflow = iter_line_blocks(owned_chunks(unit.path, unit.end, None), unit.encoding, first_line=last_ln + 1,
                                    max_line=limit, at_file_start=False)
        for first, items in overflow:
            for ln, item in enumerate(items, first):
                done = builder.add(ln, item)
                if done is not None:
                    yield done
                    return
    done = builder.finish()
    if done is not None:
        yield done
