"""Field-level mapping: one structured record (JSON object, CSV/TSV row) -> (text, meta).

Pure functions. A mapping returns ``(text, meta)`` or a reject reason string.
"""
from __future__ import annotations

from typing import Callable, Union

Mapped = Union[tuple[str, dict], str]

# Text columns of the published weibo / review / generic layouts, in order of preference.
TEXT_CANDIDATES = ("text_a", "review", "content", "comment", "微博中文内容", "text", "内容", "sentence")
# Poem bodies: chinese-poetry (paragraphs; content in shijing), Werneror CSV (内容).
POEM_BODY = ("paragraphs", "content", "内容")
# Werneror's Chinese column names, mapped onto the chinese-poetry meta names.
POEM_META_NAMES = {"题目": "title", "朝代": "dynasty", "作者": "author"}


def as_text(value) -> str | None:
    """A field value as document text: strings as is, lists of strings joined by newlines."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _meta(fields: dict, skip: tuple) -> dict:
    # strip strings: CSV padding ("  2009-12-23 13:17:28\n ", "4456068992182160 ") is not data
    return {k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items() if k not in skip and k is not None}


def by_field(fields: dict, field: str) -> Mapped:
    if field not in fields:
        return "missing_field"
    text = as_text(fields[field])
    if text is None:
        return "missing_field"
    return text, _meta(fields, (field,))


def _joined(fields: dict, keys: tuple[str, ...], body: str, skip: tuple) -> Mapped:
    body_text = as_text(fields.get(body))
    if body_text is None:
        return "missing_field"
    parts: list[str] = []
    for key in keys:
        part = as_text(fields.get(key))
        if part and part.strip() and part.strip() not in parts:
            parts.append(part.strip())
    parts.append(body_text)
    return "\n".join(parts), _meta(fields, skip)


def wiki(fields: dict) -> Mapped:
    """WikiExtractor JSON: text already starts with the title; blank lines between paragraphs collapse."""
    text = as_text(fields.get("text"))
    if text is None:
        return "missing_field"
    return "\n".join(p for p in text.split("\n") if p.strip()), _meta(fields, ("text",))


def news(fields: dict) -> Mapped:
    """news2016zh: headline, then the article body; desc/keywords/source/time go to meta."""
    return _joined(fields, ("title",), "content", ("title", "content"))


def webtext(fields: dict) -> Mapped:
    """webtext2019zh: question title, question description, then the answer."""
    return _joined(fields, ("title", "desc"), "content", ("title", "desc", "content"))


def poem(fields: dict) -> Mapped:
    """A poem: its lines joined by newlines; title/author/rhythmic/... stay in meta, not in the text."""
    for key in POEM_BODY:
        if key in fields:
            text = as_text(fields[key])
            if text is None:
                return "missing_field"
            meta = {POEM_META_NAMES.get(k, k): v for k, v in _meta(fields, (key,)).items()}
            return text, meta
    return "missing_field"


def first_candidate(fields: dict) -> Mapped:
    """Weibo/review rows and other labelled layouts: the first known text column; the rest is meta."""
    for key in TEXT_CANDIDATES:
        if key in fields:
            return by_field(fields, key)
    return "missing_field"


def auto(fields: dict) -> Mapped:
    """Pick the mapping from the keys present (for families whose files come in several schemas)."""
    if "news_id" in fields:
        return news(fields)
    if "qid" in fields and "content" in fields:
        return webtext(fields)
    if "url" in fields and "text" in fields:
        return wiki(fields)
    if any(k in fields for k in ("paragraphs", "内容")):
        return poem(fields)
    return first_candidate(fields)


_FAMILY_MAPPERS: dict[str, Callable[[dict], Mapped]] = {
    "wiki2019zh": wiki,
    "news2016zh": news,
    "webtext2019zh": webtext,
    "poems": poem,
}


def mapper_for(family: str, text_field: str | None) -> Callable[[dict], Mapped]:
    """The mapping a unit uses: an explicit text field wins, else the family's schema, else by keys."""
    if text_field:
        return lambda fields: by_field(fields, text_field)
    return _FAMILY_MAPPERS.get(family, auto)


def has_text_column(family: str, columns, text_field: str | None) -> bool:
    """Whether a header (or a first record's keys) can give a document text under this mapping."""
    cols = set(columns)
    if text_field:
        return text_field in cols
    if family == "poems":
        return bool(cols & set(POEM_BODY))
    if family in ("news2016zh", "webtext2019zh"):
        return "content" in cols
    if family == "wiki2019zh":
        return "text" in cols
    return bool(cols & set(TEXT_CANDIDATES)) or bool(cols & set(POEM_BODY))
