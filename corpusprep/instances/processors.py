"""Instance layouts of UER-py's mlm, lm, bert and albert processors, as pure functions.

mlm/lm/bilm: documents (framed ``[CLS] doc [SEP]``) cut into ``width``-token pieces with numpy, from the
tokenizer's flat id array;
bert/albert: Google BERT's create_instances_from_document with a caller-given random source whose
calls follow UER's order exactly (uer/utils/dataset.py), so a source seeded like UER reproduces UER.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from zh_tokenizers.batch_encode import Encoded


# ---------------------------------------------------------------- mlm / lm (framed, cut) -------------
# Packers take a batch as ``Encoded`` (one flat id array + line offsets, zh_tokenizers.batch_encode) and write
# every id straight to its place in the padded rows with one numpy scatter: no per-token Python objects.
# Lists of id lists are accepted too (converted once).

def as_encoded(docs: Encoded | Sequence[Sequence[int]]) -> Encoded:
    return docs if isinstance(docs, Encoded) else Encoded.from_lists(list(docs))


def _place(enc: Encoded, out: np.ndarray, starts: np.ndarray, frame: tuple[int, int] | None) -> None:
    """Write line i of ``enc`` to ``out`` from ``starts[i]`` on, as ``[CLS] ids [SEP]`` when ``frame`` is given."""
    lens = np.diff(enc.offsets)
    first = starts + 1 if frame else starts
    if len(enc.ids):
        out[np.repeat(first - enc.offsets[:-1], lens) + np.arange(len(enc.ids))] = enc.ids
    if frame:
        out[starts] = frame[0]
        out[first + lens] = frame[1]


def cut_lengths(group: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each group of ``group`` tokens cut on its own into ``width`` pieces: (rows per line, every row's length)."""
    n_rows = (group + width - 1) // width
    first_row = np.cumsum(n_rows) - n_rows
    total_rows = int(first_row[-1] + n_rows[-1]) if len(n_rows) else 0
    lengths = np.full(total_rows, width, dtype=np.int32)
    has = n_rows > 0
    lengths[(first_row + n_rows - 1)[has]] = (group - (n_rows - 1) * width)[has]
    return n_rows, lengths


def _cut(enc: Encoded, width: int, pad_id: int, out_dtype, frame: tuple[int, int] | None):
    """Every line (framed or not) cut on its own into ``width`` pieces, the last one shorter and padded;
    an empty unframed line gives no row. Returns (rows, true lengths int32)."""
    group = np.diff(enc.offsets) + (2 if frame else 0)
    n_rows, lengths = cut_lengths(group, width)
    rows = np.full(len(lengths) * width, pad_id, dtype=out_dtype)
    _place(enc, rows, (np.cumsum(n_rows) - n_rows) * width, frame)
    return rows.reshape(len(lengths), width), lengths


def cut_flat(docs, width: int, ids, out_dtype=np.uint32, framed: bool = True):
    """The rows of ``pack_documents`` (``framed``) or ``pack_plain`` without padding: the rows' ids back
    to back (the framed documents in order: cutting a line never moves a token) and each row's length."""
    enc = as_encoded(docs)
    frame = (ids.cls, ids.sep) if framed else None
    group = np.diff(enc.offsets) + (2 if frame else 0)
    values = np.empty(int(group.sum()), dtype=out_dtype)
    _place(enc, values, np.cumsum(group) - group, frame)
    return values, cut_lengths(group, width)[1]


def pack_documents(docs, width: int, ids, out_dtype=np.uint32):
    """UER mlm (no full-sentences) and lm: every framed document ``[CLS] d [SEP]`` cut on its own."""
    return _cut(as_encoded(docs), width, ids.pad, out_dtype, (ids.cls, ids.sep))


def pack_plain(docs, width: int, ids, out_dtype=np.uint32):
    """UER bilm: every document's ids (no [CLS]/[SEP]) cut on its own; empty documents give no row."""
    return _cut(as_encoded(docs), width, ids.pad, out_dtype, None)


class FullSentencePacker:
    """UER ``--full_sentences``: framed documents concatenated and cut across document borders.

    Feed batches with ``add``; ``finish`` pads and returns the tail (end of UER's docs buffer).
    Only the unfinished tail (< width tokens) is carried between batches.
    """

    def __init__(self, width: int, ids, out_dtype=np.uint32):
        self.width, self.ids, self.out_dtype = width, ids, out_dtype
        self.carry = np.zeros(0, dtype=out_dtype)

    def add(self, docs) -> tuple[np.ndarray, np.ndarray]:
        enc = as_encoded(docs)
        framed = np.diff(enc.offsets) + 2
        stream = np.empty(len(self.carry) + int(framed.sum()), dtype=self.out_dtype)
        stream[: len(self.carry)] = self.carry
        _place(enc, stream, len(self.carry) + np.cumsum(framed) - framed, (self.ids.cls, self.ids.sep))
        n_rows = len(stream) // self.width
        self.carry = stream[n_rows * self.width:].copy()
        return (stream[: n_rows * self.width].reshape(n_rows, self.width),
                np.full(n_rows, self.width, dtype=np.int32))

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        tail, self.carry = self.carry, np.zeros(0, dtype=self.out_dtype)
        rows = np.full((1 if len(tail) else 0, self.width), self.ids.pad, dtype=self.out_dtype)
        rows[:1, : len(tail)] = tail
        return rows, np.full(len(rows), len(tail), dtype=np.int32)


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
