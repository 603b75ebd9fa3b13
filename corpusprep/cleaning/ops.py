"""Cleaning operations: small pure functions on one document's text.

Transforms map ``str -> str``; filters map ``(text, params) -> reason | None``. Every op first
checks cheaply (``in`` / one precompiled search) whether its trigger characters occur at all,
because most documents need no change and a miss costs far less than a rewrite.
"""
from __future__ import annotations

import html
import re

# ---------------------------------------------------------------------------------------------
# character classes

# Full-width forms U+FF01..U+FF5E map to ASCII by a fixed offset. These stay full-width because
# they are the normal Chinese punctuation marks: ！（），：；？
KEEP_FULLWIDTH = "！（），：；？"
_FW_TABLE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp) not in KEEP_FULLWIDTH}
_FW_TABLE[0x3000] = 0x20  # ideographic space -> space (the whitespace op then collapses runs)
_FW_CLASS = "".join(re.escape(chr(cp)) for cp in sorted(_FW_TABLE))
_FW_RE = re.compile(f"[{_FW_CLASS}]")

# C0/C1 controls except \t and \n, DEL, zero-width and bidi marks, word joiner, BOM/ZWNBSP.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]+")

_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>|<!--.*?-->", re.S)
_BR_RE = re.compile(r"<br\s*/?>", re.I)
_ENTITY_RE = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")

_URL_RE = re.compile(r"(?:https?|ftp)://[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%]+|www\.[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]*")
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")

# Weibo user names: CJK, letters, digits, '_' and '-', up to 30 characters.
_NAME = r"[\w\-]{1,30}"
_RETWEET_RE = re.compile(rf"//\s*@{_NAME}\s*[:：]?\s*")
_MENTION_RE = re.compile(rf"@{_NAME}(?=[\s:：，,。！!？?)）]|$)[:：]?")
_TOPIC_RE = re.compile(r"#[^#\n]{1,40}#")
# Weibo emoticon codes such as [哈哈] [good] [泪]; short, letters or CJK only.
_EMOTICON_RE = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,8}\]")

_EMOJI_RE = re.compile(
    "[\U0001F000-\U0001FAFF\U0001FC00-\U0001FFFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF"
    "\uFE0E\uFE0F\u20E3\U000E0020-\U000E007F]+"
)

_WS_NEEDS_RE = re.compile(r"[^\S\n ]| {2}|^ | $|\n | \n|\n\n|^\n|\n$")
_WS_RUN_RE = re.compile(r"[^\S\n]+")

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_NON_CJK_RUN_RE = re.compile(f"[^{_CJK}]+")
_NON_WORD_RUN_RE = re.compile(r"[\W_]+")
_CJK_PUNCT_NEEDS_RE = re.compile(f"(?<=[{_CJK}])[,!?:;](?=[{_CJK}])")
_HALF_TO_FULL = {",": "，", "!": "！", "?": "？", ":": "：", ";": "；"}

_CHAR_RUN_RE = re.compile(r"(.)\1{3,}", re.S)


# ---------------------------------------------------------------------------------------------
# transforms

