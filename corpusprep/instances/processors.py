"""Instance layouts of UER-py's mlm, lm, bert and albert processors, as pure functions.

mlm/lm: documents framed ``[CLS] doc [SEP]`` and cut into ``width``-token pieces (numpy, vectorised);
bert/albert: Google BERT's create_instances_from_document with a caller-given random source whose
calls follow UER's order exactly (uer/utils/dataset.py), so a source seeded like UER reproduces UER.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Callable, Sequence

import numpy as np


# ---------------------------------------------------------------- mlm / lm (framed, cut) -------------

def frame_flat(docs: Sequence[Sequence[int]], cls_id: int, sep_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``[CLS] d [SEP]`` for every doc; returns (flat ids int64, framed lengths)."""
    lens = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs)) + 2
    total = int(lens.sum())
    out = np.empty(total, dtype=np.int64)
    ends = np.cumsum(lens)
    starts = ends - lens
    inner = np.ones(total, dtype=bool)
    inner[starts] = False
    inner[ends - 1] = False
    out[inner] = np.fromiter(chain.from_iterable(docs), dtype=np.int64, count=total - 2 * len(docs))
    out[starts] = cls_id
    out[ends - 1] = sep_id
    return out, lens


def cut_groups(flat: np.ndarray, group_lens: np.ndarray, width: int, pad_id: int,
               out_dtype=np.uint32) -> tuple[np.ndarray, np.ndarray]:
    """Cut each group (consecutive slice of ``flat``) into ``width`` pieces, the last one shorter.

    Returns (rows padded with ``pad_id``, true lengths). Empty groups give no rows.
    """
    group_lens = np.asarray(group_lens, dtype=np.int64)
    n_rows = (group_lens + width - 1) // width
    total_rows = int(n_rows.sum())
    rows = np.full((total_rows, width), pad_id, dtype=out_dtype)
    if total_rows == 0:
        return rows, np.zeros(0, dtype=np.int32)
    gstart = np.cumsum(group_lens) - group_lens
    gend = gstart + group_lens
    g = np.repeat(np.arange(len(group_lens)), n_rows)
    k = np.arange(total_rows) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows)
    rstart = gstart[g] + k * width
    rlen = np.minimum(width, gend[g] - rstart)
    full = rlen == width
    if full.any():
        rows[full] = flat[rstart[full, None] + np.arange(width)[None, :]]
    for i in np.flatnonzero(~full):  # at most one short piece per group
        rows[i, : rlen[i]] = flat[rstart[i]: rstart[i] + rlen[i]]
    return rows, rlen.astype(np.int32)


def pack_documents(docs: Sequence[Sequence[int]], width: int, ids, out_dtype=np.uint32):
    """UER mlm (no full-sentences) and lm: every framed document cut on its own."""
    flat, lens = frame_flat(docs, ids.cls, ids.sep)
    return cut_groups(flat, lens, width, ids.pad, out_dtype)


def pack_plain(docs: Sequence[Sequence[int]], width: int, ids, out_dtype=np.uint32):
    """UER bilm: every document's ids (no [CLS]/[SEP]) cut on its own; empty documents give no row."""
    lens = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
    flat = np.fromiter(chain.from_iterable(docs), dtype=np.int64, count=int(lens.sum()))
    return cut_groups(flat, lens, width, ids.pad, out_dtype)


