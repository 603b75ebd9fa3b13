"""`shard --validation-share F | --validation-docs N`: whole documents held out for a validation split.

A document belongs to the validation split when the seeded 64-bit hash of its text is below a
threshold: deterministic for a seed, independent of units, workers and position, and equal texts land
in the same split, so no document (nor a duplicate of it) contributes to both. ``--validation-share F``
sets the threshold to F * 2**64 (about F of the documents); ``--validation-docs N`` reads the corpus
once more to find the N-th smallest hash (exactly N documents, more only if texts repeat at the edge).
Each split is built by the unit pipeline as it is, reading only its documents (``UnitTally.holdout``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "validation")
_SALT = 0x5BD1E995  # the holdout hash is independent of any other seeded hash of the text


@dataclass(frozen=True)
class Holdout:
    validation: bool  # True: keep the held-out documents; False: keep the others
    seed: int
    threshold: int  # hash < threshold: validation

    def keeps(self, text: str) -> bool:
        return (doc_hash(text, self.seed) < self.threshold) == self.validation


def doc_hash(text: str, seed: int) -> int:
    import xxhash

    return xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass"), (seed ^ _SALT) & (2**64 - 1))


def share_threshold(share: float) -> int:
    return min(2**64, int(share * 2**64))


def unit_smallest(seed: int, n: int, unit) -> tuple[np.ndarray, int]:
    """The ``n`` smallest document hashes of a unit (what ``read_texts`` yields), sorted, and its documents."""
    from corpusprep.instances.sources import UnitTally, read_texts

    hashes = np.fromiter((doc_hash(t, seed) for t in read_texts(unit, UnitTally())), dtype=np.uint64)
    total = int(hashes.size)
    if total > n:
        hashes = np.partition(hashes, n - 1)[:n]
    return np.sort(hashes), total


def docs_threshold(units, seed: int, n: int, executor_map=map) -> int:
    """Threshold that holds out the ``n`` documents with the smallest hashes (all, if fewer)."""
    from functools import partial

    parts = list(executor_map(partial(unit_smallest, seed, n), units))
    if sum(total for _, total in parts) <= n:
        return 2**64
    hashes = np.sort(np.concatenate([h for h, _ in parts]))
    return int(hashes[n - 1]) + 1


def threshold_for(cfg, units, executor_map=map) -> int:
    if cfg.validation_docs:
        return docs_threshold(units, cfg.seed, cfg.validation_docs, executor_map)
    return share_threshold(cfg.validation_share)
