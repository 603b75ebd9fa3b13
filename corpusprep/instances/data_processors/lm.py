"""lm: causal LM rows of seq_len + 1 tokens, ``[CLS] doc [SEP]`` cut (UER LmDataset)."""
from __future__ import annotations

import numpy as np

from corpusprep.instances.data_processors.base import IGNORE_INDEX, LINES, DataProcessor, positions, rows_of


def build(ctx, unit, emit, stats, tally) -> None:
    from corpusprep.instances.build import line_rows

    line_rows(ctx, unit, emit, stats, tally, ctx.cfg.row_len)


def compat(job) -> None:
    ids, width = job.ids, job.cfg.seq_len + 1
    f = job.open()
    while True:
        line = f.readline()
        job.documents += 1
        job.pieces([ids.cls] + job.encode(line) + [ids.sep], width)
        if f.pos >= job.end:
            break


def expand(c: dict, cfg) -> dict:
    ids = c["ids"].astype(np.int64)
    lengths = c["length"].astype(np.int64)
    seq = ids.shape[1] - 1
    pos = positions(seq)
    src, tgt = ids[:, :-1], ids[:, 1:]
    if cfg.names == "uer":
        # UER: seg_pos = seq_length for full pieces, else the piece length; seg = 1 up to there.
        return {"src": src, "tgt": tgt, "seg": (pos < np.minimum(lengths, seq)[:, None]).astype(np.int64)}
    labels = np.where(pos + 1 < lengths[:, None], tgt, IGNORE_INDEX)
    return {"input_ids": src, "attention_mask": pos < lengths[:, None], "labels": labels}


def uer_tuples(raw: dict, meta):
    """``((src, pad_num), [seq_len])`` for full pieces, ``((src, pad_num), [length])`` for the last one."""
    for _, src, pad in rows_of(raw):
        yield ((src, pad), [meta.seq_len if pad == 0 else len(src)])


PROCESSOR = DataProcessor(
    name="lm", summary="causal LM: [CLS] doc [SEP] cut into seq_len + 1 rows (input row[:-1], target row[1:])",
    layout=LINES, build=build, compat=compat, expand=expand, uer_tuples=uer_tuples, extra_row=1,
    uer_names=("src", "tgt", "seg"))
