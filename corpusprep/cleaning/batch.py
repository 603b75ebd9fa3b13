"""Vectorised checks over a batch of documents: which ops each document needs, and the filter
measures (Chinese share, repeated-character runs).

Python regexes cost ~10 ns per character even when nothing matches; here a batch of texts is
turned into one code point array and classified with numpy (one table gather, one segmented OR),
so the per-document ops run only on documents that contain their trigger characters.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from corpusprep.cleaning import charclass as cc

MIN_RUN = 4  # a "run" is 4+ identical characters in a row
_PAIR = 1 << 30  # two blanks (space/newline) in a row
_PUNCT_CTX = 1 << 31  # a half-width , ! ? : ; between two CJK ideographs
_WS_BITS = cc.WS_OTHER | _PAIR
_OP_BITS = {"controls": cc.CONTROL, "normalize": cc.FULLWIDTH, "emoji": cc.EMOJI,
            "whitespace": _WS_BITS, "cjk_punct": _PUNCT_CTX, **cc.TRIGGER_BITS}
BATCH_TRIGGERED = tuple(_OP_BITS)


@dataclass
class Batch:
    cps: np.ndarray  # uint32 code points of all documents back to back
    bounds: np.ndarray  # int64, len n + 1: document i is cps[bounds[i]:bounds[i+1]]
    cls: np.ndarray  # uint32 class bits per code point

    @property
    def size(self) -> int:
        return len(self.bounds) - 1

    def segments(self, values: np.ndarray, ufunc) -> np.ndarray:
        """ufunc.reduceat over each document (0 for empty documents)."""
        n = self.size
        out = np.zeros(n, dtype=values.dtype)
        if len(values) == 0 or n == 0:
            return out
        starts = self.bounds[:-1]
        nonempty = self.bounds[1:] > starts
        idx = np.flatnonzero(nonempty)
        out[idx] = ufunc.reduceat(values, starts[idx])
        return out


def codepoints(texts: list[str]) -> np.ndarray:
    """The code points of ``texts`` back to back (uint32; lone surrogates kept)."""
    return np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def pack(texts: list[str]) -> Batch:
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in texts], out=bounds[1:])
    cps = codepoints(texts)
    return Batch(cps, bounds, np.take(cc.table(), cps))


def repack(b: Batch, texts: list[str], changed: list[int]) -> Batch:
    """The batch of ``texts`` where only the documents at ``changed`` (ascending) differ from
    ``b``'s: unchanged stretches are copied as array slices, changed documents are encoded once."""
    if not changed:
        return b
    fresh_cps = codepoints([texts[i] for i in changed])
    fresh_cls = np.take(cc.table(), fresh_cps)
    lengths = np.diff(b.bounds)
    fresh_len = np.array([len(texts[i]) for i in changed], dtype=np.int64)
    lengths[changed] = fresh_len
    fresh_at = np.zeros(len(changed) + 1, dtype=np.int64)
    np.cumsum(fresh_len, out=fresh_at[1:])
    old = b.bounds.tolist()
    at = fresh_at.tolist()
    cps_parts, cls_parts = [], []
    prev = 0
    for j, i in enumerate(changed):
        if i > prev:
            cps_parts.append(b.cps[old[prev]:old[i]])
            cls_parts.append(b.cls[old[prev]:old[i]])
        cps_parts.append(fresh_cps[at[j]:at[j + 1]])
        cls_parts.append(fresh_cls[at[j]:at[j + 1]])
        prev = i + 1
    if prev < b.size:
        cps_parts.append(b.cps[old[prev]:])
        cls_parts.append(b.cls[old[prev]:])
    bounds = np.zeros(b.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    return Batch(np.concatenate(cps_parts), bounds, np.concatenate(cls_parts))


def triggers(b: Batch) -> dict[str, np.ndarray]:
    """Per op, a boolean per document: False means the op certainly leaves that document unchanged."""
    cls, n = b.cls.copy(), len(b.cls)
    if n > 1:
        blank = (cls & (cc.SPACE | cc.NEWLINE)) != 0
        cls[1:] |= np.where(blank[1:] & blank[:-1], np.uint32(_PAIR), np.uint32(0))
    if n > 2:
        cjk = (b.cls & cc.CJK) != 0
        ctx = ((b.cls[1:-1] & cc.HALF) != 0) & cjk[:-2] & cjk[2:]
        cls[1:-1] |= np.where(ctx, np.uint32(_PUNCT_CTX), np.uint32(0))
    bits = b.segments(cls, np.bitwise_or)
    if n:  # a document that starts or ends with a space or newline needs the whitespace op
        nonempty = b.bounds[1:] > b.bounds[:-1]
        edge = (b.cls[np.minimum(b.bounds[:-1], n - 1)] | b.cls[np.maximum(b.bounds[1:] - 1, 0)]) & (cc.SPACE | cc.NEWLINE)
        bits |= np.where(nonempty & (edge != 0), np.uint32(_PAIR), np.uint32(0))
    return {name: (bits & bit) != 0 for name, bit in _OP_BITS.items()}


def chinese_counts(b: Batch) -> tuple[np.ndarray, np.ndarray]:
    """(CJK ideographs, letters + digits + ideographs) per document, from one segmented sum."""
    both = ((b.cls & cc.CJK) != 0).astype(np.int64)
    both += ((b.cls & cc.WORD) != 0).astype(np.int64) << 32
    sums = b.segments(both, np.add)
    return sums & 0xFFFFFFFF, sums >> 32


def run_chars(b: Batch) -> np.ndarray:
    """Per document, how many characters sit in runs of MIN_RUN+ identical characters."""
    cps, n = b.cps, len(b.cps)
    if n < MIN_RUN:
        return np.zeros(b.size, dtype=np.int64)
    same = np.zeros(n, dtype=bool)
    same[1:] = cps[1:] == cps[:-1]
    inner = b.bounds[:-1][b.bounds[:-1] < n]
    same[inner] = False  # runs never cross documents
    # quick exit: a run of MIN_RUN needs MIN_RUN - 1 consecutive "same as previous" flags
    k = same[1:-1] & same[2:] & same[:-2] if MIN_RUN == 4 else same
    if not k.any():
        return np.zeros(b.size, dtype=np.int64)
    starts = np.flatnonzero(~same)
    lengths = np.diff(np.append(starts, n))
    long = lengths >= MIN_RUN
    doc = np.searchsorted(b.bounds, starts[long], side="right") - 1
    return np.bincount(doc, weights=lengths[long], minlength=b.size).astype(np.int64)


def chinese_share_of(b: Batch) -> np.ndarray:
    cjk, words = chinese_counts(b)
    return np.where(words > 0, cjk / np.maximum(words, 1), 0.0)


def run_share_of(b: Batch) -> np.ndarray:
    lengths = np.diff(b.bounds)
    return np.where(lengths > 0, run_chars(b) / np.maximum(lengths, 1), 0.0)
