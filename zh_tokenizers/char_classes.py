"""Per-character tables the BERT-style tokenizers run on, compiled once per process.

Two behaviours are modelled:

* ``hf_tables(lowercase)``: Hugging Face ``tokenizers`` (BertNormalizer + BertPreTokenizer), the reference for
  ``transformers.BertTokenizer`` since v5. Built from ``_hf_bert_tables`` (probed from the Rust code, see
  ``gen_hf_tables``), so it does not depend on the Unicode version of the running Python.
* ``uer_tables()``: UER-py's pure-Python BasicTokenizer, built from this Python's ``unicodedata``, which is what
  UER-py itself uses when run on the same interpreter.

Each table set gives: a regex of characters removed before anything else, a regex that cuts a cleaned line
into raw tokens (one CJK character | one punctuation character | a run of word characters), and the map a raw
token goes through before WordPiece.
"""
from __future__ import annotations

import functools
import re
import sys
import unicodedata
from dataclasses import dataclass
from typing import Callable, Iterable

# UER-py's (and Google BERT's Python) _is_chinese_char ranges; HF tokenizers uses 0x2B920 instead of 0x2B820.
UER_CHINESE_RANGES = [
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
]


@dataclass(frozen=True)
class CharTables:
    name: str
    drop: re.Pattern  # characters deleted outright (controls, format chars, NUL, U+FFFD, ...)
    token: re.Pattern  # raw token: one CJK char | one punctuation char | a run of other non-space chars
    normalize: Callable[[str], list[str]]  # raw token -> the word(s) WordPiece sees
    single: re.Pattern  # a line made only of CJK chars, single punctuation chars and spaces
    # The same classes as code point ranges, for the vectorised batch path (batch_encode.py):
    drop_ranges: tuple = ()
    single_ranges: tuple = ()  # characters that always form a token on their own
    space_ranges: tuple = ()
    # Text where per-character normalisation may differ from the reference (see ``_reorder_guard``) and
    # the reference normaliser to use on it instead; None when there is no such text.
    needs_reference: re.Pattern | None = None
    reference_normalize: Callable[[str], str] | None = None


def _explode(ranges: Iterable[tuple[int, int]]) -> set[int]:
    out: set[int] = set()
    for first, last in ranges:
        out.update(range(first, last + 1))
    return out


