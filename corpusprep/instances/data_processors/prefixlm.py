"""prefixlm: UniLM-style prefix LM on ``source<TAB>target`` lines (UER PrefixlmDataset).

Row: ``[CLS] source [SEP] target [SEP]``, kept to seq_len + 1 tokens so the last position's target
survives truncation; ``seg_a_len`` = len([CLS] source [SEP]). Pairs whose framed source has
seq_len tokens or more are skipped (counted rejects here; UER skips them silently).
"""
from __future__ import annotations

import random

import numpy as np

from corpusprep.instances.data_processors.base import (IGNORE_INDEX, TAB_LINES, DataProcessor, positions,
                                                       real_mask, rows_of)
from corpusprep.instances.data_processors.tab_lines import reject, tab_fields


def build(ctx, unit, emit, stats, tally) -> None:
    from corpusprep.instances.build import ENCODE_BATCH_DOCS, batched, count_content

    cfg, tok, ids = ctx.cfg, ctx.tok, emit.ids
    for batch in batched(tab_fields(unit, tally), ENCODE_BATCH_DOCS):
        good = []
        for key, fields in batch:
            if len(fields) == 2:
                good.append((key, fields))
            else:
                reject(tally, unit, key, "fields", f"{len(fields)} tab-separated fields, expected source<TAB>target")
        enc = tok.encode_batch([t for _, fields in good for t in fields])
        batch_fields = [fields for _, fields in good]
        doc_chars, doc_tokens = [], []
        count_content(enc, stats, ids.unk)
        for j, (key, _) in enumerate(good):
            src = [ids.cls] + list(enc[2 * j]) + [ids.sep]
            if len(src) >= cfg.seq_len:
                reject(tally, unit, key, "source_too_long", f"framed source of {len(src)} tokens >= --seq-len")
                continue
            stats.documents += 1
            doc_chars.append(sum(map(len, batch_fields[j])))
            doc_tokens.append(len(enc[2 * j]) + len(enc[2 * j + 1]))
            emit.one((src + list(enc[2 * j + 1]) + [ids.sep])[: cfg.seq_len + 1], random.Random(0), seg_a_len=len(src))
        stats.doc_chars.add(doc_chars)
        stats.doc_tokens.add(doc_tokens)


def compat(job) -> None:
    """UER PrefixlmDataset.worker; a skipped long source also skips the end check, so the worker
    reads on into the next range until a line it keeps (or a line without two fields)."""
    ids, seq = job.ids, job.cfg.seq_len
    f = job.open(lambda line: line.strip().split("\t"))
    while True:
        line = f.readline()
        fields = line.strip().split("\t")
        if len(fields) != 2:
            if f.pos >= job.end:
                break
            continue
        src = [ids.cls] + job.encode(fields[0]) + [ids.sep]
        tgt = job.encode(fields[1]) + [ids.sep]
        if len(src) >= seq:
            continue
        job.documents += 1
        job.emit((src + tgt)[: seq + 1], seg_a_len=len(src))
        if f.pos >= job.end:
            break


def _targets(ids: np.ndarray, lengths: np.ndarray, seg_a: np.ndarray, seq: int, before: int, last: int, after: int):
    """UER's tgt: ``before`` up to the source's [SEP], then the next token, ``last`` at the final
    token (when it is inside the row), ``after`` on padding."""
    pos = positions(seq)
    tgt = ids[:, 1: seq + 1].copy()
    tgt[pos < seg_a[:, None] - 1] = before
    tgt[pos >= lengths[:, None]] = after
    ends = (lengths <= seq) & (lengths > 0)
    tgt[np.nonzero(ends)[0], lengths[ends] - 1] = last
    return tgt


def expand(c: dict, cfg) -> dict:
    ids = c["ids"].astype(np.int64)
    lengths = c["length"].astype(np.int64)
    seg_a = c["seg_a_len"].astype(np.int64)
    seq = ids.shape[1] - 1
    src = ids[:, :seq]
    n = np.minimum(lengths, seq)
    real = real_mask(n, seq)
    second = real & (positions(seq) >= seg_a[:, None])
    if cfg.names == "uer":
        pad = cfg.special_ids["pad"]
        tgt = _targets(ids, lengths, seg_a, seq, 0, pad, pad)
        return {"src": src, "tgt": tgt, "seg": real.astype(np.int64) + second}
    labels = _targets(ids, lengths, seg_a, seq, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX)
    return {"input_ids": src, "attention_mask": real, "token_type_ids": second, "labels": labels}


def uer_tuples(raw: dict, meta):
    """``((src, pad_num), tgt, [seg_a_len, min(length, seq_len)])`` with UER's unpadded target list."""
    seq, pad_id = meta.seq_len, meta.special_ids["pad"]
    seg_a = raw["seg_a_len"].tolist()
    for i, row, _ in rows_of(raw):
        a = seg_a[i]
        src = row[:seq]
        tgt = ([0] * (a - 1) + row[a:] + ([pad_id] if len(row) <= seq else []))[:seq]
        yield ((src, seq - len(src)), tgt, [a, len(src)])


PROCESSOR = DataProcessor(
    name="prefixlm", summary="prefix LM (UniLM): source<TAB>target lines, [CLS] s [SEP] t [SEP]",
    layout=TAB_LINES, build=build, compat=compat, expand=expand, uer_tuples=uer_tuples,
    columns=("seg_a_len",), extra_row=1, min_seq_len=3, uer_names=("src", "tgt", "seg"))
