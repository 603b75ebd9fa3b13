"""The CJK fast path: encode a whole batch with numpy look-ups over its code point array.

Every character of the batch goes through one per-code-point table (``BatchTables.code``): a single
character (CJK, punctuation) maps straight to its id; a separator vanishes; runs of word characters are cut
out as raw tokens and go through the tokenizer's word cache (normalisation + WordPiece). Chinese text is
mostly single characters, so a batch costs a few numpy passes plus Python work per word, never per character.
Deleted characters (controls, format and private-use characters, accents ...) and combining marks that may
reorder (RISKY) share one *rare* code, so text without them pays nothing for them.

Lines the fast path does not model (a literal special token, two RISKY marks) are reported back in
``Encoded.odd`` so the tokenizer encodes them on its per-line path.
"""
from __future__ import annotations

from itertools import chain
from typing import Callable, Iterable

import numpy as np

from zh_tokenizers.char_classes import CLASS_MASK, DROP, RISKY, SINGLE, SPACE, WORD, CharTables

CHUNK_CHARS = 1 << 20  # bounded memory: batches are processed in pieces of about this many characters
SPACE_CODE, WORD_CODE, RARE_CODE = -1, -2, -3  # codes < 0; a code >= 0 is the id of a single character


class BatchTables:
    """Per code point: the id of a single character, or a negative code (2.2 MB, built in milliseconds)."""

    def __init__(self, tables: CharTables, vocab: dict[str, int], unk_id: int,
                 single_id: Callable[[str], int], changed_singles: Iterable[str]):
        cls = tables.cls
        if cls[ord("\n")] != SPACE:
            raise RuntimeError(f"{tables.name}: '\\n' must be a separator (lines are joined with it)")
        # int16 when every id fits: half the memory traffic of the per-character look-up
        dtype = np.int16 if max(vocab.values(), default=0) < np.iinfo(np.int16).max and unk_id < 2 ** 15 else np.int32
        by_class = np.full(8, RARE_CODE, dtype=dtype)  # DROP and anything flagged RISKY stay rare
        by_class[[WORD, SINGLE, SPACE]] = WORD_CODE, unk_id, SPACE_CODE
        code = by_class[cls]
        pairs = [(ord(t), i) for t, i in vocab.items() if len(t) == 1]
        if pairs:
            cps, ids = (np.array(v, dtype=np.int64) for v in zip(*pairs))
            single = cls[cps] == SINGLE
            code[cps[single]] = ids[single]
        for ch in changed_singles:  # singles the normaliser changes (compatibility ideographs, ...)
            code[ord(ch)] = single_id(ch)
        self.code, self.cls, self.has_risky = code, cls, tables.has_risky
        # One Python int per id, shared by every output list: no allocation (and no later free) per token,
        # which halves the cost of list output.
        self.int_objects = np.arange(max(max(vocab.values(), default=0), unk_id) + 1).astype(object)


