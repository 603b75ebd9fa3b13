"""``plan_units``: inputs -> an ordered list of work units (the same list on every run)."""
from __future__ import annotations

import json
import sys

from corpusprep.errors import InputError, ZooprepError
from corpusprep.readers.schemas import has_text_column
from corpusprep.readers.tables import plan_csv, resolve_index
from corpusprep.readers.sniff import couplet_partner, family_of, sample_text, sniff_layout
from corpusprep.readers.units import DEFAULT_MAX_LINE_BYTES, FAMILIES, WorkUnit, compression_of, inner_name
from corpusprep.readers.failures import FailureLog, fail_fast
from corpusprep.readers.inputs import expand_inputs, input_key
from corpusprep.readers.rawio import detect_encoding, first_line_numbers, input_size, read_sample

# Layouts that can be cut into byte ranges anywhere: one record per physical line, or blank-line
# documents (a unit owns the documents that start in its range).
SPLITTABLE = ("lines", "jsonl", "tsv", "label-tsv", "blank")
_FORCED_LAYOUT = {"text": "lines", "text-blank": "blank", "csv": "csv", "jsonl": "jsonl", "couplets": "pair"}


def plan_units(inputs: list[str], fmt: str = "auto", encoding: str | None = None,
               text_field: str | None = None, unit_bytes: int = 64 << 20,
               max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, failures: FailureLog | None = None) -> list[WorkUnit]:
    """Expand INPUTs, resolve each file's family/encoding/layout and cut big line-oriented plain
    files into ~``unit_bytes`` ranges. Units depend only on the files and these arguments.

    A file that cannot be planned (unreadable, unknown schema, no text column...) is named in
    ``failures`` and left out; without a log the first such file stops planning (InputError)."""
    if fmt != "auto" and fmt not in FAMILIES:
        raise ZooprepError(f"unknown format {fmt!r}; choose auto or one of: {', '.join(FAMILIES)}")
    if fmt == "jsonl" and not text_field:
        raise ZooprepError(f"--format {fmt} needs --text-field (the key holding the text)")
    if unit_bytes < 1:
        raise ZooprepError("unit_bytes must be positive")
    log = fail_fast(failures)
    files = expand_inputs(inputs, log)
    taken = set(input_key(p) for p in files)
    units: list[WorkUnit] = []
    for path in files:
        try:
            units.extend(_plan_file(path, fmt, encoding, text_field, unit_bytes, max_line_bytes, taken))
        except (InputError, OSError, RecursionError, UnicodeError) as exc:
            log.add_error(path, exc)
    return [WorkUnit(i, u.path, u.family, u.encoding, u.start, u.end, u.compression, u.options)
            for i, u in enumerate(units)]


def _plan_file(path: str, fmt: str, encoding: str | None, text_field: str | None, unit_bytes: int,
               max_line_bytes: int, taken: set[str]) -> list[WorkUnit]:
    enc, text = sample_text(path, encoding)
    family = fmt if fmt != "auto" else family_of(path, text)
    layout = layout_for(family, path, text)
    opts: dict = {"layout": layout}
    if text_field:
        opts["text_field"] = text_field
    if max_line_bytes != DEFAULT_MAX_LINE_BYTES:
        opts["max_line_bytes"] = max_line_bytes
    if layout == "pair":
        pair = _couplet_pair(path, taken)
        if pair is None:
            return []  # out.txt whose in.txt is also an input: read together with it
        path, lower_path = pair
        lower_comp = compression_of(lower_path)
        opts["pair"] = lower_path
        opts["pair_encoding"] = detect_encoding(read_sample(lower_path, lower_comp), lower_path, encoding)
        if lower_comp:
            opts["pair_compression"] = lower_comp
    _check_fields(path, family, layout, text, text_field, opts)
    return _file_units(path, family, enc, layout, opts, unit_bytes)


def layout_for(family: str, path: str, text: str) -> str:
    """The layout a family's reader uses for this file."""
    if family in _FORCED_LAYOUT:
        return _FORCED_LAYOUT[family]
    layout = sniff_layout(path, text)
    if family in ("lyrics", "ancient") and layout == "lines":
        return "blank"  # documents are whole songs / chapters: a file, or blank-line separated parts
    return layout


def _couplet_pair(path: str, taken: set[str]) -> tuple[str, str] | None:
    """(in.txt, out.txt) for either file of a couplet pair; None for an out.txt planned via its in.txt."""
    partner = couplet_partner(path)
    if partner is None:
        raise InputError(path, "couplets are read as in.txt/out.txt pairs; the partner file is missing")
    if inner_name(path) == "out.txt":
        if input_key(partner) in taken:
            return None
        return partner, path
    return path, partner


def _check_fields(path: str, family: str, layout: str, text: str, text_field: str | None, opts: dict) -> None:
    """Fail early and clearly when the text column/key cannot be found; record TSV columns."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if layout == "tsv" and lines:
        columns = tuple(c.strip() for c in lines[0].split("\t"))
        if text_field and text_field.isdigit():
            opts["text_field"] = text_field = resolve_index(text_field, columns, path)
        if not has_text_column(family, columns, text_field):
            want = f"column {text_field!r}" if text_field else "a known text column"
            raise InputError(path, f"TSV header {list(columns)} has no {want}; pass --text-field", 1)
        opts["columns"] = columns
    elif layout == "csv":
        table = plan_csv(path, text, family, text_field, lambda header: has_text_column(family, header, None))
        if table.why != "header" and table.columns:  # inferred, header-less, or a column index
            opts["csv_header"] = table.header
            opts["columns"] = table.columns
            opts["text_field"] = table.text_field
            if table.why != "--text-field":
                opts["text_choice"] = table.why
                print(f"note: {path}: {'header row' if table.header else 'no header row'}; text {table.why}",
                      file=sys.stderr)
    elif layout == "label-tsv":
        opts["columns"] = ("label", "text")
        if text_field and text_field.isdigit():
            opts["text_field"] = text_field = resolve_index(text_field, ("label", "text"), path)
        if text_field and text_field not in ("label", "text"):
            raise InputError(path, f"this label<TAB>text file has no column {text_field!r} (columns: label, text)")
    elif layout == "jsonl" and text_field and lines:
        try:
            first = json.loads(lines[0])
        except (ValueError, RecursionError):
            return  # counted as bad_json when read
        if isinstance(first, dict) and text_field not in first:
            raise InputError(path, f"the first JSON record has no key {text_field!r} (keys: {sorted(first)})", 1)


def _file_units(path: str, family: str, enc: str, layout: str, opts: dict, unit_bytes: int) -> list[WorkUnit]:
    comp = compression_of(path)
    size = input_size(path)
    if comp or layout not in SPLITTABLE or size <= unit_bytes:
        return [WorkUnit(0, path, family, enc, 0, None, comp, _options(opts))]
    starts = list(range(0, size, unit_bytes))
    firsts = first_line_numbers(path, starts)
    out = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else None
        o = dict(opts)
        if firsts[k] != 1:
            o["first_line"] = firsts[k]
        out.append(WorkUnit(0, path, family, enc, start, end, None, _options(o)))
    return out


def _options(opts: dict) -> tuple:
    return tuple(sorted(opts.items()))
