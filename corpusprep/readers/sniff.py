"""Guess a file's family and layout from its name, folder names and first bytes."""
from __future__ import annotations

import json
import os

from corpusprep.errors import InputError
from corpusprep.readers.rawio import SAMPLE_BYTES, detect_encoding, input_is_file, read_sample
from corpusprep.readers.schemas import TEXT_CANDIDATES, is_poem
from corpusprep.readers.units import FAMILIES, compression_of, inner_name

_WEIBO_HINTS = ("weibo", "smp2020", "ewect", "ncov")


def sample_text(path: str, encoding: str | None = None) -> tuple[str, str]:
    """(encoding, decoded sample with CRLF normalised; a line cut by the sample end is dropped)."""
    comp = compression_of(path)
    raw = read_sample(path, comp)
    enc = detect_encoding(raw, path, encoding)
    if len(raw) >= SAMPLE_BYTES:
        raw = raw[: raw.rfind(b"\n") + 1] or raw
    text = raw.decode(enc, errors="replace").replace("\r\n", "\n").replace("\0", "")
    return enc, text


def couplet_partner(path: str) -> str | None:
    """The sibling of an ``in.txt``/``out.txt`` couplet file (same compression), if it exists."""
    name = inner_name(path)
    other = {"in.txt": "out.txt", "out.txt": "in.txt"}.get(name)
    if other is None:
        return None
    folder, base = os.path.split(path)
    partner = os.path.join(folder, base.replace(name, other, 1))
    return partner if input_is_file(partner) else None


def sniff_format(path: str) -> str:
    """The family of a file (never "auto"); an unreadable file is an ``InputError``."""
    _, text = sample_text(path)
    return family_of(path, text)


def family_of(path: str, text: str) -> str:
    if couplet_partner(path):
        return "couplets"
    parts = [p.lower() for p in os.path.normpath(path).split(os.sep)]
    lowpath = path.lower()
    named = next((p for p in reversed(parts[:-1]) if p in FAMILIES and p not in ("text", "csv", "jsonl")), None)
    if "古文原文" in parts or "双语数据" in parts:
        named = named or "ancient"
    layout = sniff_layout(path, text)
    if layout == "json-array":
        keys = _first_keys(text)
        if is_poem(keys) or not keys or named == "poems":
            return "poems"  # the only JSON-array family; an empty array has no records either way
        raise InputError(path, f"a JSON array of objects with keys {sorted(keys)}: no reader knows this schema; "
                               "pass --format poems or convert it to JSON lines and use --format jsonl --text-field F")
    if layout == "jsonl":
        keys = _first_keys(text)
        if "news_id" in keys:
            return "news2016zh"
        if "qid" in keys and "content" in keys:
            return "webtext2019zh"
        if {"url", "title", "text"} <= keys:
            return "wiki2019zh"
        if is_poem(keys):
            return "poems"
        if named:
            return named
        if {"content", "label"} <= keys or any(h in lowpath for h in _WEIBO_HINTS):
            return "weibo"
        return "jsonl"
    if layout == "csv":
        header = set(_csv_header(text))
        if header & {"内容", "paragraphs"} and header & {"题目", "title", "作者", "author"}:
            return "poems"
        if "微博中文内容" in header:
            return "weibo"
        if named:
            return named
        if header & set(TEXT_CANDIDATES):
            return "weibo" if any(h in lowpath for h in _WEIBO_HINTS) else "reviews"
        return "csv"
    if layout in ("tsv", "label-tsv"):
        if named:
            return named
        return "weibo" if any(h in lowpath for h in _WEIBO_HINTS) else "reviews"
    if named:
        return named
    if "lyric" in lowpath:
        return "lyrics"
    if "clue" in lowpath:
        return "cluecorpussmall"
    return "text-blank" if layout == "blank" else "text"


def sniff_layout(path: str, text: str) -> str:
    """One of lines, blank, jsonl, json-array, csv, tsv, label-tsv (from extension, then content)."""
    name = inner_name(path).lower()
    ext = os.path.splitext(name)[1]
    head = text.lstrip()
    if ext in (".jsonl", ".ndjson"):
        return "jsonl"
    if ext == ".csv":
        return "csv"
    if head.startswith("["):
        return "json-array"
    if head.startswith("{"):
        first = head.split("\n", 1)[0]
        try:
            json.loads(first)
            return "jsonl"
        except (ValueError, RecursionError):
            return "json-array" if ext == ".json" else "jsonl"
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    nonblank = [ln for ln in lines if ln.strip()]
    if ext == ".tsv" or (nonblank and sum("\t" in ln for ln in nonblank) >= 0.9 * len(nonblank)):
        firsts = [ln.split("\t", 1)[0].strip() for ln in nonblank[:500]]
        head = firsts[0] if firsts else ""
        if head and head not in firsts[1:] and _is_header_word(head):
            return "tsv"  # label\ttext_a ...
        if ext == ".tsv" or _short_first_cells(nonblank):
            return "label-tsv"
    core = lines
    while core and not core[-1].strip():
        core.pop()
    if any(not ln.strip() for ln in core):
        return "blank"
    return "lines"


def _is_header_word(cell: str) -> bool:
    """A column name such as ``label``/``text_a`` (a header), not a label value such as ``1``."""
    return cell.isascii() and cell.isidentifier()


def _short_first_cells(lines: list[str]) -> bool:
    """Whether most lines start with a short label cell (``1\\t...``, ``pos\\t...``)."""
    short = sum(1 for ln in lines if "\t" in ln and 0 < len(ln.split("\t", 1)[0].strip()) <= 12)
    return short >= 0.9 * len(lines)


def _first_keys(text: str) -> set[str]:
    """Keys of the first JSON object in a JSON-lines or JSON-array sample."""
    start = text.find("{")
    if start < 0:
        return set()
    try:
        obj, _ = json.JSONDecoder().raw_decode(text, start)
    except (ValueError, RecursionError):
        return set()
    return set(obj) if isinstance(obj, dict) else set()


def _csv_header(text: str) -> list[str]:
    import csv

    first = next(iter(text.split("\n", 1)), "")
    try:
        return [h.strip().lstrip("\ufeff") for h in next(csv.reader([first]))]
    except (csv.Error, StopIteration):
        return []