class FullSentencePacker:
    """UER ``--full_sentences``: framed documents concatenated and cut across document borders.

    Feed batches with ``add``; ``finish`` pads and returns the tail (end of UER's docs buffer).
    Only the unfinished tail (< width tokens) is carried between batches.
    """

    def __init__(self, width: int, ids, out_dtype=np.uint32):
        self.width, self.ids, self.out_dtype = width, ids, out_dtype
        self.carry = np.zeros(0, dtype=np.int64)

    def add(self, docs: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        flat, _ = frame_flat(docs, self.ids.cls, self.ids.sep)
        flat = np.concatenate([self.carry, flat])
        n_full = len(flat) // self.width * self.width
        self.carry = flat[n_full:]
        return cut_groups(flat[:n_full], np.array([n_full]), self.width, self.ids.pad, self.out_dtype)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        tail, self.carry = self.carry, np.zeros(0, dtype=np.int64)
        return cut_groups(tail, np.array([len(tail)]), self.width, self.ids.pad, self.out_dtype)


# ---------------------------------------------------------------- bert / albert (sentence pairs) ----

@dataclass(slots=True)
class PairInstance:
    src: list[int]  # [CLS] A [SEP] B [SEP]
    seg_a_len: int  # len([CLS] A [SEP])
    label: int  # bert: is_random_next; albert: is_wrong_order


def truncate_pair(tokens_a: list[int], tokens_b: list[int], max_tokens: int, rng) -> None:
    """Drop tokens from the longer side (b on ties), front or back at random, until both fit.

    Same result and the same rng draws as UER's one-token-at-a-time ``truncate_seq_pair``, but the
    lists are cut once at the end (deleting from the front one token at a time was quadratic).
    """
    la, lb = len(tokens_a), len(tokens_b)
    front_a = back_a = front_b = back_b = 0
    while la + lb > max_tokens:
        if la > lb:
            la -= 1
            if rng.random() < 0.5:
                front_a += 1
            else:
                back_a += 1
        else:
            lb -= 1
            if rng.random() < 0.5:
                front_b += 1
            else:
                back_b += 1
    if front_a or back_a:
        tokens_a[:] = tokens_a[front_a:len(tokens_a) - back_a]
    if front_b or back_b:
        tokens_b[:] = tokens_b[front_b:len(tokens_b) - back_b]


def _target_length(seq_len: int, short_seq_prob: float, rng) -> tuple[int, int]:
    max_tokens = seq_len - 3
    target = max_tokens
    if rng.random() < short_seq_prob:
        target = rng.randint(2, max_tokens)
    return max_tokens, target


def _framed_pair(tokens_a: list[int], tokens_b: list[int], label: int, cls_id: int, sep_id: int) -> PairInstance:
    src = [cls_id, *tokens_a, sep_id]
    seg_a = len(src)
    src.extend(tokens_b)
    src.append(sep_id)
    return PairInstance(src, seg_a, label)


def bert_instances(documents: Sequence[Sequence[Sequence[int]]], doc_index: int, rng, seq_len: int,
                   short_seq_prob: float, cls_id: int, sep_id: int,
                   finish: Callable[[PairInstance], None]) -> None:
    """NSP pairs from ``documents[doc_index]`` (a list of tokenized sentences); calls ``finish``
    on each instance as soon as it is built, so masking draws interleave as in UER."""
    document = documents[doc_index]
    max_tokens, target = _target_length(seq_len, short_seq_prob, rng)
    chunk: list[Sequence[int]] = []
    chunk_len = 0
    i = 0
    while i < len(document):
        segment = document[i]
        chunk.append(segment)
        chunk_len += len(segment)
        if i == len(document) - 1 or chunk_len >= target:
            a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            tokens_a = [t for seg in chunk[:a_end] for t in seg]
            tokens_b: list[int] = []
            if len(chunk) == 1 or rng.random() < 0.5:
                label = 1
                target_b = target - len(tokens_a)
                for _ in range(10):
                    other = rng.randint(0, len(documents) - 1)
                    if other != doc_index:
                        break
                other_doc = documents[other]
                start = rng.randint(0, len(other_doc) - 1)
                for j in range(start, len(other_doc)):
                    tokens_b.extend(other_doc[j])
                    if len(tokens_b) >= target_b:
                        break
                i -= len(chunk) - a_end  # unused sentences go back to the document
            else:
                label = 0
                for seg in chunk[a_end:]:
                    tokens_b.extend(seg)
            truncate_pair(tokens_a, tokens_b, max_tokens, rng)
            finish(_framed_pair(tokens_a, tokens_b, label, cls_id, sep_id))
            chunk = []
            chunk_len = 0
        i += 1


def albert_instances(document: Sequence[Sequence[int]], rng, seq_len: int, short_seq_prob: float,
                     cls_id: int, sep_id: int, finish: Callable[[PairInstance], None]) -> None:
    """SOP pairs: B is the rest of the chunk; with probability 0.5 A and B are swapped."""
    max_tokens, target = _target_length(seq_len, short_seq_prob, rng)
    chunk: list[Sequence[int]] = []
    chunk_len = 0
    for i, segment in enumerate(document):
        chunk.append(segment)
        chunk_len += len(segment)
        if i == len(document) - 1 or chunk_len >= target:
            a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            tokens_a = [t for seg in chunk[:a_end] for t in seg]
            tokens_b = [t for seg in chunk[a_end:] for t in seg]
            label = 0
            if rng.random() < 0.5:
                label = 1
                tokens_a, tokens_b = tokens_b, tokens_a
            truncate_pair(tokens_a, tokens_b, max_tokens, rng)
            finish(_framed_pair(tokens_a, tokens_b, label, cls_id, sep_id))
            chunk = []
            chunk_len = 0
