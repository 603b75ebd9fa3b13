"""Pair truncation (bert/albert): O(n) and identical to UER's one-token-at-a-time rule."""
import random

from hypothesis import given, settings, strategies as st

from corpusprep.instances.processors import truncate_pair


def _uer_rule(a, b, max_tokens, rng):
    # UER-py uer/utils/dataset.py truncate_seq_pair, restated: the longer side loses one token per
    # step (b when equally long), from the front or the back by one rng draw.
    while len(a) + len(b) > max_tokens:
        longer = a if len(a) > len(b) else b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.integers(0, 60), st.integers(0, 60), st.integers(0, 100), st.integers(0, 2**32))
def test_same_result_and_rng_state_as_uer(na, nb, max_tokens, seed):
    a, b = list(range(na)), list(range(100, 100 + nb))
    a2, b2 = list(a), list(b)
    r1, r2 = random.Random(seed), random.Random(seed)
    truncate_pair(a, b, max_tokens, r1)
    _uer_rule(a2, b2, max_tokens, r2)
    assert (a, b) == (a2, b2)
    assert r1.random() == r2.random()  # the same number of draws


def test_tie_removes_from_b():
    a, b = [1, 2], [3, 4]
    truncate_pair(a, b, 3, random.Random(0))
    assert len(a) == 2 and len(b) == 1


def test_long_pair_is_linear():
    a, b = list(range(2_000_000)), list(range(10))
    truncate_pair(a, b, 509, random.Random(1))  # quadratic deletes took minutes here
    assert len(a) + len(b) == 509
