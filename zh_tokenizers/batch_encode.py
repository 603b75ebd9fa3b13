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
    """Per code point: the id of a single character, or a negative code (4.4 MB, built in milliseconds)."""

    def __init__(self, tables: CharTables, vocab: dict[str, int], unk_id: int,
                 single_id: Callable[[str], int], changed_singles: Iterable[str]):
        cls = tables.cls
        if cls[ord("\n")] != SPACE:
            raise RuntimeError(f"{tables.name}: '\\n' must be a separator (lines are joined with it)")
        by_class = np.full(8, RARE_CODE, dtype=np.int32)  # DROP and anything flagged RISKY stay rare
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


class Encoded:
    """Ids of a batch as one flat int32 array plus line offsets (``offsets[i]:offsets[i+1]`` is line ``i``)."""

    __slots__ = ("ids", "offsets", "odd")

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, odd: list[int]):
        self.ids, self.offsets, self.odd = ids, offsets, odd  # odd: lines left for the per-line path

    def lists(self) -> list[list[int]]:
        flat, bounds = self.ids.tolist(), self.offsets.tolist()
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


def _encode_chunk(texts: list[str], lens: np.ndarray, bt: BatchTables, word_ids: Callable[[str], tuple],
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
            enc = _encode_chunk(kept, np.where(np.isin(np.arange(len(texts)), odd), 0, lens), bt, word_ids, None)
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
    out = code[single_pos]
    n_before = np.searchsorted(single_pos, starts)  # ids before each line: its singles ...
    word_pos = np.flatnonzero(code == WORD_CODE)
    if len(word_pos):
        breaks = np.flatnonzero(np.diff(word_pos) != 1)
        w_start = word_pos[np.concatenate(([0], breaks + 1))]
        w_end = word_pos[np.append(breaks, len(word_pos) - 1)] + 1
        pieces = list(map(word_ids, [joined[a:b] for a, b in zip(w_start.tolist(), w_end.tolist())]))
        word_lens = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        flat = np.fromiter(chain.from_iterable(pieces), dtype=np.int32, count=int(word_lens.sum()))
        out = np.insert(out, np.repeat(np.searchsorted(single_pos, w_start), word_lens), flat)
        cum = np.concatenate(([0], np.cumsum(word_lens)))
        n_before = n_before + cum[np.searchsorted(w_start, starts)]  # ... plus its words' pieces
    return Encoded(out, np.append(n_before, len(out)), odd)


def encode_chunks(texts: list[str], bt: BatchTables, word_ids: Callable[[str], tuple],
                  special_line: Callable[[str], bool] | None = None) -> Iterable[tuple[int, Encoded]]:
    """(index of the first line, Encoded) per chunk of about ``CHUNK_CHARS`` characters.

    ``word_ids`` maps a raw word run to its ids (the tokenizer's cache); ``special_line`` says whether a line
    holds a literal special token (such lines are left to the caller, listed in ``Encoded.odd``).
    """
    n = len(texts)
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    ends = np.cumsum(lens + 1)
    first = 0
    while True:
        base = int(ends[first - 1]) if first else 0
        last = min(n, max(first + 1, int(np.searchsorted(ends, base + CHUNK_CHARS)) + 1))
        yield first, _encode_chunk(texts[first:last], lens[first:last], bt, word_ids, special_line)
        if last >= n:
            return
        first = last
