"""CSV files without a header row, and text columns found from the content.

Real corpora often come without a header (Douban reviews: ``time,uname,comment,star,...`` as data
from row 1) or with a header that names no known text column. Both are decided at planning time
from the file's first rows:

* **header or not**: row 1 is a header when all its cells are ASCII names (``label``, ``text_a``)
  above other content, when some column is numeric in the body but not in row 1, or when row 1's cell in the text column is much shorter than that column's body cells
  (a name such as ``review`` above long reviews). Otherwise row 1 is data.
* **text column**: the column with the most Chinese characters per row over the sampled rows
  (ties: the first); without any Chinese, the longest column on average.

``--text-field`` may also be a 0-based column index (``--text-field 2``).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from corpusprep.errors import InputError

_SAMPLE_ROWS = 200
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?%?$")
_CHINESE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class TablePlan:
    header: bool
    columns: tuple[str, ...]
    text_field: str
    why: str  # how the text column was chosen, for the note printed and the report


def column_name(i: int) -> str:
    """The name of column ``i`` of a header-less table (``col0``, ``col1``...)."""
    return f"col{i}"


def sample_rows(text: str, delimiter: str = ",") -> list[list[str]]:
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=False)
    try:
        for row in reader:
            if row and any(c.strip() for c in row):
                rows.append(row)
            if len(rows) > _SAMPLE_ROWS:
                break
    except csv.Error:
        pass
    return rows


def _is_number(cell: str) -> bool:
    return bool(_NUMBER.match(cell.strip()))


def _chinese(cell: str) -> int:
    return len(_CHINESE.findall(cell))


def infer_text_column(rows: list[list[str]], width: int) -> tuple[int, str]:
    """(index, why): most Chinese characters per row; without Chinese, the longest column."""
    zh = [0.0] * width
    length = [0.0] * width
    for row in rows:
        for i in range(min(width, len(row))):
            zh[i] += _chinese(row[i])
            length[i] += len(row[i])
    n = max(1, len(rows))
    if max(zh, default=0) > 0:
        best = max(range(width), key=lambda i: (zh[i], -i))
        return best, f"most Chinese characters per row ({zh[best] / n:.1f} over {len(rows)} rows)"
    best = max(range(width), key=lambda i: (length[i], -i))
    return best, f"longest column ({length[best] / n:.1f} characters per row over {len(rows)} rows)"


def looks_like_header(first: list[str], body: list[list[str]], text_col: int) -> bool:
    """Row 1 vs the body: numeric body columns with a non-numeric row-1 cell, or a text-column cell
    far shorter than the body's."""
    names = [c.strip().lstrip("\ufeff") for c in first]
    if all(n.isascii() and n.isidentifier() for n in names) and any(
            text_col < len(r) and not (r[text_col].isascii() and r[text_col].strip().isidentifier()) for r in body):
        return True  # column names (label, text_a, ...) above other content
    if not body:
        return not any(_chinese(c) > 4 for c in first)  # a single row: a header only if it is short
    width = len(first)
    for i in range(width):
        cells = [r[i] for r in body if i < len(r) and r[i].strip()]
        if len(cells) >= 3 and sum(map(_is_number, cells)) >= 0.9 * len(cells) and not _is_number(first[i]):
            return True
    if text_col < width:
        lengths = sorted(len(r[text_col]) for r in body if text_col < len(r))
        median = lengths[len(lengths) // 2] if lengths else 0
        if median >= 8 and len(first[text_col].strip()) * 4 < median:
            return True
    return False


def resolve_index(text_field: str | None, columns: tuple[str, ...], path: str) -> str | None:
    """``--text-field 2`` -> the name of column 2; a name is kept as given."""
    if text_field is None or not text_field.isdigit():
        return text_field
    i = int(text_field)
    if i >= len(columns):
        raise InputError(path, f"--text-field {i}: the table has {len(columns)} columns (0-based index)")
    return columns[i]


def plan_csv(path: str, text: str, family: str, text_field: str | None, known_text_column) -> TablePlan:
    """Decide header / columns / text column of a CSV from its sampled text.

    ``known_text_column(header) -> bool`` says whether a header names a text column the family
    knows (then nothing is inferred)."""
    rows = sample_rows(text)
    if not rows:
        return TablePlan(True, (), text_field or "", "empty file")
    first, body = rows[0], rows[1:]
    width = max(len(r) for r in rows)
    named = tuple(h.strip().lstrip("\ufeff") for h in first)
    if text_field is not None and not text_field.isdigit():
        return TablePlan(True, named, text_field, "--text-field")
    if text_field is None and known_text_column(named):
        return TablePlan(True, named, "", "header")
    col, why = infer_text_column(body or rows, width)
    if text_field is not None:
        col, why = int(text_field), "--text-field (column index)"
    header = looks_like_header(first, body, col)
    if header:
        columns = named + tuple(column_name(i) for i in range(len(named), width))
    else:
        columns = tuple(column_name(i) for i in range(width))
    if col >= len(columns):
        raise InputError(path, f"--text-field {col}: the table has {len(columns)} columns (0-based index)")
    return TablePlan(header, columns, columns[col], f"column {col} ({columns[col]}): {why}")
