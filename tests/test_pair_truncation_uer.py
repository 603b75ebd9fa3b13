"""bert/albert pair truncation follows UER-py's truncate_seq_pair exactly, ties included.

UER (uer/utils/dataset.py): while len(a) + len(b) > max_num_tokens, trim the LONGER list, and on equal
lengths trim B (``a if len(a) > len(b) else b``); the front or the back with one random() draw each.
The reference below restates that rule independently of corpusprep's code.
"""
from __future__ import annotations

import random

from hypothesis import example, given, strategies as st

from corpusprep.instances.processors import albert_instances, truncate_pair


def uer_truncate(a: list, b: list, max_tokens: int, rng: random.Random) -> None:
    while len(a) + len(b) > max_tokens:
        if len(b) >= len(a):  # ties: B loses a token
            victim = b
        else:
            victim = a
        if rng.random() < 0.5:
            victim.pop(0)
        else:
            victim.pop()


@given(len_a=st.integers(0, 60), len_b=st.integers(0, 60), max_tokens=st.integers(1, 80), seed=st.integers(0, 2**32))
@example(len_a=10, len_b=10, max_tokens=12, seed=0)
@example(len_a=7, len_b=7, max_tokens=13, seed=1)  # one trim, on a tie
def test_truncation_equals_uer_draw_for_draw(len_a, len_b, max_tokens, seed):
    a, b = list(range(100, 100 + len_a)), list(range(200, 200 + len_b))
    want_a, want_b = list(a), list(b)
    ours, ref = random.Random(seed), random.Random(seed)
    truncate_pair(a, b, max_tokens, ours)
    uer_truncate(want_a, want_b, max_tokens, ref)
    assert (a, b) == (want_a, want_b)
    assert ours.getstate() == ref.getstate()  # the same number of draws: later instances stay aligned


def test_equal_lengths_trim_b_first():
    a, b = list(range(10, 20)), list(range(30, 40))
    truncate_pair(a, b, 19, random.Random(0))
    assert len(a) == 10 and len(b) == 9


def test_albert_pair_with_equal_sides_matches_uer():
    """Through the instance builder: two equally long sentences, no swap, one token over the limit."""
    doc = [list(range(10, 20)), list(range(30, 40))]
    for seed in range(30):
        rng = random.Random(seed)
        out = []
        albert_instances(doc, rng, 22, 0.0, 2, 3, out.append)  # max_tokens 19 < 20
        ref = random.Random(seed)
        ref.random()  # short_seq_prob draw
        ref.randint(1, 1)  # a_end (two sentences: randint(1, 1))
        a, b = list(doc[0]), list(doc[1])
        if ref.random() < 0.5:
            a, b = b, a
        uer_truncate(a, b, 19, ref)
        assert out[0].src == [2, *a, 3, *b, 3], seed


def test_a_long_pair_is_cut_in_linear_time():
    """Defect 8 of issue 11: one-token-at-a-time deletes from the front were quadratic (minutes)."""
    a, b = list(range(2_000_000)), list(range(10))
    truncate_pair(a, b, 509, random.Random(1))
    assert len(a) + len(b) == 509
