"""UER-style dynamic masking, vectorised over a batch with numpy.

The rule (uer/utils/mask.py, described in ../shared/reference/uer_pipeline.md):
candidates are all real positions except [CLS], [SEP], [PAD]; the budget per row is
max(1, round(0.15 * unpadded length)) (capped by the number of candidates); units (tokens, whole words
or spans) are visited in a random order and taken while they fit the budget, a unit that does not fit
is skipped; each taken token becomes [MASK] with p 0.8, a random id from [1, vocab) that is not a
special with p 0.1, or stays with p 0.1 (one decision per span for span masking).

Differences from UER, on purpose: spans and words never cross a special token (UER's spans can
swallow the middle [SEP] of a bert pair); whole words come from the stored ``word_starts`` instead of
re-running jieba on decoded text.
"""
from __future__ import annotations

import numpy as np

from corpusprep.instances.masking import MASK_MODES, MaskingConfig  # noqa: F401  (one type for both stages)


def random_id_pool(vocab_size: int, special_ids: dict) -> np.ndarray:
    """Ids a random replacement may use: [1, vocab) minus [CLS], [SEP], [MASK], [PAD] (as UER)."""
    banned = {special_ids[k] for k in ("cls", "sep", "mask", "pad") if k in special_ids}
    pool = np.arange(1, vocab_size, dtype=np.int64)
    return pool[~np.isin(pool, list(banned))]


def candidates(ids: np.ndarray, lengths: np.ndarray, special_ids: dict) -> np.ndarray:
    """(B, L) bool: real positions that are not [CLS]/[SEP]/[PAD]."""
    pos = np.arange(ids.shape[1])
    cand = pos[None, :] < lengths[:, None]
    for key in ("cls", "sep", "pad"):
        cand &= ids != special_ids[key]
    return cand


def budgets(lengths: np.ndarray, n_candidates: np.ndarray, mask_prob: float) -> np.ndarray:
    """max(1, round(p * length)) like UER (round half to even, as Python's round), capped by candidates."""
    want = np.maximum(1, np.rint(lengths * mask_prob).astype(np.int64))
    return np.minimum(want, n_candidates)


