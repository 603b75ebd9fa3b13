"""``read_unit``: run the reader for a unit's family and layout."""
from __future__ import annotations

import os
from typing import Iterator

from corpusprep.errors import InputError
from corpusprep.records import Failure, Record, Reject
from corpusprep.readers.couplets import read_couplets
from corpusprep.readers.parquet import read_parquet
from corpusprep.readers.linebased import read_blank_docs, read_jsonl, read_lines, read_tsv
from corpusprep.readers.schemas import dict_mapper
from corpusprep.readers.structured import read_csv, read_json_array
from corpusprep.readers.units import WorkUnit


def read_unit(unit: WorkUnit) -> Iterator["Record | Reject"]:
    """Records and counted rejects of one work unit, in file order. Pure: depends only on the unit."""
    layout = unit.option("layout")
    text_field = unit.option("text_field")
    if layout == "lines":
        return read_lines(unit)
    if layout == "blank":
        return read_blank_docs(unit, path_meta(unit.family, unit.source))
    if layout == "jsonl":
        return read_jsonl(unit, dict_mapper(unit.family, text_field))
    if layout in ("tsv", "label-tsv"):
        columns = unit.option("columns") or ("label", "text")
        return read_tsv(unit, tuple(columns), layout == "tsv")
    if layout == "csv":
        return read_csv(unit)
    if layout == "json-array":
        return read_json_array(unit, dict_mapper(unit.family, text_field))
    if layout == "pair":
        return read_couplets(unit)
    if layout == "parquet":
        return read_parquet(unit)
    raise InputError(unit.source, f"unit has no known layout ({layout!r}); build units with plan_units()")


def read_unit_guarded(unit: WorkUnit) -> Iterator["Record | Reject | Failure"]:
    """``read_unit``, but an error that stops reading the file ends the stream with one ``Failure``
    (the file is then listed in the report's failed_files) instead of propagating: the one place
    where per-file fault isolation happens while reading."""
    from corpusprep.readers.failures import describe

    line = None
    before = _stat(unit.path)
    try:
        for item in read_unit(unit):
            line = item.line
            yield item
    except (InputError, OSError, RecursionError, MemoryError, UnicodeError, ValueError) as exc:
        reason, at = describe(exc)
        yield Failure(unit.source, reason, at if at is not None else line)
        return
    changed = changed_while_read(unit, before, _stat(unit.path))
    if changed:
        yield Failure(unit.source, changed, None)


def _stat(path: str) -> tuple | None:
    """(size, version stamps) of an input now: mtime_ns and inode of a file, ETag and version of an object."""
    from corpusprep import storage
    from corpusprep.errors import ZooprepError

    try:
        if storage.is_url(path):
            i = storage.info(path)
            return i["size"], i["etag"], i["version"]
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns, st.st_ino
    except (OSError, ZooprepError):
        return None


def changed_while_read(unit: WorkUnit, before, after) -> str | None:
    """Why what a unit read cannot be trusted: the file was cut short of the planned range, or
    replaced, truncated or appended to while it was read (a mix of two versions)."""
    if before is None or after is None:
        return "file vanished while it was read; rerun when it is complete"
    if before != after:
        return (f"file changed while it was read ({before[0]} -> {after[0]} bytes); "
                "rerun when nothing writes to it")
    if unit.kind == "text" and unit.compression is None and unit.end is not None and after[0] < unit.end:
        return (f"file is shorter than when the run was planned ({after[0]} bytes, range ends at {unit.end}); "
                "rerun")
    return None


_NIUTRANS_ROOTS = ("古文原文", "双语数据")


def path_meta(family: str, path: str) -> dict | None:
    """Book/chapter for classical Chinese, taken from the folder layout."""
    if family != "ancient":
        return None
    parts = os.path.normpath(path).split(os.sep)
    for root in _NIUTRANS_ROOTS:
        if root in parts[:-1]:
            at = len(parts) - 1 - parts[::-1].index(root)
            inner = parts[at + 1:-1]  # <book>/<chapter...>/text.txt
            if inner:
                return {"book": inner[0], "chapter": "/".join(inner[1:])}
    name = parts[-1]
    stem = name.split(".", 1)[0]
    if stem == "text" and len(parts) >= 2:
        return {"book": parts[-2], "chapter": ""}
    return {"book": stem, "collection": parts[-2] if len(parts) >= 2 else ""}  # daizhige: one book per file
