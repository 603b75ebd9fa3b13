"""MinHash signatures and LSH band keys over character shingles, in numpy.

A document is the set of its character n-grams (``shingle`` characters; Chinese has no word
spaces). Each n-gram gets a 64-bit rolling hash. The signature is a *one permutation hash*
(Li, Owen & Zhang 2012): the hash's low bits pick one of ``num_perm`` bins and each bin keeps the
minimum of the high 32 bits, so one hash per shingle replaces ``num_perm`` hash functions (about
30x faster than classic MinHash, same collision probability = Jaccard similarity). Empty bins of
short documents are filled by rotation densification (Shrivastava & Li 2014): from the next
non-empty bin to the right, plus a constant per step. The signature is cut into ``bands`` bands
of ``rows`` rows and each band is hashed to one uint64 key; two documents that share a band key
are LSH candidates.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from corpusprep.cleaning.batch import codepoints

_PRIME = np.uint64(0x100000001B3)
_BIN_SALT = np.uint64(0x9E3779B97F4A7C15)
_EMPTY = np.uint64(1 << 32)  # above every 32-bit value: marks a bin no shingle fell into
_ROTATE = np.uint64(0x5BD1E995)  # added per step when an empty bin borrows from a bin to its right


def _mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads the bits of a polynomial hash (uint64 arrays wrap silently)."""
    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising equal-weight false-positive + false-negative area at ``threshold``."""
    s_lo = np.linspace(0.0, threshold, 101)
    s_hi = np.linspace(threshold, 1.0, 101)
    best, best_err = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = np.trapezoid(1 - (1 - s_lo ** r) ** b, s_lo)
            fn = np.trapezoid((1 - s_hi ** r) ** b, s_hi)
            err = 0.5 * fp + 0.5 * fn
            if err < best_err:
                best, best_err = (b, r), err
    return best


@dataclass(frozen=True)
class MinHasher:
    num_perm: int = 128
    shingle: int = 5
    bands: int = 16
    rows: int = 8

    @classmethod
    def for_threshold(cls, threshold: float, num_perm: int = 128, shingle: int = 5) -> "MinHasher":
        bands, rows = _cached_params(round(threshold, 6), num_perm)
        return cls(num_perm, shingle, bands, rows)

    def _perms(self) -> np.ndarray:
        return _cached_mult(self.bands * self.rows)

    def signature(self, text: str) -> np.ndarray:
        """uint32 minima of ``num_perm`` multiply-shift hashes over the shingle set."""
        return self.signatures([text])[0]

    def signatures(self, texts: list[str]) -> np.ndarray:
        """Signatures of many documents at once: (len(texts), num_perm) uint32."""
        n, p = len(texts), self.num_perm
        hashes, doc = batch_shingle_hashes(texts, self.shingle)
        hashes = _mix64(hashes ^ _BIN_SALT)  # decorrelate the bin choice from the shingle hash
        key = doc * p + (hashes % np.uint64(p)).astype(np.int64)
        flat = np.full(n * p, _EMPTY, dtype=np.uint64)
        np.minimum.at(flat, key, hashes >> np.uint64(32))
        return _densify(flat.reshape(n, p)).astype(np.uint32)

    def band_keys(self, text: str) -> np.ndarray:
        """One uint64 key per band; equal keys in any band make two documents candidates."""
        return self.band_keys_batch([text])[0]

    def band_keys_batch(self, texts: list[str]) -> np.ndarray:
        """(len(texts), bands) uint64 band keys."""
        mult = self._perms()
        sig = self.signatures(texts)[:, : self.bands * self.rows].astype(np.uint64)
        mixed = (sig * mult[None, :]).reshape(len(texts), self.bands, self.rows).sum(axis=2, dtype=np.uint64)
        return _mix64(mixed)


def _densify(sig: np.ndarray) -> np.ndarray:
    """Fill each empty bin from the next non-empty bin to its right (circularly), + ROTATE per step."""
    empty = sig == _EMPTY
    if not empty.any():
        return sig
    n, p = sig.shape
    pos = np.arange(2 * p, dtype=np.int64)
    full2 = np.concatenate([~empty, ~empty], axis=1)
    idx = np.where(full2, pos[None, :], 4 * p)
    nxt = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1][:, :p]  # first non-empty at or after j
    dist = (nxt - pos[None, :p]).astype(np.uint64)
    src = np.take_along_axis(sig, nxt % p, axis=1)
    return np.where(empty, (src + dist * _ROTATE) & np.uint64(0xFFFFFFFF), sig)


def batch_shingle_hashes(texts: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """(hashes, document index) of the character k-grams of every text (not sorted by document).

    A text shorter than k (but not empty) is one shingle; an empty text has none.
    """
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    cps = codepoints(texts).astype(np.uint64)
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    n = len(cps)
    parts_h, parts_d = [], []
    if n >= k:
        m = n - k + 1
        h = np.zeros(m, dtype=np.uint64)
        for j in range(k):
            h = h * _PRIME + cps[j:j + m]
        doc = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)[:m]
        keep = np.arange(m, dtype=np.int64) + k <= bounds[doc + 1]  # the k-gram lies inside one document
        parts_h.append(_mix64(h[keep]))
        parts_d.append(doc[keep])
    short = np.flatnonzero((lengths < k) & (lengths > 0))
    if len(short):  # whole-text shingles for short documents, same polynomial hash (mod 2**64)
        prime, mask = int(_PRIME), (1 << 64) - 1
        sh = np.zeros(len(short), dtype=np.uint64)
        for i, d in enumerate(short.tolist()):
            v = 0
            for c in cps[bounds[d]:bounds[d + 1]].tolist():
                v = (v * prime + c) & mask
            sh[i] = v
        parts_h.append(_mix64(sh))
        parts_d.append(short)
    hashes = np.concatenate(parts_h) if parts_h else np.zeros(0, dtype=np.uint64)
    doc = np.concatenate(parts_d) if parts_d else np.zeros(0, dtype=np.int64)
    return hashes, doc


@lru_cache(maxsize=8)
def _cached_params(threshold: float, num_perm: int) -> tuple[int, int]:
    return lsh_params(threshold, num_perm)


@lru_cache(maxsize=8)
def _cached_mult(used: int) -> np.ndarray:
    rng = np.random.default_rng(0x5EED_2B1D)  # fixed: band keys must not depend on the run's seed
    return rng.integers(1, 2**63, size=used, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    return float(np.mean(sig_a == sig_b))
