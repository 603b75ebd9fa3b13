"""The registry of cleaning ops, their fixed order, and the ops each corpus family turns on."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from corpusprep.cleaning import ops as o


@dataclass(frozen=True)
class Op:
    name: str
    kind: str  # "transform" | "filter" | "dedup"
    description: str
    fn: Callable | None = None  # transform: str -> str; filter: (str, params) -> reason | None


# Registry order is the order ops run in: controls first so later regexes see clean text,
# e-mails before mentions (both use '@'), emoji after the weibo codes, whitespace last.
OPS: tuple[Op, ...] = (
    Op("controls", "transform", "remove control and zero-width characters (BOM inside text too); CR -> LF", o.strip_controls),
    Op("html", "transform", "drop HTML tags (<br> -> line break) and decode entities (&amp; &hellip; &#183;)", o.strip_html),
    Op("normalize", "transform", "full-width ASCII -> half-width, ideographic space -> space; keep ！（），：；？", o.normalize_width),
    Op("t2s", "transform", "traditional -> simplified Chinese with OpenCC t2s (also --t2s)", o.to_simplified),
    Op("urls", "transform", "remove http(s)/ftp URLs and www. addresses", o.strip_urls),
    Op("emails", "transform", "remove e-mail addresses", o.strip_emails),
    Op("retweets", "transform", "remove Weibo retweet markers //@user: (their comment text stays)", o.strip_retweets),
    Op("mentions", "transform", "remove @user mentions", o.strip_mentions),
    Op("topics", "transform", "remove Weibo #topic# hashtags", o.strip_topics),
    Op("emoticons", "transform", "remove Weibo emoticon codes like [哈哈] [good]", o.strip_emoticons),
    Op("emoji", "transform", "remove emoji, pictographs and dingbats", o.strip_emoji),
    Op("cjk_punct", "transform", "half-width , ! ? : ; between Chinese characters -> full-width", o.cjk_punctuation),
    Op("whitespace", "transform", "collapse spaces, strip each line, drop empty lines (keeps '\\n')", o.normalize_whitespace),
    Op("min_length", "filter", "drop documents shorter than --min-chars characters (reason too_short)", o.filter_min_length),
    Op("max_length", "filter", "drop documents longer than --max-chars characters (reason too_long)", o.filter_max_length),
    Op("chinese_share", "filter", "drop documents whose share of Chinese characters is below --min-chinese-share", o.filter_chinese_share),
    Op("char_spam", "filter", "drop documents mostly made of 4+ repeated characters (reason char_spam)", o.filter_char_spam),
    Op("line_spam", "filter", "drop documents whose repeated lines exceed --max-repeated-lines of the text", o.filter_line_spam),
    Op("exact_dup", "dedup", "drop exact duplicates of the cleaned text; first in corpus order wins", None),
    Op("near_dup", "dedup", "drop near-duplicates by MinHash LSH (also --near-dup; --near-dup-threshold)", None),
)
OPS_BY_NAME = {op.name: op for op in OPS}

_PROSE = ("controls", "html", "normalize", "cjk_punct", "whitespace",
          "min_length", "max_length", "chinese_share", "char_spam", "line_spam", "exact_dup")
_WEIBO = ("controls", "html", "normalize", "urls", "emails", "retweets", "mentions", "topics",
          "emoticons", "emoji", "cjk_punct", "whitespace",
          "min_length", "max_length", "chinese_share", "char_spam", "exact_dup")
_REVIEWS = ("controls", "html", "normalize", "urls", "emoji", "cjk_punct", "whitespace",
            "min_length", "max_length", "chinese_share", "char_spam", "exact_dup")
# Verse is line-based: '[X]' variant marks and '□' gaps stay, repeated lines (refrains) are kept.
_VERSE = ("controls", "normalize", "whitespace", "min_length", "max_length", "exact_dup")

FAMILY_DEFAULTS: dict[str, tuple[str, ...]] = {
    "cluecorpussmall": _PROSE,
    "wiki2019zh": _PROSE,
    "news2016zh": _PROSE,
    "webtext2019zh": _PROSE,
    "weibo": _WEIBO,
    "reviews": _REVIEWS,
    "poems": _VERSE,
    "couplets": ("controls", "normalize", "whitespace", "min_length", "exact_dup"),
    "lyrics": ("controls", "html", "normalize", "emoji", "whitespace", "min_length", "max_length", "exact_dup"),
    "ancient": _VERSE,
    "text": _PROSE,
    "text-blank": _PROSE,
    "csv": _PROSE,
    "jsonl": _PROSE,
}

# Default thresholds per family (CLI options override them for every family).
FAMILY_MIN_CHARS = {"couplets": 2, "lyrics": 2, "poems": 4, "ancient": 2, "weibo": 5, "reviews": 4}
DEFAULT_MIN_CHARS = 10


def unknown_ops(names) -> list[str]:
    return [n for n in names if n not in OPS_BY_NAME]


def resolve_ops(family: str, enable=(), disable=()) -> tuple[str, ...]:
    """Names of the ops that run for ``family``, in registry order, after --enable/--disable."""
    chosen = set(FAMILY_DEFAULTS.get(family, _PROSE)) | set(enable)
    chosen -= set(disable)
    return tuple(op.name for op in OPS if op.name in chosen)


def list_ops_table() -> str:
    """Plain-text table for ``clean --list-ops``: every op, what it does, where it is on."""
    lines = []
    width = max(len(op.name) for op in OPS)
    for op in OPS:
        on = [fam for fam, names in FAMILY_DEFAULTS.items() if op.name in names]
        where = "all families" if len(on) == len(FAMILY_DEFAULTS) else (", ".join(on) if on else "off (opt-in)")
        lines.append(f"{op.name:<{width}}  {op.kind:<9}  {op.description}\n{'':<{width}}  {'':<9}  default: {where}")
    mins = ", ".join(f"{fam} {FAMILY_MIN_CHARS.get(fam, DEFAULT_MIN_CHARS)}" for fam in FAMILY_DEFAULTS)
    lines.append(f"\n--min-chars default per family: {mins}")
    lines.append("every document empty after cleaning is dropped as 'empty'; filters run after all transforms")
    return "\n".join(lines)
