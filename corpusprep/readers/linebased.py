"""Readers for layouts with one record per physical line (splittable into byte ranges) and for
blank-line separated documents."""
from __future__ import annotations

import json
from typing import Callable, Iterator

from corpusprep.records import Record, Reject
from corpusprep.readers.lines import RAW_PREFIX, BadLine, unit_line_blocks
from corpusprep.readers.schemas import Mapped
from corpusprep.readers.units import DEFAULT_MAX_LINE_BYTES, WorkUnit

Out = Iterator["Record | Reject"]


def read_lines(unit: WorkUnit, source: str, meta: dict | None = None) -> Out:
    """One document per physical line; every line is a record, empty ones included (the cleaning
    filters drop and count them), so records == physical lines."""
    for first, items in unit_line_blocks(unit):
        if meta is None:
            for ln, item in enumerate(items, first):
                if item.__class__ is str:
                    yield Record(item, source, ln)
                else:
                    yield item.reject(source, ln)
        else:
            for ln, item in enumerate(items, first):
                yield Record(item, source, ln, dict(meta)) if item.__class__ is str else item.reject(source, ln)


def read_jsonl(unit: WorkUnit, source: str, mapper: Callable[[dict], Mapped]) -> Out:
    """JSON lines: one object per line; blank lines are not records; a broken line is ``bad_json``."""
    loads = json.loads
    for first, items in unit_line_blocks(unit):
        for ln, item in enumerate(items, first):
            if item.__class__ is not str:
                yield item.reject(source, ln)
                continue
            try:
                obj = loads(item)
            except ValueError:
                if item.strip():
                    yield Reject("bad_json", source, ln, item[:RAW_PREFIX])
                continue
            if not isinstance(obj, dict):
                yield Reject("bad_json", source, ln, item[:RAW_PREFIX])
                continue
            mapped = mapper(obj)
            if mapped.__class__ is str:
                yield Reject(mapped, source, ln, item[:RAW_PREFIX])
            else:
                yield Record(mapped[0], source, ln, mapped[1])


def read_tsv(unit: WorkUnit, source: str, mapper: Callable[[dict], Mapped], columns: tuple[str, ...],
             has_header: bool) -> Out:
    """Tab-separated rows without quoting (quote characters are literal text, as in UER's datasets).

    Extra tabs beyond the header's column count belong to the last column (the text, in the
    published layouts). A row with fewer columns than needed for the text is ``bad_row``.
    """
    ncol = len(columns)
    skip_header = has_header and unit.start == 0
    for first, items in unit_line_blocks(unit):
        for ln, item in enumerate(items, first):
            if item.__class__ is not str:
                yield item.reject(source, ln)
                continue
            if skip_header and ln == 1:
                continue
            if not item.strip():
                continue  # a blank line is not a row
            cells = item.split("\t", ncol - 1)
            if len(cells) < ncol:
                yield Reject("bad_row", source, ln, item[:RAW_PREFIX])
                continue
            mapped = mapper(dict(zip(columns, cells)))
            if mapped.__class__ is str:
                yield Reject(mapped, source, ln, item[:RAW_PREFIX])
            else:
                yield Record(mapped[0], source, ln, mapped[1])


def read_blank_docs(unit: WorkUnit, source: str, meta: dict | None = None) -> Out:
    """Documents separated by one or more blank (whitespace-only) lines; text = its lines joined by
    ``\\n``. A document containing a bad line is rejected whole under that line's reason; one over
    ``max_line_bytes`` characters is ``document_too_long`` (not held in memory past the limit)."""
    limit = unit.option("max_line_bytes", DEFAULT_MAX_LINE_BYTES)
    doc: list[str] = []
    start = 0
    size = 0
    problem: BadLine | None = None

    def flush():
        if problem is not None:
            raw = problem.raw if problem.raw else "\n".join(doc)
            return Reject(problem.reason, source, start, raw[:RAW_PREFIX])
        return Record("\n".join(doc), source, start, dict(meta) if meta else {})

    for first, items in unit_line_blocks(unit):
        for ln, item in enumerate(items, first):
            if item.__class__ is str:
                if item.strip():
                    if not doc and problem is None:
                        start = ln
                    if problem is None:
                        size += len(item) + 1
                        if size > limit:
                            problem = BadLine("document_too_long", "\n".join(doc)[:RAW_PREFIX])
                            doc = []
                        else:
                            doc.append(item)
                    continue
                if doc or problem is not None:
                    yield flush()
                doc, size, problem = [], 0, None
            else:
                if not doc and problem is None:
                    start = ln
                if problem is None:
                    problem = item
                    doc = []
    if doc or problem is not None:
        yield flush()
