"""Which rows a rank reads, in which order: a seeded per-epoch permutation computed on demand.

The permutation is a Feistel network over [0, 2^k) with cycle walking, so any position's row is
computed in O(1) without materialising a permutation of the whole corpus (bounded memory for
billions of rows, O(1) skip on resume). Every rank computes the same permutation from
(seed, epoch); rank r takes positions r, r + W, r + 2W, ... of it (strided, like DistributedSampler).

Remainder policy when N is not a multiple of W:
- ``pad`` (default, DDP-safe): every rank gets ceil(N/W) rows; the last N mod W slots wrap around to
  the start of the permutation, so up to W-1 rows are read twice per epoch.
- ``drop``: every rank gets floor(N/W) rows; up to W-1 rows are skipped this epoch (different ones
  each epoch).
- ``uneven``: ranks get floor or ceil(N/W) rows: disjoint and complete, but ranks may run a
  different number of batches (fine for one process or independent consumers, not for DDP).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REMAINDERS = ("pad", "drop", "uneven")
_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


class FeistelPermutation:
    """A pseudo-random bijection of [0, n) keyed by ``key`` (an int or a sequence of ints)."""

    rounds = 6

    def __init__(self, n: int, key):
        self.n = int(n)
        bits = max(2, int(self.n - 1).bit_length())
        self.half = (bits + 1) // 2
        self.mask = np.uint64((1 << self.half) - 1)
        self.keys = np.random.default_rng(key).integers(0, 2**63, self.rounds, dtype=np.uint64)

    def _round(self, r: np.ndarray, k: np.uint64) -> np.ndarray:
        z = (r + k) * _M1
        z ^= z >> np.uint64(31)
        z *= _M2
        z ^= z >> np.uint64(29)
        z *= _M3
        z ^= z >> np.uint64(32)
        return z & self.mask

    def _once(self, x: np.ndarray) -> np.ndarray:
        h = np.uint64(self.half)
        left, right = x >> h, x & self.mask
        for k in self.keys:
            left, right = right, left ^ self._round(right, k)
        return (left << h) | right

    def __call__(self, positions) -> np.ndarray:
        x = np.asarray(positions, dtype=np.uint64).copy()
        if self.n <= 1:
            return x.astype(np.int64)
        out = self._once(x)
        todo = np.nonzero(out >= self.n)[0]
        while todo.size:  # cycle walking: re-apply until the value lands inside [0, n)
            out[todo] = self._once(out[todo])
            todo = todo[out[todo] >= self.n]
        return out.astype(np.int64)


@dataclass(frozen=True)
class RankOrder:
    """The rows rank ``rank`` of ``world_size`` reads in an epoch, batch by batch."""

    n: int
    batch_size: int
    seed: int = 0
    rank: int = 0
    world_size: int = 1
    shuffle: bool = True
    remainder: str = "pad"
    drop_last_batch: bool = False

    def __post_init__(self):
        if self.remainder not in REMAINDERS:
            raise ValueError(f"remainder {self.remainder!r} is not one of {', '.join(REMAINDERS)}")
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank {self.rank} is outside world size {self.world_size}")
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")

    @property
    def rows_per_rank(self) -> int:
        n, w = self.n, self.world_size
        if self.remainder == "pad":
            return -(-n // w) if n else 0
        if self.remainder == "drop":
            return n // w
        return len(range(self.rank, n, w))

    @property
    def batches_per_epoch(self) -> int:
        rows = self.rows_per_rank
        return rows // self.batch_size if self.drop_last_batch else -(-rows // self.batch_size)

    block_batches = 64  # permute this many batches' positions at once: amortises numpy call overhead

    def rows(self, epoch: int, batch: int) -> np.ndarray:
        """Global row indices of batch ``batch`` of epoch ``epoch`` on this rank."""
        block, offset = divmod(batch, self.block_batches)
        cached = self.__dict__.get("_block")
        if cached is None or cached[0] != (epoch, block):
            lo = block * self.block_batches * self.batch_size
            hi = min(lo + self.block_batches * self.batch_size, self.rows_per_rank)
            q = np.arange(lo, hi, dtype=np.int64)
            pos = (self.rank + self.world_size * q) % self.n  # wrap-around only happens under "pad"
            cached = ((epoch, block), self.permutation(epoch)(pos) if self.shuffle else pos)
            object.__setattr__(self, "_block", cached)  # a cache, not state
        lo = offset * self.batch_size
        return cached[1][lo:lo + self.batch_size]

    def permutation(self, epoch: int) -> FeistelPermutation:
        cached = self.__dict__.get("_perm")
        if cached is None or cached[0] != epoch:
            cached = (epoch, FeistelPermutation(self.n, (self.seed, epoch)))
            object.__setattr__(self, "_perm", cached)  # a cache, not state: frozen otherwise
        return cached[1]


def _mix64(*values: int) -> int:
    """splitmix64-style mixing of small non-negative ints into one 64-bit key."""
    h = 0x9E3779B97F4A7C15
    for v in values:
        h = (h ^ (int(v) & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
        h = h * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 29
    return h


def batch_rng(seed: int, epoch: int, rank: int, batch: int) -> np.random.Generator:
    """The generator that masks one batch, keyed by (seed, epoch, rank, batch): any batch can be
    rebuilt alone, whatever the worker count (one int seed: cheaper than a tuple SeedSequence)."""
    return np.random.Generator(np.random.PCG64(_mix64(seed, epoch, rank, batch, 0x5EED)))