class WordTable:
    """Distinct raw words -> their ids, stored flat so a chunk gathers all its words' ids with numpy.

    ``index`` maps a word to its row (computing its ids on a miss); row ``r`` holds
    ``pieces[starts[r]:starts[r] + lens[r]]``. Cleared between chunks once it holds ``limit`` words
    (bounded memory; ids never depend on what is cached).
    """

    def __init__(self, compute: Callable[[str], tuple[int, ...]], limit: int = 1 << 20):
        self.compute, self.limit = compute, limit
        self.clear()

    def clear(self) -> None:
        table = self

        class _Index(dict):
            __slots__ = ()

            def __missing__(self, word: str) -> int:
                row = self[word] = table._add(table.compute(word))
                return row

        self.index = _Index()
        self.pieces = np.empty(1 << 12, dtype=np.int32)
        self.starts = np.empty(1 << 10, dtype=np.int64)
        self.lens = np.empty(1 << 10, dtype=np.int64)
        self.rows = self.used = 0

    def _add(self, ids: tuple[int, ...]) -> int:
        row, n = self.rows, len(ids)
        if row == len(self.starts):
            self.starts = np.resize(self.starts, 2 * row)
            self.lens = np.resize(self.lens, 2 * row)
        if self.used + n > len(self.pieces):
            self.pieces = np.resize(self.pieces, 2 * (self.used + n))
        self.pieces[self.used:self.used + n] = ids
        self.starts[row], self.lens[row] = self.used, n
        self.rows, self.used = row + 1, self.used + n
        return row

    def ids_of(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(number of ids of each word, all their ids concatenated)."""
        if len(self.index) >= self.limit:
            self.clear()
        rows = np.fromiter(map(self.index.__getitem__, words), dtype=np.int64, count=len(words))
        lens = self.lens[rows]
        before = np.cumsum(lens) - lens
        total = int(before[-1] + lens[-1]) if len(lens) else 0
        return lens, self.pieces[np.repeat(self.starts[rows] - before, lens) + np.arange(total)]


class Encoded:
    """Ids of a batch as one flat int32 array plus line offsets (``offsets[i]:offsets[i+1]`` is line ``i``)."""

    __slots__ = ("ids", "offsets", "odd")

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, odd: list[int]):
        self.ids, self.offsets, self.odd = ids, offsets, odd  # odd: lines left for the per-line path

    @classmethod
    def from_lists(cls, lists: list[list[int]]) -> "Encoded":
        lens = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        flat = np.fromiter(chain.from_iterable(lists), dtype=np.int32, count=int(lens.sum()))
        return cls(flat, np.concatenate(([0], np.cumsum(lens))), [])

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def slice(self, start: int, stop: int) -> "Encoded":
        """Lines ``start:stop`` (ids are a view, offsets rebased to 0)."""
        a, b = int(self.offsets[start]), int(self.offsets[stop])
        return Encoded(self.ids[a:b], self.offsets[start:stop + 1] - a, [])

    def count(self, value: int) -> int:
        return int(np.count_nonzero(self.ids == value))

    def lists(self, int_objects: np.ndarray | None = None) -> list[list[int]]:
        """Per-line lists; ``int_objects`` (``BatchTables.int_objects``) reuses one int object per id."""
        ids = self.ids if int_objects is None else int_objects[self.ids]
        flat, bounds = ids.tolist(), self.offsets.tolist()
        return [flat[a:b] for a, b in zip(bounds, bounds[1:])]


def _odd_lines(texts: list[str], joined: str, cls: np.ndarray | None, starts: np.ndarray, has_risky: bool,
               special_line: Callable[[str], bool] | None) -> list[int]:
    """Lines holding a literal special token, or two RISKY marks (NFD may reorder them)."""
    odd = set()
    if special_line is not None and "[" in joined:
        odd.update(i for i, t in enumerate(texts) if "[" in t and special_line(t))
    if has_risky and cls is not None:
        risky = np.flatnonzero(cls & RISKY)
        if len(risky) >= 2:
            per_line = np.bincount(np.searchsorted(starts, risky, side="right") - 1, minlength=len(texts))
            odd.update(np.flatnonzero(per_line >= 2).tolist())
    return sorted(odd)


def _encode_chunk(texts: list[str], lens: np.ndarray, bt: BatchTables, words_table: WordTable,
                  special_line: Callable[[str], bool] | None) -> Encoded:
    # "\n" is a separator in every table set, so no word run crosses from one line into the next.
    joined = "\n".join(texts)
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    starts = np.cumsum(lens + 1) - (lens + 1)
    code = bt.code[cps]
    rare = bool(len(code)) and int(code.min()) == RARE_CODE
    cls = bt.cls[cps] if rare else None
    odd: list[int] = []
    if rare or (special_line is not None and "[" in joined):
        odd = _odd_lines(texts, joined, cls, starts, bt.has_risky, special_line)
        if odd:
            blank = set(odd)
            kept = ["" if i in blank else t for i, t in enumerate(texts)]
            enc = _encode_chunk(kept, np.where(np.isin(np.arange(len(texts)), odd), 0, lens), bt, words_table, None)
            enc.odd = odd
            return enc
    if rare:
        code = code.copy()
        code[(cls & RISKY) != 0] = WORD_CODE  # a lone RISKY mark is an ordinary word character
        dropped = (cls & CLASS_MASK) == DROP
        if dropped.any():  # deleted characters join their neighbours
            keep = ~dropped
            starts = starts - np.searchsorted(np.flatnonzero(dropped), starts)
            cps, code = cps[keep], code[keep]
            joined = cps.tobytes().decode("utf-32-le", "surrogatepass")

    single_pos = np.flatnonzero(code >= 0)
    out = code[single_pos].astype(np.int32)
    n_before = np.searchsorted(single_pos, starts)  # ids before each line: its singles ...
    word_pos = np.flatnonzero(code == WORD_CODE)
    if len(word_pos):
        breaks = np.flatnonzero(np.diff(word_pos) != 1)
        w_start = word_pos[np.concatenate(([0], breaks + 1))]
        # All words at once: their characters, "\n" (never a word character) between runs, one decode.
        runs = np.insert(cps[word_pos], breaks + 1, ord("\n"))
        words = runs.tobytes().decode("utf-32-le", "surrogatepass").split("\n")
        word_lens, flat = words_table.ids_of(words)
        # Merge: a word's k-th id (k counted over all words) lands after the singles before that word.
        at = np.repeat(np.searchsorted(single_pos, w_start), word_lens) + np.arange(len(flat))
        merged = np.empty(len(out) + len(flat), dtype=np.int32)
        is_single = np.ones(len(merged), dtype=bool)
        is_single[at] = False
        merged[at] = flat
        merged[is_single] = out
        out = merged
        cum = np.concatenate(([0], np.cumsum(word_lens)))
        n_before = n_before + cum[np.searchsorted(w_start, starts)]  # ... plus its words' pieces
    return Encoded(out, np.append(n_before, len(out)), odd)


def encode_chunks(texts: list[str], bt: BatchTables, words_table: WordTable,
                  special_line: Callable[[str], bool] | None = None) -> Iterable[tuple[int, Encoded]]:
    """(index of the first line, Encoded) per chunk of about ``CHUNK_CHARS`` characters.

    ``words_table`` gives the ids of raw word runs (normalisation + WordPiece, cached); ``special_line`` says
    whether a line holds a literal special token (such lines are left to the caller, in ``Encoded.odd``).
    """
    n = len(texts)
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    ends = np.cumsum(lens + 1)
    first = 0
    while True:
        base = int(ends[first - 1]) if first else 0
        last = min(n, max(first + 1, int(np.searchsorted(ends, base + CHUNK_CHARS)) + 1))
        yield first, _encode_chunk(texts[first:last], lens[first:last], bt, words_table, special_line)
        if last >= n:
            return
        first = last


def encode_flat(tok, texts) -> Encoded:
    """``tok.encode_batch(texts)`` as an ``Encoded`` for any zooprep tokenizer (no per-token objects when the
    tokenizer has a fast path)."""
    flat = getattr(tok, "encode_batch_flat", None)
    return flat(texts) if flat is not None else Encoded.from_lists(tok.encode_batch(texts))
