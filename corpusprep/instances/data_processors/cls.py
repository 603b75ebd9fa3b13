"""cls: classification pretraining on labelled lines (UER ClsDataset).

Input: ``label<TAB>text`` -> ``[CLS] text`` (no [SEP], as UER), or ``label<TAB>text_a<TAB>text_b`` ->
``[CLS] a [SEP] b [SEP]``, cut at seq_len; or `clean` Parquet with the label in the record's meta.
``seg_a_len`` is the first segment's length (the whole row for one text).
"""
from __future__ import annotations

import random

import numpy as np

from corpusprep.instances.data_processors.base import (TAB_LINES, DataProcessor, pair_segments, rows_of)
from corpusprep.instances.data_processors.tab_lines import labelled_records, parse_label


def cls_instance(a: list[int], b: list[int] | None, seq_len: int, ids, sep_single: bool) -> tuple[list[int], int]:
    """(src, seg_a_len) as UER frames and truncates a single text or a pair."""
    if b is None:
        src = ([ids.cls] + a + ([ids.sep] if sep_single else []))[:seq_len]
        return src, len(src)
    src_a = [ids.cls] + a + [ids.sep]
    src = (src_a + b + [ids.sep])[:seq_len]
    return src, min(len(src_a), seq_len)


def build_labelled(ctx, unit, emit, stats, tally, sep_single: bool) -> None:
    from corpusprep.instances.build import ENCODE_BATCH_DOCS, batched, count_content

    cfg, tok = ctx.cfg, ctx.tok
    for batch in batched(labelled_records(unit, tally, cfg.label_field), ENCODE_BATCH_DOCS):
        enc = tok.encode_batch([t for _, _, texts in batch for t in texts])
        count_content(enc, stats, emit.ids.unk)
        stats.documents += len(batch)
        stats.doc_chars.add([sum(map(len, texts)) for _, _, texts in batch])
        doc_tokens = []
        at = 0
        for key, label, texts in batch:
            a = list(enc[at])
            b = list(enc[at + 1]) if len(texts) == 2 else None
            doc_tokens.append(len(a) + (len(b) if b is not None else 0))
            at += len(texts)
            src, seg_a = cls_instance(a, b, cfg.seq_len, emit.ids, sep_single)
            emit.one(src, random.Random(f"{cfg.seed}:0:{key}"), seg_a_len=seg_a, label=label)
        stats.doc_tokens.add(doc_tokens)


def compat_labelled(job, sep_single: bool) -> None:
    """UER ClsDataset / ClsMlmDataset.worker: lines of 2 or 3 fields, others skipped silently;
    a label that is not an integer stops UER (ValueError): here an error naming the line."""
    f = job.open(lambda line: line.strip().split("\t")[1:])
    while True:
        line = f.readline()
        fields = line.strip().split("\t")
        if len(fields) in (2, 3):
            label = parse_label(fields[0])
            if label is None:
                job.fail(f.pos, f"label {fields[0][:40]!r} is not an integer (UER's preprocess.py stops here too)")
            a = job.encode(fields[1])
            b = job.encode(fields[2]) if len(fields) == 3 else None
            job.documents += 1
            src, seg_a = cls_instance(a, b, job.cfg.seq_len, job.ids, sep_single)
            job.emit(src, seg_a_len=seg_a, label=label)
        if f.pos >= job.end:
            break


def build(ctx, unit, emit, stats, tally) -> None:
    build_labelled(ctx, unit, emit, stats, tally, sep_single=False)


def segments(c: dict, width: int) -> tuple[np.ndarray, np.ndarray]:
    return pair_segments(c["length"].astype(np.int64), c["seg_a_len"].astype(np.int64), width)


def expand(c: dict, cfg) -> dict:
    src = c["ids"].astype(np.int64)
    real, second = segments(c, src.shape[1])
    label = c["label"].astype(np.int64)
    if cfg.names == "uer":
        return {"src": src, "tgt": label, "seg": real.astype(np.int64) + second}
    return {"input_ids": src, "attention_mask": real, "token_type_ids": second, "labels": label}


def seg_pos(seg_a: int, n: int) -> list[int]:
    """UER's seg_pos: ``[length]`` for one text (or a first text that fills the row), else ``[a, b]``."""
    return [n] if seg_a >= n else [seg_a, n - seg_a]


def uer_tuples(raw: dict, meta):
    """``((src, pad_num), label, seg_pos)``."""
    labels, seg_a = raw["label"].tolist(), raw["seg_a_len"].tolist()
    for i, src, pad in rows_of(raw):
        yield ((src, pad), labels[i], seg_pos(seg_a[i], len(src)))


PROCESSOR = DataProcessor(
    name="cls", summary="classification: label<TAB>text[<TAB>text_b] lines or clean Parquet with meta labels",
    layout=TAB_LINES, build=build, compat=lambda job: compat_labelled(job, False), expand=expand,
    uer_tuples=uer_tuples, columns=("seg_a_len", "label"), hf_labels=(("label", "labels"),),
    uer_names=("src", "tgt", "seg"))
