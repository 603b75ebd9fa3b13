"""Streaming length histograms with fixed bin edges: what `clean` and `shard` record, what `report` draws.

Edges are fixed (independent of the data), so histograms of work units add up exactly, in any order,
on any worker. Values below ``EXACT`` (32) have a bin each; above, every power of two is cut into
``SUB`` (16) equal bins (HDR-histogram style, 4 significant bits): bin [lo, hi) with hi - lo = lo / 16
at most. Count, sum, min and max are exact. A percentile is the lower edge of the bin holding it,
clamped to [min, max]: exact below 32, otherwise at most 1/16 (6.25 %) below the true value
(``percentile`` says so in ``PERCENTILE_EXACTNESS``).

JSON form (``as_dict``): ``{"count", "sum", "min", "max", "p50", "p90", "p99", "bins": [[lo, hi, n], ...]}``
with only non-empty bins, ascending.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

EXACT = 32
SUB = 16
_SHIFT = 4  # log2(SUB)
_EXP0 = 5  # log2(EXACT)
PERCENTILES = (50, 90, 99)
PERCENTILE_EXACTNESS = ("exact below 32; above, the lower edge of a bin 1/16 of a power of two wide "
                        "(at most 6.25 % below the true value); max is exact")


def bin_index(values: np.ndarray) -> np.ndarray:
    """Bin of each non-negative integer value (vectorised, integer-exact up to 2**53)."""
    v = np.asarray(values, dtype=np.int64)
    out = v.copy()
    big = v >= EXACT
    if big.any():
        x = v[big]
        e = np.frexp(x.astype(np.float64))[1].astype(np.int64) - 1  # floor(log2 x), exact below 2**53
        sub = (x >> (e - _SHIFT)) - SUB
        out[big] = EXACT + (e - _EXP0) * SUB + sub
    return out


def bin_edges(index: int) -> tuple[int, int]:
    """[lo, hi) of bin ``index``."""
    if index < EXACT:
        return index, index + 1
    e, sub = divmod(index - EXACT, SUB)
    e += _EXP0
    width = 1 << (e - _SHIFT)
    lo = (SUB + sub) * width
    return lo, lo + width


class Histogram:
    """Counts per fixed bin plus exact count / sum / min / max; ``add`` takes arrays of lengths."""

    __slots__ = ("counts", "count", "total", "lo", "hi")

    def __init__(self):
        self.counts = np.zeros(0, dtype=np.int64)
        self.count = self.total = 0
        self.lo: int | None = None
        self.hi: int | None = None

    def add(self, values) -> None:
        v = np.asarray(values, dtype=np.int64)
        if not v.size:
            return
        counts = np.bincount(bin_index(v))
        if counts.size > self.counts.size:
            self.counts = np.concatenate([self.counts, np.zeros(counts.size - self.counts.size, np.int64)])
        self.counts[: counts.size] += counts
        self.count += int(v.size)
        self.total += int(v.sum())
        vmin, vmax = int(v.min()), int(v.max())
        self.lo = vmin if self.lo is None else min(self.lo, vmin)
        self.hi = vmax if self.hi is None else max(self.hi, vmax)

    def add_one(self, value: int) -> None:
        self.add(np.array([value]))

    def as_dict(self) -> dict:
        bins = [[*bin_edges(i), int(n)] for i, n in enumerate(self.counts.tolist()) if n]
        out = {"count": self.count, "sum": self.total, "min": self.lo if self.lo is not None else 0,
               "max": self.hi if self.hi is not None else 0}
        out.update({f"p{p}": percentile(bins, p, out["min"], out["max"], self.count) for p in PERCENTILES})
        out["bins"] = bins
        return out


def percentile(bins: list, p: float, vmin: int, vmax: int, count: int | None = None) -> int:
    """The p-th percentile (nearest rank) from ``[[lo, hi, n], ...]``: the lower edge of its bin,
    clamped to [vmin, vmax]; 0 for an empty histogram."""
    n = count if count is not None else sum(b[2] for b in bins)
    if not n:
        return 0
    rank = max(1, int(np.ceil(p / 100 * n)))  # nearest-rank definition
    seen = 0
    for lo, _, c in bins:
        seen += c
        if seen >= rank:
            return int(min(max(lo, vmin), vmax))
    return int(vmax)


def merge(parts: Iterable[dict | None]) -> dict:
    """Histograms (``as_dict`` form) added up, percentiles recomputed from the summed bins."""
    bins: dict[tuple[int, int], int] = {}
    count = total = 0
    lo = hi = None
    for part in parts:
        if not part or not part.get("count"):
            continue
        count += int(part["count"])
        total += int(part["sum"])
        lo = part["min"] if lo is None else min(lo, part["min"])
        hi = part["max"] if hi is None else max(hi, part["max"])
        for a, b, n in part["bins"]:
            bins[(a, b)] = bins.get((a, b), 0) + int(n)
    rows = [[a, b, n] for (a, b), n in sorted(bins.items())]
    out = {"count": count, "sum": total, "min": lo or 0, "max": hi or 0}
    out.update({f"p{p}": percentile(rows, p, out["min"], out["max"], count) for p in PERCENTILES})
    out["bins"] = rows
    return out
