"""UER-py's static masking rule, as pure functions over a token list and a random source.

The random source is anything with ``random()``, ``randint(a, b)`` and ``shuffle(x)``: Python's
``random`` module in UER-compatible mode (same global stream as UER), or a per-document
``random.Random`` otherwise. Calls are made in exactly UER's order (uer/utils/mask.py), so the
compatible mode reproduces UER's masked ids draw for draw.

Index sets are ``[position]`` (token masking) or ``[position, length]`` (whole-word and span masking).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class MaskIds:
    """The ids masking needs to know; ``vocab_size`` bounds the 10 % random replacement."""

    pad: int
    cls: int
    sep: int
    mask: int
    vocab_size: int
    unk: int = -1

    @classmethod
    def from_tokenizer(cls, tok) -> "MaskIds":
        s = tok.special_ids
        return cls(pad=s["pad"], cls=s["cls"], sep=s["sep"], mask=s["mask"], vocab_size=tok.vocab_size, unk=s["unk"])


MASK_MODES = ("token", "whole_word", "span")


@dataclass(frozen=True)
class MaskingConfig:
    """How masked-LM targets are chosen: one type for static masking (`shard`) and the loader's."""

    mode: str = "token"  # token | whole_word | span
    mask_prob: float = 0.15
    mask_token_prob: float = 0.8  # share of chosen tokens replaced by [MASK]
    random_token_prob: float = 0.1  # share replaced by a random non-special id
    span_geo_prob: float = 0.2
    span_max_length: int = 10

    def __post_init__(self):
        if self.mode not in MASK_MODES:
            raise ValueError(f"masking mode {self.mode!r} is not one of {', '.join(MASK_MODES)}")
        if self.span_max_length < 1 or not 0 < self.span_geo_prob <= 1:
            raise ValueError("span masking needs span_max_length >= 1 and 0 < span_geo_prob <= 1")


def token_index_sets(src: list[int], ids: MaskIds) -> list[list[int]]:
    """Every position that is not [CLS], [SEP] or [PAD]."""
    return [[i] for i in token_positions(src, ids)]


def token_positions(src: list[int], ids: MaskIds) -> list[int]:
    """``token_index_sets`` as plain positions (what ``apply_masking`` takes in token mode, faster):
    the runs between special tokens, found with ``list.index`` (rows hold few of them)."""
    src = src if isinstance(src, (list, tuple)) else list(src)
    specials = sorted(j for value in {ids.cls, ids.sep, ids.pad} for j in _positions_of(src, value))
    out: list[int] = []
    prev = 0
    for j in specials:
        out.extend(range(prev, j))
        prev = j + 1
    out.extend(range(prev, len(src)))
    return out


def _positions_of(src: list[int], value: int):
    j = -1
    try:
        while True:
            j = src.index(value, j + 1)
            yield j
    except ValueError:
        return


_RANDBELOW = getattr(random.Random, "_randbelow_with_getrandbits", None)


def shuffle(x: list, rng) -> None:
    """``rng.shuffle(x)``: the same draws and order, about twice as fast for a ``random.Random``
    (its ``_randbelow`` getrandbits rejection loop inlined); other generators use their own."""
    if type(rng) is not random.Random or _RANDBELOW is None or random.Random._randbelow is not _RANDBELOW:
        rng.shuffle(x)
        return
    getrandbits = rng.getrandbits
    k = len(x).bit_length()  # = n.bit_length() for every n below, kept up to date as n falls
    low = 1 << max(k - 1, 0)
    for n in range(len(x), 1, -1):
        if n < low:
            k -= 1
            low >>= 1
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        x[n - 1], x[r] = x[r], x[n - 1]


@lru_cache(maxsize=16)
def _geometric_cumulative(max_len: int, p: float) -> tuple[float, ...]:
    # Built with the same float operations as UER so the thresholds are bit-identical.
    cum = [0.0]
    prob = 1.0
    for i in range(1, max_len + 1):
        prob *= p if i == 1 else (1 - p)
        cum.append(cum[-1] + prob)
    return tuple(cum)


def span_length(rng, max_len: int, p: float) -> int:
    """A span length from a geometric distribution truncated at ``max_len`` (one rng.random())."""
    cum = _geometric_cumulative(max_len, p)
    draw = cum[-1] * rng.random()
    length = 1
    for i in range(len(cum) - 1):
        if cum[i] <= draw < cum[i + 1]:
            length = i + 1
    return length


