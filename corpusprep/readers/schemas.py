"""Field-level mapping: one structured record (JSON object, CSV/TSV row) -> (text, meta).

Which fields make the text is decided once per distinct set of keys (a ``FieldPlan``), not per
record, so mapping a record is a couple of lookups and one small dict. A mapping returns
``(text, meta)`` or a reject reason string.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence, Union

Mapped = Union[tuple[str, dict], str]

# Text columns of the published weibo / review / generic layouts, in order of preference.
TEXT_CANDIDATES = ("text_a", "review", "content", "comment", "微博中文内容", "text", "内容", "sentence")
# Poem bodies: chinese-poetry (paragraphs; content in shijing), Werneror CSV (内容).
POEM_BODY = ("paragraphs", "content", "内容")
# Werneror's Chinese column names, mapped onto the chinese-poetry meta names.
POEM_META_NAMES = {"题目": "title", "朝代": "dynasty", "作者": "author"}


@dataclass(frozen=True)
class FieldPlan:
    """How to build (text, meta) from records with a given set of keys."""

    body: str  # the field holding the document body
    heads: tuple[str, ...] = ()  # fields put before the body on their own lines (title, desc), if non-empty
    meta_keys: tuple[str, ...] = ()
    meta_names: tuple[str, ...] = ()  # output names of meta_keys
    paragraphs: bool = False  # drop blank lines inside the body (WikiExtractor's "\n\n")
    renamed: bool = False  # meta_names differ from meta_keys


def as_text(value) -> str | None:
    """A field value as document text: strings as is, lists of strings joined by newlines."""
    if value.__class__ is str:
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def is_poem(keys: set) -> bool:
    """chinese-poetry / Werneror keys (``content`` alone is also weibo's text key, so it needs ``chapter``)."""
    return bool(keys & {"paragraphs", "rhythmic", "内容"}) or {"content", "chapter"} <= keys


def plan_fields(family: str, text_field: str | None, keys: Sequence[str]) -> FieldPlan | None:
    """The FieldPlan for records with these keys, or None when no field can give the text.

    An explicit ``text_field`` wins. Otherwise: news2016zh = title + content; webtext2019zh =
    title + desc + content; wiki2019zh = text (blank lines dropped); poems = paragraphs/content/内容
    (title, author... in meta); everything else = the first of ``TEXT_CANDIDATES``.
    """
    present = set(keys)
    heads: tuple[str, ...] = ()
    paragraphs = False
    if text_field:
        body = text_field if text_field in present else None
    elif "news_id" in present or (family == "news2016zh" and "content" in present):
        body, heads = "content", ("title",)
    elif ("qid" in present and "content" in present) or (family == "webtext2019zh" and "content" in present):
        body, heads = "content", ("title", "desc")
    elif ({"url", "text"} <= present and family != "poems") or (family == "wiki2019zh" and "text" in present):
        body, paragraphs = "text", True
    elif family == "poems" or is_poem(present):
        body = next((k for k in POEM_BODY if k in present), None)
    else:
        body = next((k for k in TEXT_CANDIDATES if k in present), None)
    if body is None or body not in present:
        return None
    heads = tuple(h for h in heads if h in present)
    meta_keys = tuple(k for k in keys if k != body and k not in heads and k is not None)
    rename = POEM_META_NAMES if family == "poems" or "内容" in present else {}
    names = tuple(rename.get(k, k) for k in meta_keys)
    return FieldPlan(body, heads, meta_keys, names, paragraphs, names != meta_keys)


def _compose(plan: FieldPlan, body, heads: list) -> Mapped:
    text = as_text(body)
    if text is None:
        return "missing_field"
    if plan.paragraphs and "\n" in text:
        text = "\n".join(p for p in text.split("\n") if p.strip())
    if heads:
        parts: list[str] = []
        for value in heads:
            part = as_text(value)
            if part and part.strip() and part.strip() not in parts:
                parts.append(part.strip())
        if parts:
            text = "\n".join(parts) + "\n" + text
    return text, None  # type: ignore[return-value]


def dict_mapper(family: str, text_field: str | None) -> Callable[[dict], Mapped]:
    """Map JSON objects; the plan is cached per distinct key tuple (schemas vary within a file)."""
    cache: dict[tuple, FieldPlan | None] = {}

    def mapped(fields: dict) -> Mapped:
        keys = tuple(fields)
        plan = cache.get(keys, False)
        if plan is False:
            if len(cache) > 4096:  # records with free-form keys: keep the cache bounded
                cache.clear()
            plan = cache[keys] = plan_fields(family, text_field, keys)
        if plan is None:
            return "missing_field"
        # the parsed object is ours: what is not text becomes the meta dict, without copying
        body = fields.pop(plan.body)
        if body.__class__ is str and not plan.heads and not plan.paragraphs:
            text = body
        else:
            res = _compose(plan, body, [fields.pop(h) for h in plan.heads])
            if res.__class__ is str:
                return res
            text = res[0]
        if plan.renamed:
            fields = {name: fields[k] for k, name in zip(plan.meta_keys, plan.meta_names)}
        return text, fields

    return mapped


def row_mapper(family: str, text_field: str | None, header: Sequence[str]) -> Callable[[list], Mapped] | None:
    """Map CSV/TSV rows (lists aligned with ``header``); None when the header has no text column."""
    plan = plan_fields(family, text_field, list(header))
    if plan is None:
        return None
    index = {k: i for i, k in enumerate(header)}
    body_i = index[plan.body]
    head_i = [index[h] for h in plan.heads]
    meta = [(name, index[k]) for k, name in zip(plan.meta_keys, plan.meta_names)]
    simple = not head_i and not plan.paragraphs

    def mapped(row: list) -> Mapped:
        if simple:
            text = row[body_i]
        else:
            res = _compose(plan, row[body_i], [row[i] for i in head_i])
            if res.__class__ is str:
                return res
            text = res[0]
        # strip cells: CSV padding ("  2009-12-23 13:17:28\n ", "4456068992182160 ") is not data
        return text, {name: row[i].strip() for name, i in meta}

    mapped.body_index = body_i  # type: ignore[attr-defined]  # readers need to know where the text is
    return mapped


def has_text_column(family: str, columns: Sequence[str], text_field: str | None) -> bool:
    """Whether a header (or a first record's keys) can give a document text."""
    return plan_fields(family, text_field, list(columns)) is not None
