"""Vectorised ``encode_batch``: classify every character of a whole batch at once with numpy look-up tables.

Per character class (from ``CharTables``): *single* characters (CJK, punctuation) map straight to an id
through a table; *space* characters vanish; *drop* characters are deleted first (they join their neighbours);
runs of *word* characters are cut out as raw tokens and go through the tokenizer's cache (normalisation +
WordPiece). Only the per-word work and the final split into per-line lists run in Python, so Chinese text
costs a few numpy passes per batch instead of Python work per character.
"""
from __future__ import annotations

from itertools import chain
from typing import Callable

import numpy as np

WORD, SINGLE, SPACE, DROP = 0, 1, 2, 3
MAX_CP = 0x110000
CHUNK_CHARS = 1 << 20  # bounded memory: batches are processed in pieces of about this many characters


class BatchTables:
    """Per code point class and id tables for one tokenizer (about 5.6 MB)."""

    def __init__(self, tables, single_id: Callable[[str], int]):
        cls = np.zeros(MAX_CP, dtype=np.uint8)  # WORD by default
        for ranges, value in ((tables.space_ranges, SPACE), (tables.single_ranges, SINGLE),
                              (tables.drop_ranges, DROP)):
            for first, last in ranges:
                cls[first:last + 1] = value
        ids = np.zeros(MAX_CP, dtype=np.int32)
        single_cps = np.flatnonzero(cls == SINGLE)
        ids[single_cps] = [single_id(chr(cp)) for cp in single_cps.tolist()]
        self.cls, self.ids = cls, ids


def _encode_chunk(texts: list[str], bt: BatchTables, word_ids: Callable[[str], tuple]) -> list[list[int]]:
    joined = "".join(texts)
    if not joined:
        return [[] for _ in texts]
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    line_of = np.repeat(np.arange(len(texts)), lens)
    cls = bt.cls[cps]
    keep = cls != DROP
    if not keep.all():
        cps, cls, line_of = cps[keep], cls[keep], line_of[keep]
        joined = cps.tobytes().decode("utf-32-le", "surrogatepass")
    n = len(cps)
    is_word = cls == WORD
    new_line = np.ones(n, dtype=bool)
    new_line[1:] = line_of[1:] != line_of[:-1]
    prev_word = np.zeros(n, dtype=bool)
    prev_word[1:] = is_word[:-1]
    next_word = np.zeros(n, dtype=bool)
    next_word[:-1] = is_word[1:]
    end_line = np.ones(n, dtype=bool)
    end_line[:-1] = new_line[1:]
    starts = np.flatnonzero(is_word & (~prev_word | new_line))
    ends = np.flatnonzero(is_word & (~next_word | end_line)) + 1

    # How many ids each character position contributes: 1 per single char, len(ids) at a word's start.
    contrib = (cls == SINGLE).astype(np.int64)
    words = [joined[s:e] for s, e in zip(starts.tolist(), ends.tolist())]
    pieces = list(map(word_ids, words))
    word_lens = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    contrib[starts] = word_lens
    offsets = np.cumsum(contrib) - contrib
    out = np.empty(int(contrib.sum()), dtype=np.int64)
    single_pos = np.flatnonzero(cls == SINGLE)
    out[offsets[single_pos]] = bt.ids[cps[single_pos]]
    total_word_ids = int(word_lens.sum())
    if total_word_ids:
        flat = np.fromiter(chain.from_iterable(pieces), dtype=np.int64, count=total_word_ids)
        first = np.cumsum(word_lens) - word_lens
        out[np.repeat(offsets[starts] - first, word_lens) + np.arange(total_word_ids)] = flat
    per_line = np.bincount(line_of, weights=contrib, minlength=len(texts)).astype(np.int64)
    bounds = np.concatenate(([0], np.cumsum(per_line))).tolist()
    flat_out = out.tolist()
    return [flat_out[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def encode_many(texts: list[str], bt: BatchTables, word_ids: Callable[[str], tuple]) -> list[list[int]]:
    """Ids of every text; ``word_ids`` maps a raw word run to its ids (the tokenizer's cache)."""
    result: list[list[int]] = []
    chunk: list[str] = []
    size = 0
    for text in texts:
        chunk.append(text)
        size += len(text)
        if size >= CHUNK_CHARS:
            result.extend(_encode_chunk(chunk, bt, word_ids))
            chunk, size = [], 0
    if chunk:
        result.extend(_encode_chunk(chunk, bt, word_ids))
    return result