def span_index_sets(src: list[int], ids: MaskIds, rng, p: float, max_len: int) -> list[list[int]]:
    """UER's spans: a span starts at each non-special position not covered by the previous span.

    As in UER, only the start is checked for specials, and a span running past the end is cut
    at the end of the sequence.
    """
    skip = (ids.cls, ids.sep, ids.pad)
    sets: list[list[int]] = []
    span_end = -1
    for i, t in enumerate(src):
        if t in skip or i < span_end:
            continue
        n = span_length(rng, max_len, p)
        span_end = i + n
        if span_end > len(src):
            n = len(src) - i
        sets.append([i, n])
    return sets


def word_index_sets(length: int, word_starts: list[int], special_positions: set[int]) -> list[list[int]]:
    """Whole words from word-start positions; special-token positions are never candidates."""
    bounds = list(word_starts) + [length]
    sets = []
    for a, b in zip(bounds, bounds[1:]):
        if a not in special_positions and b > a:
            sets.append([a, b - a])
    return sets


def _random_id(rng, ids: MaskIds) -> int:
    banned = (ids.cls, ids.sep, ids.mask, ids.pad)
    while True:
        rid = rng.randint(1, ids.vocab_size - 1)
        if rid not in banned:
            return rid


def _mask_token(src: list[int], i: int, rng, ids: MaskIds, picked: list[tuple[int, int]]) -> None:
    """Record position ``i`` and apply one 80% [MASK] / 10% random id / 10% unchanged decision to it."""
    picked.append((i, src[i]))
    r = rng.random()
    if r < 0.8:
        src[i] = ids.mask
    elif r < 0.9:
        src[i] = _random_id(rng, ids)


def apply_masking(src: list[int], index_sets: list[list[int]], rng, ids: MaskIds, mode: str,
                  unpadded_len: int | None = None) -> tuple[list[int], list[int], list[int]]:
    """Mask ``src`` (a copy is returned) the way UER's mask_seq does after create_index.

    Returns (masked ids, positions, original ids at those positions), positions ascending.
    """
    src = list(src)
    n = len(src) if unpadded_len is None else unpadded_len
    shuffle(index_sets, rng)
    budget = max(1, int(round(n * 0.15)))
    picked: list[tuple[int, int]] = []
    if mode == "token":  # _mask_token inlined (the hot loop of static masking); the same draws
        draw, mask_id = rng.random, ids.mask
        for index_set in index_sets[:budget]:  # one position per set: the budget is reached after `budget` sets
            i = index_set if type(index_set) is int else index_set[0]
            picked.append((i, src[i]))
            r = draw()
            if r < 0.8:
                src[i] = mask_id
            elif r < 0.9:
                src[i] = _random_id(rng, ids)
        index_sets = ()
    for index_set in index_sets:
        if len(picked) >= budget:
            break
        if mode == "token":  # a position ([i] sets or plain ints: token_positions)
            _mask_token(src, index_set if type(index_set) is int else index_set[0], rng, ids, picked)
            continue
        i, n_tok = index_set[0], index_set[1]
        if len(picked) + n_tok > budget:
            continue
        if mode == "word":  # one 80/10/10 decision per token of the word
            for j in range(i, i + n_tok):
                _mask_token(src, j, rng, ids, picked)
        else:  # span: one decision for the whole span
            for j in range(i, i + n_tok):
                picked.append((j, src[j]))
            r = rng.random()
            if r < 0.8:
                for j in range(i, i + n_tok):
                    src[j] = ids.mask
            elif r < 0.9:
                for j in range(i, i + n_tok):
                    src[j] = _random_id(rng, ids)
    picked.sort()  # positions are distinct: the same order as sorting by position
    return src, [p for p, _ in picked], [t for _, t in picked]


def mask_instance(src: list[int], rng, ids: MaskIds, spec: MaskingConfig,
                  word_starts: list[int] | None = None) -> tuple[list[int], list[int], list[int]]:
    """Mask an unpadded instance with token, span or (given word starts) whole-word index sets."""
    if spec.mode == "span":
        sets = span_index_sets(src, ids, rng, spec.span_geo_prob, spec.span_max_length)
    elif spec.mode == "whole_word":
        specials = {i for i, t in enumerate(src) if t in (ids.cls, ids.sep, ids.pad)}
        sets = word_index_sets(len(src), word_starts or [], specials)
    else:
        sets = token_positions(src, ids)
    return apply_masking(src, sets, rng, ids, "word" if spec.mode == "whole_word" else spec.mode)