def choose_tokens(cand: np.ndarray, budget: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(B, L) bool: a uniformly random subset of ``budget[b]`` candidates per row."""
    b, width = cand.shape
    kmax = int(budget.max(initial=0))
    if kmax == 0:
        return np.zeros_like(cand)
    # Unique integer keys: random high bits, the position in the low bits (no ties, so exactly
    # ``budget`` keys fall under each row's threshold). uint32 sorts twice as fast as float64.
    pos_bits = max(1, int(width - 1).bit_length())
    dtype = np.uint32 if pos_bits <= 12 else np.uint64
    raw = rng.integers(0, np.iinfo(dtype).max, (b, width), dtype=dtype, endpoint=True)
    # the top bit stays 0, so every candidate key is below the non-candidates' maximum
    keys = (raw >> dtype(pos_bits + 1)) << dtype(pos_bits) | np.arange(width, dtype=dtype)[None, :]
    keys[~cand] = np.iinfo(dtype).max  # never below a threshold: budget <= number of candidates
    small = np.sort(np.partition(keys, kmax - 1, axis=1)[:, :kmax], axis=1) if kmax < width else np.sort(keys, axis=1)
    thr = small[np.arange(b), np.maximum(budget - 1, 0)]
    return (keys <= thr[:, None]) & (budget > 0)[:, None]


def _next_true(flags: np.ndarray) -> np.ndarray:
    """(B, L+1): for each i, the smallest j >= i with flags[b, j], else L."""
    b, width = flags.shape
    idx = np.where(flags, np.arange(width)[None, :], width)
    out = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1]
    return np.concatenate([out, np.full((b, 1), width, dtype=out.dtype)], axis=1)


def word_units(cand: np.ndarray, word_starts: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole-word units (row, start, length). A word runs from a stored start to the next start;
    specials and padding always break words."""
    b, width = cand.shape
    is_start = ~cand
    rows = np.repeat(np.arange(b), [len(w) for w in word_starts])
    cols = np.concatenate([np.asarray(w, dtype=np.int64) for w in word_starts]) if b else np.zeros(0, np.int64)
    keep = (cols >= 0) & (cols < width)
    is_start[rows[keep], cols[keep]] = True
    is_start[:, 1:] |= ~cand[:, :-1]  # the token after a special starts a new unit
    is_start[:, 0] = True
    nxt = _next_true(is_start)
    r, s = np.nonzero(is_start & cand)
    end = nxt[r, s + 1]
    return r, s, end - s


def _span_lengths(shape, rng: np.random.Generator, p: float, max_len: int) -> np.ndarray:
    """Geometric(p) lengths truncated to [1, max_len], as UER's get_span_len (inverse CDF:
    P(len <= k) = (1 - q^k) / (1 - q^max_len) with q = 1 - p)."""
    u = rng.random(shape)
    if p >= 1:
        return np.ones(shape, dtype=np.int64)
    q = 1.0 - p
    k = np.floor(np.log1p(-u * (1.0 - q ** max_len)) / np.log(q)).astype(np.int64) + 1
    return k.clip(1, max_len)


def span_units(cand: np.ndarray, rng: np.random.Generator, p: float, max_len: int):
    """Consecutive spans (row, start, length) over candidates: a span starts at the first candidate
    after the previous span and is cut at the next non-candidate.

    Every position gets a drawn length, so "the next span start after a span starting at i" is a
    function of i; the span starts are the orbit of the first candidate under it, found by pointer
    doubling (log2(spans) whole-batch steps instead of one Python step per span)."""
    b, width = cand.shape
    draws = _span_lengths((b, width), rng, p, max_len)
    next_cand = _next_true(cand)
    end = np.minimum(np.arange(width)[None, :] + draws, _next_true(~cand)[:, :width])
    jump = np.concatenate([np.take_along_axis(next_cand, end, axis=1), np.full((b, 1), width)], axis=1)
    rows = np.arange(b)
    first = next_cand[:, 0]
    reached = np.zeros((b, width + 1), dtype=bool)
    reached[rows, first] = True
    while True:  # reached = starts k < 2^m steps from the first; jump = 2^m steps
        r, c = np.nonzero(reached)
        reached[r, jump[r, c]] = True
        jump = np.take_along_axis(jump, jump, axis=1)
        if (jump[rows, first] == width).all():
            break
    r, s = np.nonzero(reached[:, :width])
    return r, s, end[r, s] - s


def choose_units(rows: np.ndarray, lens: np.ndarray, budget: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bool per unit: visit each row's units in random order, take a unit if it still fits the
    budget, skip it otherwise (UER's rule), all rows at once."""
    order = np.argsort(rows + rng.random(rows.size))  # by row, random within a row (one sort, not lexsort)
    r, ln = rows[order], lens[order]
    remaining = budget.astype(np.int64).copy()
    taken = np.zeros(rows.size, dtype=bool)
    undecided = np.ones(rows.size, dtype=bool)
    while True:
        undecided &= ln <= remaining[r]  # can never fit again: budgets only shrink
        idx = np.nonzero(undecided)[0]
        if idx.size == 0:
            break
        ru, lu = r[idx], ln[idx]
        cs = np.cumsum(lu)
        seg_start = np.concatenate([[True], ru[1:] != ru[:-1]])
        base = np.maximum.accumulate(np.where(seg_start, np.arange(idx.size), 0))
        before = cs[base] - lu[base]
        fits = (cs - before) <= remaining[ru]  # a prefix of each row's list: lengths are positive
        taken[idx[fits]] = True
        undecided[idx[fits]] = False
        remaining -= np.bincount(ru[fits], weights=lu[fits], minlength=remaining.size).astype(np.int64)
    out = np.zeros(rows.size, dtype=bool)
    out[order] = taken
    return out


def _expand(rows, starts, lens, width: int) -> np.ndarray:
    """Flat (row * width + position) indices of every token of the given units."""
    total = int(lens.sum())
    unit_of = np.repeat(np.arange(lens.size), lens)
    offset = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
    return rows[unit_of] * width + starts[unit_of] + offset, unit_of


def _at_least_one(flat, u, cand, budget, rng):
    """Rows whose words/spans were all longer than the budget get one single token (UER would mask
    nothing there and its loader would train on a row without targets)."""
    b, width = cand.shape
    empty = (np.bincount(flat // width, minlength=b) == 0) & (budget > 0)
    if not empty.any():
        return flat, u
    rows = np.nonzero(empty)[0]
    pick = choose_tokens(cand[rows], np.ones(rows.size, np.int64), rng)
    r, c = np.nonzero(pick)
    flat = np.concatenate([flat, rows[r] * width + c])
    u = np.concatenate([u, rng.random(r.size)])
    order = np.argsort(flat, kind="stable")
    return flat[order], u[order]


def mask_batch(ids: np.ndarray, lengths: np.ndarray, special_ids: dict, pool: np.ndarray,
               cfg: MaskingConfig, rng: np.random.Generator, word_starts: list | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Return (masked ids, flat indices of the chosen positions, sorted). ``ids`` is not modified."""
    b, width = ids.shape
    cand = candidates(ids, lengths, special_ids)
    budget = budgets(lengths, cand.sum(axis=1), cfg.mask_prob)
    decision_units = None
    if cfg.mode == "token" or (cfg.mode == "whole_word" and word_starts is None):
        flat = np.flatnonzero(choose_tokens(cand, budget, rng))
    else:
        if cfg.mode == "whole_word":
            rows, starts, lens = word_units(cand, word_starts)
        else:
            rows, starts, lens = span_units(cand, rng, cfg.span_geo_prob, cfg.span_max_length)
        take = choose_units(rows, lens, budget, rng)
        flat, unit_of = _expand(rows[take], starts[take], lens[take], width)
        order = np.argsort(flat, kind="stable")
        flat = flat[order]
        if cfg.mode == "span":
            decision_units = (unit_of[order], int(take.sum()))
    if decision_units is None:
        u = rng.random(flat.size)
    else:  # one 80/10/10 decision per span
        unit_of, n_units = decision_units
        u = rng.random(n_units)[unit_of]
    if cfg.mode != "token":
        flat, u = _at_least_one(flat, u, cand, budget, rng)
    out = ids.copy()
    flat_out = out.reshape(-1)
    to_mask = flat[u < cfg.mask_token_prob]
    to_random = flat[(u >= cfg.mask_token_prob) & (u < cfg.mask_token_prob + cfg.random_token_prob)]
    flat_out[to_mask] = special_ids["mask"]
    if to_random.size:
        flat_out[to_random] = pool[rng.integers(0, pool.size, to_random.size)]
    return out, flat
