"""Cleaning operations: small pure functions on one document's text.

Transforms map ``str -> str``; filters map ``(text, params) -> reason | None``. Every op first
checks cheaply (``in`` / one precompiled search) whether its trigger characters occur at all,
because most documents need no change and a miss costs far less than a rewrite.
"""
from __future__ import annotations

import html
import re

from corpusprep.cleaning import charclass as cc

# ---------------------------------------------------------------------------------------------
# character classes

_FW_TABLE = cc.FULLWIDTH_MAP
_FW_RE = re.compile(f"[{cc.ranges_class((cp, cp) for cp in sorted(_FW_TABLE))}]+")
KEEP_FULLWIDTH = cc.KEEP_FULLWIDTH

# C0/C1 controls except \t and \n, DEL, zero-width and bidi marks, word joiner, BOM/ZWNBSP,
# lone surrogates (left by lossy decoders; they cannot be written as UTF-8).
_CONTROL_RE = re.compile(f"[{cc.ranges_class(cc.CONTROL_RANGES)}]+")

_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>|<!--.*?-->", re.S)
_BR_RE = re.compile(r"<br\s*/?>", re.I)
_ENTITY_RE = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")

_URL_RE = re.compile(r"(?:https?|ftp)://[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%]+|www\.[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]*")
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")

# Weibo user names: CJK, letters, digits, '_' and '-', up to 30 characters.
_NAME = r"[\w\-]{1,30}"
# A retweet marker ends with a colon; the name may hold characters lost as '?' and other symbols.
# Without a colon only the '//' goes and the mention op handles the '@user'.
_RETWEET_RE = re.compile(r"//\s*@[^\s:：@/]{1,30}\s*[:：]\s*|//(?=\s*@)")
_MENTION_RE = re.compile(rf"@{_NAME}(?=[\s:：，,。！!？?)）]|$)[:：]?")
_TOPIC_RE = re.compile(r"#[^#\n]{1,40}#")
# Weibo emoticon codes such as [哈哈] [good] [泪]; short, letters or CJK only.
_EMOTICON_RE = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,8}\]")

_EMOJI_RE = re.compile(f"[{cc.ranges_class(cc.EMOJI_RANGES)}]+")

_WS_OTHER_RE = re.compile(r"[^\S\n ]")

_CJK = cc.ranges_class(cc.CJK_RANGES)
# The punctuation mark comes first in the pattern so the regex engine can scan for it quickly.
_CJK_PUNCT_NEEDS_RE = re.compile(f"[,!?:;](?<=[{_CJK}].)(?=[{_CJK}])")
_HALF_TO_FULL = {",": "，", "!": "！", "?": "？", ":": "：", ";": "；"}


# ---------------------------------------------------------------------------------------------
# transforms (removals leave nothing behind: Chinese has no word spaces to keep apart; only
# retweet markers become a space, between two people's comments)

def strip_controls(text: str) -> str:
    """Remove control and zero-width characters (BOM inside text too); CR/CRLF become LF."""
    if _CONTROL_RE.search(text) is None:
        return text
    return _controls_body(text)


def _controls_body(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\n").replace("\u2029", "\n")
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
    return _width_body(text)


def _width_body(text: str) -> str:
    # translate() only the matched runs: a dict-driven translate of a whole document is slow.
    return _FW_RE.sub(_fw_run, text)


def _fw_run(m: re.Match) -> str:
    return m.group().translate(_FW_TABLE)


def cjk_punctuation(text: str) -> str:
    """Half-width , ! ? : ; between two Chinese characters become their full-width forms."""
    if _CJK_PUNCT_NEEDS_RE.search(text) is None:
        return text
    return _cjk_punct_body(text)


def _cjk_punct_body(text: str) -> str:
    return _CJK_PUNCT_NEEDS_RE.sub(_full_punct, text)


def _full_punct(m: re.Match) -> str:
    return _HALF_TO_FULL[m.group()]


def strip_retweets(text: str) -> str:
    """Remove Weibo retweet markers ``//@user:`` (the quoted comment text itself is kept)."""
    if "//" not in text:
        return text
    return _RETWEET_RE.sub(" ", text)


def strip_mentions(text: str) -> str:
    """Remove ``@user`` mentions (ended by a colon, whitespace or the end of the text)."""
    if "@" not in text:
        return text
    return _MENTION_RE.sub("", text)


def strip_topics(text: str) -> str:
    """Remove Weibo ``#topic#`` hashtags."""
    if "#" not in text:
        return text
    return _TOPIC_RE.sub("", text)


def strip_emoticons(text: str) -> str:
    """Remove Weibo emoticon codes such as ``[哈哈]`` and ``[good]``."""
    if "[" not in text:
        return text
    return _EMOTICON_RE.sub("", text)


def strip_urls(text: str) -> str:
    """Remove http(s)/ftp URLs and bare www. addresses."""
    if "://" not in text and "www." not in text:
        return text
    return _URL_RE.sub("", text)


def strip_emails(text: str) -> str:
    """Remove e-mail addresses."""
    if "@" not in text:
        return text
    return _EMAIL_RE.sub("", text)


def strip_emoji(text: str) -> str:
    """Remove emoji, pictographs, dingbats and emoji variation selectors."""
    if _EMOJI_RE.search(text) is None:
        return text
    return _emoji_body(text)


def _emoji_body(text: str) -> str:
    return _EMOJI_RE.sub("", text)


def normalize_whitespace(text: str) -> str:
    """Collapse whitespace runs to one space, strip every line, drop empty lines; keep '\\n'."""
    if not _whitespace_needed(text):
        return text
    return _whitespace_body(text)


def _whitespace_needed(text: str) -> bool:
    return ("  " in text or "\n " in text or " \n" in text or "\n\n" in text
            or text.startswith((" ", "\n")) or text.endswith((" ", "\n"))
            or _WS_OTHER_RE.search(text) is not None)


def _whitespace_body(text: str) -> str:
    # str.split() splits on exactly the characters the regex \s matches (str.isspace()).
    if "\n" not in text:
        return " ".join(text.split())
    lines = []
    for line in text.split("\n"):
        words = line.split()
        if words:
            lines.append(" ".join(words))
    return "\n".join(lines)


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
    """Share of CJK ideographs among letters, digits and ideographs (punctuation, spaces and
    symbols count neither way); 0.0 for a text without any."""
    from corpusprep.cleaning.batch import chinese_share_of, pack

    return float(chinese_share_of(pack([text]))[0])


def char_run_share(text: str) -> float:
    """Share of characters that sit in runs of 4+ identical characters (哈哈哈哈, ！！！！)."""
    from corpusprep.cleaning.batch import pack, run_share_of

    return float(run_share_of(pack([text]))[0])


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


# Bodies of the ops whose trigger the batch check decides exactly (corpusprep.cleaning.batch):
# when it says "present" and the text is unchanged so far, the op's own precheck is skipped.
UNCHECKED = {"controls": _controls_body, "normalize": _width_body, "emoji": _emoji_body,
             "whitespace": _whitespace_body, "cjk_punct": _cjk_punct_body}
