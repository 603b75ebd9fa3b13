"""Epoch coverage of the feed order, for any corpus size, batch size, world size and block size:
every row is read exactly once per epoch across ranks (``uneven``), at least once with only the
wrap-around repeated (``pad``), at most once (``drop``), over epochs far longer than one block."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import example, given, strategies as st

from corpusprep.feed.order import RankOrder


def epoch_rows(order_args: dict, world: int, epoch: int, block: int | None = None) -> list[list[np.ndarray]]:
    """Per rank, the list of batches (global row ids) it reads in ``epoch``."""
    out = []
    for rank in range(world):
        order = RankOrder(rank=rank, world_size=world, **order_args)
        if block is not None:
            object.__setattr__(order, "block_batches", block)  # the block is a speed knob: any value must be exact
        out.append([order.rows(epoch, b) for b in range(order.batches_per_epoch)])
    return out


def check_epoch(n: int, batch: int, world: int, remainder: str, shuffle: bool, drop_last: bool,
                per_rank: list[list[np.ndarray]]) -> None:
    rows_per_rank = {"pad": -(-n // world), "drop": n // world}
    counts: Counter = Counter()
    for rank, batches in enumerate(per_rank):
        mine = rows_per_rank.get(remainder, len(range(rank, n, world)))
        expected_batches = mine // batch if drop_last else -(-mine // batch)
        assert len(batches) == expected_batches, (rank, len(batches), expected_batches)
        for j, rows in enumerate(batches):
            full = j < len(batches) - 1 or drop_last or mine % batch == 0
            assert len(rows) == (batch if full else mine % batch), (rank, j, len(rows))
            assert ((0 <= rows) & (rows < n)).all()
        flat = np.concatenate(batches) if batches else np.zeros(0, np.int64)
        assert len(set(flat.tolist())) == len(flat), f"rank {rank} reads a row twice in one epoch"
        counts.update(flat.tolist())
    total = sum(counts.values())
    if drop_last:  # whole batches only: nothing read twice, and only the last partial batch is left out
        assert max(counts.values(), default=1) == 1 or remainder == "pad"
        return
    if remainder == "uneven":
        assert total == n and set(counts) == set(range(n)) and max(counts.values()) == 1
    elif remainder == "pad":
        assert set(counts) == set(range(n)), f"{n - len(counts)} rows never read this epoch"
        assert total == world * -(-n // world)
        assert sum(c - 1 for c in counts.values()) == total - n  # only the wrap-around slots repeat
    else:  # drop
        assert total == world * (n // world) and max(counts.values()) == 1


@given(n=st.integers(1, 3000), batch=st.integers(1, 12), world=st.integers(1, 5),
       remainder=st.sampled_from(["pad", "drop", "uneven"]), shuffle=st.booleans(),
       block=st.sampled_from([None, 1, 2, 3, 7, 64]), epoch=st.integers(0, 3))
@example(n=2000, batch=7, world=1, remainder="pad", shuffle=True, block=None, epoch=0)  # 286 batches
@example(n=2000, batch=7, world=3, remainder="uneven", shuffle=True, block=None, epoch=1)
@example(n=1000, batch=1, world=2, remainder="pad", shuffle=False, block=None, epoch=0)
def test_every_row_once_per_epoch_across_ranks(n, batch, world, remainder, shuffle, block, epoch):
    args = dict(n=n, batch_size=batch, seed=11, shuffle=shuffle, remainder=remainder)
    if remainder == "drop" and n < world:
        return  # no row for some rank: nothing to read
    per_rank = epoch_rows(args, world, epoch, block)
    check_epoch(n, batch, world, remainder, shuffle, False, per_rank)


@given(n=st.integers(1, 2000), batch=st.integers(1, 9), world=st.integers(1, 4),
       remainder=st.sampled_from(["pad", "drop", "uneven"]))
def test_drop_last_batch_reads_only_whole_batches_and_nothing_twice(n, batch, world, remainder):
    per_rank = epoch_rows(dict(n=n, batch_size=batch, seed=3, remainder=remainder, drop_last_batch=True), world, 0)
    check_epoch(n, batch, world, remainder, True, True, per_rank)


def test_long_epochs_are_exact_for_the_issue_case():
    """2,000 rows, batch 7: 286 batches on one rank (4.5 blocks); every row once, any block size."""
    for block in (None, 1, 5, 64, 1000):
        per_rank = epoch_rows(dict(n=2000, batch_size=7, seed=0), 1, 0, block)
        flat = np.concatenate(per_rank[0])
        assert len(per_rank[0]) == 286 and sorted(flat.tolist()) == list(range(2000)), block


def test_batches_can_be_asked_for_in_any_order():
    """Resume and worker sharding ask for batches out of order: the answer must not depend on it."""
    order = RankOrder(5000, 7, seed=2, rank=1, world_size=3)
    forward = [order.rows(1, b).tolist() for b in range(order.batches_per_epoch)]
    other = RankOrder(5000, 7, seed=2, rank=1, world_size=3)
    backward = {b: other.rows(1, b).tolist() for b in reversed(range(other.batches_per_epoch))}
    assert forward == [backward[b] for b in range(len(forward))]
    jumpy = RankOrder(5000, 7, seed=2, rank=1, world_size=3)
    for b in (200, 3, 150, 64, 63, 128):
        assert jumpy.rows(1, b).tolist() == forward[b]
        assert jumpy.rows(0, b).tolist() == RankOrder(5000, 7, seed=2, rank=1, world_size=3).rows(0, b).tolist()


@pytest.mark.parametrize("n,world", [(2000, 1), (4097, 4)])
def test_consecutive_epochs_are_each_complete_and_differ(n, world):
    args = dict(n=n, batch_size=7, seed=5, remainder="uneven")
    e0, e1 = (np.concatenate([np.concatenate(b) for b in epoch_rows(args, world, e)]) for e in (0, 1))
    assert sorted(e0.tolist()) == sorted(e1.tolist()) == list(range(n))
    assert (e0 != e1).mean() > 0.9
