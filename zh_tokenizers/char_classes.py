"""Per-character tables the BERT-style tokenizers run on, built once per process.

Two behaviours are modelled:

* ``hf_tables(lowercase)``: Hugging Face ``tokenizers`` (BertNormalizer + BertPreTokenizer), the reference for
  ``transformers.BertTokenizer`` since v5. Read from ``hf_bert_tables.bin`` (probed from the Rust code by
  ``tools/gen_hf_tables.py``), so it does not depend on the Unicode version of the running Python.
* ``uer_tables()``: UER-py's pure-Python BasicTokenizer, from this Python's ``unicodedata`` (which is what
  UER-py itself uses when run on the same interpreter): read from the same file when it was made with this
  Python's Unicode version, else derived by one scan of the code space.

Each table set gives the class of every raw code point (``cls``, a numpy array indexed by code point), the
map a raw token goes through before WordPiece (``normalize``), and, compiled on first use for the per-line
path, a regex of characters removed before anything else (``drop``) and one that cuts a cleaned line into
raw tokens (``token``: one CJK character | one punctuation character | a run of word characters).
"""
from __future__ import annotations

import functools
import re
import sys
import unicodedata
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

MAX_CP = 0x110000
# Classes of a raw code point (low two bits of ``CharTables.cls``):
WORD, SINGLE, SPACE, DROP = 0, 1, 2, 3  # part of a word run | a token on its own | separator | deleted
RISKY = 4  # flag: a combining mark that survives accent stripping (see tools/gen_hf_tables.py _reorder_risky)
CLASS_MASK = 3
TABLES_FILE = Path(__file__).with_name("hf_bert_tables.bin")

# UER-py's (and Google BERT's Python) _is_chinese_char ranges; HF tokenizers uses 0x2B920 instead of 0x2B820.
UER_CHINESE_RANGES = [
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
]


class CharTables:
    """Class of every code point + the normaliser of one tokenizer behaviour (shared by all its tokenizers)."""

    def __init__(self, name: str, cls: np.ndarray, normalize: Callable[[str], list[str]],
                 reference_normalize: Callable[[], Callable[[str], str] | None] | None = None,
                 changed_singles: tuple[str, ...] = ()):
        self.name = name
        self.cls = cls  # uint8[MAX_CP]: class | RISKY
        self.normalize = normalize
        self._reference = reference_normalize  # factory, called once when a RISKY line first shows up
        risky = np.flatnonzero(cls & RISKY) if reference_normalize is not None else ()
        if len(risky) and (cls[risky] != WORD | RISKY).any():
            raise ValueError(f"{name}: RISKY flag on a non-word character; regenerate the tables")
        self.has_risky = bool(len(risky))
        self.changed_singles = changed_singles  # SINGLE characters that ``normalize`` changes

    def ranges(self, *classes: int, flag: int | None = None) -> list[tuple[int, int]]:
        """Inclusive code point ranges whose class is in ``classes`` (or that carry ``flag``)."""
        mask = (self.cls & flag).astype(bool) if flag is not None else np.isin(self.cls & CLASS_MASK, classes)
        edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False])).astype(np.int8)))
        return list(zip(edges[0::2].tolist(), (edges[1::2] - 1).tolist()))

    # -- the per-line (regex) path, compiled on first use -------------------------------------------------
    @functools.cached_property
    def drop(self) -> re.Pattern:
        return re.compile(_in_class(self.ranges(DROP)))

    @functools.cached_property
    def token(self) -> re.Pattern:
        single, sep = _class_body(self.ranges(SINGLE)), _class_body(self.ranges(SPACE))
        return re.compile(f"[{single}]|[^{single}{sep}]+")

    @functools.cached_property
    def single(self) -> re.Pattern:
        """A line made only of one-character tokens and separators."""
        return re.compile(f"[{_class_body(self.ranges(SINGLE, SPACE))}]*")

    @functools.cached_property
    def needs_reference(self) -> re.Pattern | None:
        """Text with two RISKY characters: per-character normalisation may differ from NFD's reordering."""
        if not self.has_risky:
            return None
        body = _class_body(self.ranges(flag=RISKY))
        return re.compile(f"[{body}][^{body}]*[{body}]")

    @functools.cached_property
    def reference_normalize(self) -> Callable[[str], str] | None:
        return self._reference() if self._reference is not None else None


def _class_body(ranges: Iterable[tuple[int, int]]) -> str:
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)


def _in_class(ranges) -> str:
    return f"[{_class_body(ranges)}]"


@functools.lru_cache(maxsize=None)
def _hf_file() -> tuple[dict, dict]:
    from zh_tokenizers.table_file import read_arrays

    return read_arrays(TABLES_FILE)


def hf_tables_version() -> str:
    """The ``tokenizers`` version the tables were probed from."""
    return _hf_file()[0]["tokenizers_version"]


