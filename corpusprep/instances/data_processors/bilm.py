"""bilm: bidirectional LM (ELMo), UER BilmDataset: a document's ids without [CLS]/[SEP] cut into
seq_len rows; forward target ``src[1:] + [SEP]``, backward target ``[CLS] + src[:-1]`` (made by the
collator and the export, so rows store the ids once)."""
from __future__ import annotations

import numpy as np

from corpusprep.instances.data_processors.base import IGNORE_INDEX, LINES, DataProcessor, real_mask, rows_of


def build(ctx, unit, emit, stats, tally) -> None:
    from corpusprep.instances.build import line_rows

    line_rows(ctx, unit, emit, stats, tally, ctx.cfg.seq_len, framed=False)


def compat(job) -> None:
    """UER BilmDataset.worker. Its ``continue`` on a document with no leftover piece skips the end
    check, so the worker reads on past its range (into the next worker's lines) until a line that
    leaves one; at the end of the file that loop never ends in UER: here an error."""
    seq = job.cfg.seq_len
    f = job.open()
    while True:
        line = f.readline()
        document = job.encode(line)
        job.documents += 1
        full = len(document) // seq
        for i in range(full):
            job.emit(document[i * seq:(i + 1) * seq])
        if len(document) == full * seq:
            if line == "" and f.pos >= job.end:
                job.fail(f.pos, "UER's bilm worker never finishes here (a range ends on a line whose length is a "
                                "multiple of --seq-len, or empty, and no line follows)")
            continue
        job.emit(document[full * seq:])
        if f.pos >= job.end:
            break


def targets(src: np.ndarray, lengths: np.ndarray, ids: dict) -> tuple[np.ndarray, np.ndarray]:
    """(forward, backward) targets of padded rows; padding positions hold [PAD] as in UER."""
    b, width = src.shape
    fwd = np.full_like(src, ids["pad"])
    bwd = np.full_like(src, ids["pad"])
    real = real_mask(lengths, width)
    fwd[:, :-1] = np.where(real[:, 1:], src[:, 1:], ids["pad"])
    fwd[np.arange(b), lengths - 1] = ids["sep"]
    bwd[:, 1:] = np.where(real[:, 1:], src[:, :-1], ids["pad"])
    bwd[:, 0] = np.where(lengths > 0, ids["cls"], ids["pad"])
    return fwd, bwd


def expand(c: dict, cfg) -> dict:
    src = c["ids"].astype(np.int64)
    lengths = c["length"].astype(np.int64)
    fwd, bwd = targets(src, lengths, cfg.special_ids)
    real = real_mask(lengths, src.shape[1])
    if cfg.names == "uer":
        return {"src": src, "tgt_forward": fwd, "tgt_backward": bwd, "seg": real.astype(np.int64)}
    return {"input_ids": src, "attention_mask": real, "labels_forward": np.where(real, fwd, IGNORE_INDEX),
            "labels_backward": np.where(real, bwd, IGNORE_INDEX)}


def uer_tuples(raw: dict, meta):
    """``((src, pad_num), tgt_forward, tgt_backward, [length])``, targets unpadded."""
    cls, sep = meta.special_ids["cls"], meta.special_ids["sep"]
    for _, src, pad in rows_of(raw):
        yield ((src, pad), src[1:] + [sep], [cls] + src[:-1], [len(src)])


PROCESSOR = DataProcessor(
    name="bilm", summary="bidirectional LM (ELMo): document ids cut into seq_len rows, forward/backward targets",
    layout=LINES, build=build, compat=compat, expand=expand, uer_tuples=uer_tuples,
    uer_names=("src", "tgt_forward", "tgt_backward", "seg"))