def _to_ranges(cps: Iterable[int]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for cp in sorted(cps):
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return [(a, b) for a, b in out]


def _class_body(ranges: Iterable[tuple[int, int]]) -> str:
    parts = []
    for first, last in ranges:
        parts.append(f"\\U{first:08x}" if first == last else f"\\U{first:08x}-\\U{last:08x}")
    return "".join(parts)


def _in_class(ranges) -> str:
    return f"[{_class_body(ranges)}]"


def _token_regex(chinese, punct, space) -> re.Pattern:
    return re.compile(
        f"{_in_class(chinese)}|{_in_class(punct)}|[^{_class_body(chinese)}{_class_body(punct)}{_class_body(space)}]+"
    )


def _tables(name: str, normalize, drop_r, chinese_r, punct_r, space_r, **reference) -> CharTables:
    """The patterns and range tuples of ``CharTables``, all derived from the same four character classes."""
    return CharTables(
        name=name,
        drop=re.compile(_in_class(drop_r)),
        token=_token_regex(chinese_r, punct_r, space_r),
        normalize=normalize,
        single=re.compile(f"[{_class_body(chinese_r)}{_class_body(punct_r)}{_class_body(space_r)}]*"),
        drop_ranges=tuple(drop_r),
        single_ranges=tuple(chinese_r) + tuple(punct_r),
        space_ranges=tuple(space_r),
        **reference,
    )


@functools.lru_cache(maxsize=None)
def hf_tables(lowercase: bool = True) -> CharTables:
    """Tables equal to HF ``BertNormalizer(lowercase=lowercase)`` + ``BertPreTokenizer`` per code point."""
    from zh_tokenizers import _hf_bert_tables as T

    drop_r = T.LOWER_DROP if lowercase else T.CASED_DROP
    chinese_r = T.LOWER_CHINESE if lowercase else T.CASED_CHINESE
    mapping: dict[str, str] = {chr(k): v for k, v in (T.LOWER_MAP if lowercase else T.CASED_MAP).items()}
    drop = _explode(drop_r)
    pre_punct, pre_space = _explode(T.PRE_PUNCT), _explode(T.PRE_SPACE)
    chinese = _explode(chinese_r)

    # Classify each *raw* character by what it becomes, so tokens can be cut before normalising.
    punct = {cp for cp in pre_punct if chr(cp) not in mapping and cp not in drop}
    space = {cp for cp in pre_space if chr(cp) not in mapping and cp not in drop}
    for ch, out in mapping.items():
        cp = ord(ch)
        if cp in chinese:
            continue
        kinds = {"space" if ord(c) in pre_space else "punct" if ord(c) in pre_punct else "word" for c in out}
        if kinds == {"space"}:
            space.add(cp)
        elif kinds == {"punct"} and len(out) == 1:
            punct.add(cp)
        elif kinds != {"word"}:
            raise RuntimeError(f"U+{cp:04X} normalises to mixed word/punctuation {out!r}; tables need a pre-pass")
    punct -= chinese
    space -= chinese

    get = mapping.get

    def normalize(raw: str) -> list[str]:
        return ["".join([get(c, c) for c in raw])]

    chinese_r2, punct_r, space_r = _to_ranges(chinese), _to_ranges(punct), _to_ranges(space)
    guard, reference = _reorder_guard(drop, mapping) if lowercase else (None, None)
    return _tables(f"hf-tokenizers-{T.TOKENIZERS_VERSION}-{'lower' if lowercase else 'cased'}", normalize,
                   drop_r, chinese_r2, punct_r, space_r, needs_reference=guard, reference_normalize=reference)


def _reorder_guard(drop: set[int], mapping: dict[str, str]):
    """Lines where NFD's canonical reordering could move a surviving combining mark.

    Accent stripping is NFD then removal of Mn marks; per character that is exact except when two marks
    that survive the removal (a few Mc marks, marks newer than the Rust tables) with different combining
    classes meet. Such lines (none in the sample corpora) go through the Rust normaliser itself when
    ``tokenizers`` is installed; without it the per-character result is used.
    """
    risky = {cp for cp in range(sys.maxunicode + 1)
             if cp not in drop and unicodedata.combining(chr(cp))}
    risky |= {ord(k) for k, v in mapping.items() if any(unicodedata.combining(c) for c in v)}
    try:
        from tokenizers.normalizers import BertNormalizer
    except ImportError:  # pragma: no cover - tokenizers is a test dependency
        return None, None
    body = _class_body(_to_ranges(risky))
    rust = BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=True)
    return re.compile(f"[{body}][^{body}]*[{body}]"), rust.normalize_str


def _uer_is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _uer_split_punct(word: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    for ch in word:
        if _uer_is_punct(ch):
            if cur:
                out.append("".join(cur))
                cur = []
            out.append(ch)
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


@functools.lru_cache(maxsize=None)
def uer_tables(lowercase: bool = True) -> CharTables:
    """Tables equal to UER-py's BasicTokenizer on this Python's ``unicodedata``."""
    drop, space, punct_candidates = {0, 0xFFFD}, set(), []
    category = unicodedata.category
    for cp in range(sys.maxunicode + 1):  # one pass over the code space; about 0.5 s, once per process
        ch = chr(cp)
        cat = category(ch)
        if ch in "\t\n\r":
            space.add(cp)
        elif cat in ("Cc", "Cf"):
            drop.add(cp)
        elif cat == "Zs" or ch.isspace():  # Zs -> ' ' in _clean_text; other isspace() chars split in str.split()
            space.add(cp)
        elif cat[0] == "P" or 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
            punct_candidates.append(cp)
    chinese = _explode(UER_CHINESE_RANGES)
    nfd = unicodedata.normalize

    def normalize(raw: str) -> list[str]:
        if lowercase:
            raw = raw.lower()
            raw = "".join([c for c in nfd("NFD", raw) if category(c) != "Mn"])
        words: list[str] = []
        for piece in _uer_split_punct(raw):
            words.extend(piece.split())
        return words

    # Punctuation can be cut off before lower-casing when it cannot change the lower-casing of its neighbours
    # (str.lower's final-sigma rule skips "case-ignorable" characters such as "'" and "."), and it stays one
    # piece after normalisation.
    punct = set()
    for cp in punct_candidates:
        ch = chr(cp)
        if cp in chinese:
            continue
        if ("\u0391\u03a3" + ch + "\u0391").lower()[1] == "\u03c2" and normalize(ch) == [ch]:
            punct.add(cp)
    chinese_r, space_r, drop_r, punct_r = _to_ranges(chinese), _to_ranges(space), _to_ranges(drop), _to_ranges(punct)
    return _tables(f"uer-python-unicode-{unicodedata.unidata_version}", normalize,
                   drop_r, chinese_r, punct_r, space_r)