def _unpack_map(arrays: dict, mode: str) -> dict[str, str]:
    cps, offsets = arrays[f"{mode}.map_cps"].tolist(), arrays[f"{mode}.map_offsets"].tolist()
    text = arrays[f"{mode}.map_chars"].tobytes().decode("utf-32-le")
    return dict(zip(map(chr, cps), [text[a:b] for a, b in zip(offsets, offsets[1:])]))


def _rust_normalizer() -> Callable[[str], str] | None:
    try:
        from tokenizers.normalizers import BertNormalizer
    except ImportError:  # pragma: no cover - tokenizers is a test dependency
        return None  # without it the per-character result is used
    return BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=True,
                          lowercase=True).normalize_str


@functools.lru_cache(maxsize=None)
def hf_tables(lowercase: bool = True) -> CharTables:
    """Tables equal to HF ``BertNormalizer(lowercase=lowercase)`` + ``BertPreTokenizer`` per code point."""
    meta, arrays = _hf_file()
    mode = "lower" if lowercase else "cased"
    cls = _runs_to_array(arrays[f"{mode}.run_starts"], arrays[f"{mode}.run_values"])
    mapping = _unpack_map(arrays, mode)
    get = mapping.get
    map_cps = arrays[f"{mode}.map_cps"]
    changed = tuple(map(chr, map_cps[cls[map_cps] & CLASS_MASK == SINGLE].tolist()))

    def normalize(raw: str) -> list[str]:
        return ["".join([get(c, c) for c in raw])]

    return CharTables(f"hf-tokenizers-{meta['tokenizers_version']}-{mode}", cls, normalize,
                      reference_normalize=_rust_normalizer if lowercase else None, changed_singles=changed)


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


def _uer_normalizer(lowercase: bool) -> Callable[[str], list[str]]:
    category, nfd = unicodedata.category, unicodedata.normalize

    def normalize(raw: str) -> list[str]:
        if lowercase:
            raw = raw.lower()
            raw = "".join([c for c in nfd("NFD", raw) if category(c) != "Mn"])
        words: list[str] = []
        for piece in _uer_split_punct(raw):
            words.extend(piece.split())
        return words

    return normalize


def scan_uer_classes(lowercase: bool) -> tuple[np.ndarray, tuple[str, ...]]:
    """(class of every code point, SINGLE characters the normaliser changes) for UER-py on this Python.

    One pass over the code space (about 0.5 CPU-s); ``uer_tables`` reads the result from the table file
    instead when the file was made with this Python's Unicode version.
    """
    drop, space, punct_candidates = {0, 0xFFFD}, set(), []
    category = unicodedata.category
    for cp in range(sys.maxunicode + 1):
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
    normalize = _uer_normalizer(lowercase)
    cls = np.full(MAX_CP, WORD, dtype=np.uint8)
    cls[sorted(space)] = SPACE
    for first, last in UER_CHINESE_RANGES:
        cls[first:last + 1] = SINGLE
    # Punctuation can be cut off before lower-casing when it cannot change the lower-casing of its neighbours
    # (str.lower's final-sigma rule skips "case-ignorable" characters such as "'" and "."), and it stays one
    # piece after normalisation.
    for cp in punct_candidates:
        ch = chr(cp)
        if cls[cp] != SINGLE and ("\u0391\u03a3" + ch + "\u0391").lower()[1] == "\u03c2" and normalize(ch) == [ch]:
            cls[cp] = SINGLE
    cls[sorted(drop)] = DROP
    changed: tuple[str, ...] = ()
    if lowercase:
        singles = map(chr, np.flatnonzero(cls == SINGLE).tolist())
        changed = tuple(c for c in singles if c.lower() != c or unicodedata.normalize("NFD", c) != c)
    return cls, changed


def _runs_to_array(starts: np.ndarray, values: np.ndarray) -> np.ndarray:
    starts = starts.astype(np.int64)
    return np.repeat(values, np.diff(np.append(starts, MAX_CP)))


@functools.lru_cache(maxsize=None)
def uer_tables(lowercase: bool = True) -> CharTables:
    """Tables equal to UER-py's BasicTokenizer on this Python's ``unicodedata``."""
    meta, arrays = _hf_file()
    key = f"uer-{'lower' if lowercase else 'cased'}"
    if meta.get("uer_python_unicode_version") == unicodedata.unidata_version and f"{key}.run_starts" in arrays:
        cls = _runs_to_array(arrays[f"{key}.run_starts"], arrays[f"{key}.run_values"])
        changed = tuple(map(chr, arrays[f"{key}.changed"].tolist()))
    else:  # another Unicode version than the file's: derive them here (once per process)
        cls, changed = scan_uer_classes(lowercase)
    return CharTables(f"uer-python-unicode-{unicodedata.unidata_version}", cls, _uer_normalizer(lowercase),
                      changed_singles=changed)