def strip_controls(text: str) -> str:
    """Remove control and zero-width characters (BOM inside text too); CR/CRLF become LF."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    if _CONTROL_RE.search(text) is None:
        return text
    return _CONTROL_RE.sub("", text)


def strip_html(text: str) -> str:
    """Drop HTML tags (<br> becomes a line break) and decode entities (&amp; &hellip; &#183;)."""
    if "<" in text:
        if "<br" in text or "<BR" in text:
            text = _BR_RE.sub("\n", text)
        text = _TAG_RE.sub("", text)
    if "&" in text and _ENTITY_RE.search(text) is not None:
        # Decode twice at most: corpora often hold doubly escaped text such as &amp;quot;
        text = html.unescape(text)
        if "&" in text and _ENTITY_RE.search(text) is not None:
            text = html.unescape(text)
    return text


def normalize_width(text: str) -> str:
    """Full-width ASCII letters, digits and symbols to half-width; ideographic space to space.

    The Chinese punctuation marks ！（），：；？ stay full-width (。、“” are not in the full-width block).
    """
    if _FW_RE.search(text) is None:
        return text
    return text.translate(_FW_TABLE)


def cjk_punctuation(text: str) -> str:
    """Half-width , ! ? : ; between two Chinese characters become their full-width forms."""
    if _CJK_PUNCT_NEEDS_RE.search(text) is None:
        return text
    return _CJK_PUNCT_NEEDS_RE.sub(lambda m: _HALF_TO_FULL[m.group()], text)


def strip_retweets(text: str) -> str:
    """Remove Weibo retweet markers ``//@user:`` (the quoted comment text itself is kept)."""
    if "//" not in text:
        return text
    return _RETWEET_RE.sub(" ", text)


def strip_mentions(text: str) -> str:
    """Remove ``@user`` mentions (ended by a colon, whitespace or the end of the text)."""
    if "@" not in text:
        return text
    return _MENTION_RE.sub(" ", text)


def strip_topics(text: str) -> str:
    """Remove Weibo ``#topic#`` hashtags."""
    if "#" not in text:
        return text
    return _TOPIC_RE.sub(" ", text)


def strip_emoticons(text: str) -> str:
    """Remove Weibo emoticon codes such as ``[哈哈]`` and ``[good]``."""
    if "[" not in text:
        return text
    return _EMOTICON_RE.sub("", text)


def strip_urls(text: str) -> str:
    """Remove http(s)/ftp URLs and bare www. addresses."""
    if "://" not in text and "www." not in text:
        return text
    return _URL_RE.sub(" ", text)


def strip_emails(text: str) -> str:
    """Remove e-mail addresses."""
    if "@" not in text:
        return text
    return _EMAIL_RE.sub(" ", text)


def strip_emoji(text: str) -> str:
    """Remove emoji, pictographs, dingbats and emoji variation selectors."""
    if _EMOJI_RE.search(text) is None:
        return text
    return _EMOJI_RE.sub("", text)


def normalize_whitespace(text: str) -> str:
    """Collapse whitespace runs to one space, strip every line, drop empty lines; keep '\\n'."""
    if _WS_NEEDS_RE.search(text) is None:
        return text
    text = _WS_RUN_RE.sub(" ", text)
    if "\n" not in text:
        return text.strip()
    return "\n".join(line for line in (part.strip() for part in text.split("\n")) if line)


_T2S = None


def to_simplified(text: str) -> str:
    """Traditional to simplified Chinese (OpenCC ``t2s``; the converter loads once per process)."""
    global _T2S
    if _T2S is None:
        import opencc

        _T2S = opencc.OpenCC("t2s")
    return _T2S.convert(text)


# ---------------------------------------------------------------------------------------------
# measures used by filters

def chinese_share(text: str) -> float:
    """Share of CJK ideographs among the letters, digits and ideographs (punctuation, spaces and
    symbols do not count either way); 0.0 for a text without any."""
    n = len(text)
    words = n - sum(map(len, _NON_WORD_RUN_RE.findall(text)))
    if words <= 0:
        return 0.0
    cjk = n - sum(map(len, _NON_CJK_RUN_RE.findall(text)))
    return min(1.0, cjk / words)


def char_run_share(text: str) -> float:
    """Share of characters that sit in runs of 4+ identical characters (哈哈哈哈, ！！！！)."""
    n = len(text)
    if n == 0:
        return 0.0
    covered = 0
    for m in _CHAR_RUN_RE.finditer(text):
        covered += m.end() - m.start()
    return covered / n


def repeated_line_share(text: str) -> float:
    """Share of characters in lines that repeat an earlier line of the same document."""
    if "\n" not in text:
        return 0.0
    seen: set[str] = set()
    repeated = total = 0
    for line in text.split("\n"):
        total += len(line)
        if line in seen:
            repeated += len(line)
        else:
            seen.add(line)
    return repeated / total if total else 0.0


# ---------------------------------------------------------------------------------------------
# filters: return the drop reason, or None to keep

def filter_min_length(text: str, p) -> str | None:
    return "too_short" if len(text) < max(1, p.min_chars) else None


def filter_max_length(text: str, p) -> str | None:
    return "too_long" if p.max_chars and len(text) > p.max_chars else None


def filter_chinese_share(text: str, p) -> str | None:
    return "low_chinese_share" if chinese_share(text) < p.min_chinese_share else None


def filter_char_spam(text: str, p) -> str | None:
    return "char_spam" if char_run_share(text) > p.max_char_run_share else None


def filter_line_spam(text: str, p) -> str | None:
    return "line_spam" if repeated_line_share(text) > p.max_repeated_line_share else None
