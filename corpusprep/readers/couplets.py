"""Couplets: parallel ``in.txt`` (upper lines) / ``out.txt`` (lower lines) files read in lockstep."""
from __future__ import annotations

from itertools import zip_longest
from typing import Iterator

from corpusprep.records import Record, Reject
from corpusprep.readers.lines import RAW_PREFIX, BadLine, unit_line_blocks
from corpusprep.readers.units import WorkUnit

_SPACES = str.maketrans("", "", " ")


def _numbered(unit: WorkUnit) -> Iterator[tuple[int, "str | BadLine"]]:
    for first, items in unit_line_blocks(unit):
        yield from enumerate(items, first)


def join_chars(line: str) -> str:
    """``"腾 飞 上 铁 ， "`` -> ``"腾飞上铁，"``: the dataset separates every character by a space."""
    return line.translate(_SPACES)


def read_couplets(unit: WorkUnit) -> Iterator["Record | Reject"]:
    """One record per line pair: text = upper + ``\\n`` + lower. A line without a partner (the files'
    line counts differ) is ``couplet_unpaired``; a pair with one bad side is rejected under its reason."""
    from dataclasses import replace

    source = unit.source
    lower_unit = replace(
        unit, path=unit.option("pair"), encoding=unit.option("pair_encoding", unit.encoding),
        compression=unit.option("pair_compression"), start=0, end=None,
        options=tuple(kv for kv in unit.options if kv[0] == "max_line_bytes"))
    for up, low in zip_longest(_numbered(unit), _numbered(lower_unit)):
        if up is None or low is None:
            ln, item = up or low
            raw = item if isinstance(item, str) else item.raw
            yield Reject("couplet_unpaired", source, ln, raw[:RAW_PREFIX])
            continue
        ln, upper = up
        lower = low[1]
        if upper.__class__ is not str:
            yield upper.reject(source, ln)
        elif lower.__class__ is not str:
            yield lower.reject(source, ln)
        else:
            yield Record(f"{join_chars(upper)}\n{join_chars(lower)}", source, ln)
