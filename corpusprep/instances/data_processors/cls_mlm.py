"""cls_mlm: masked LM + classification on labelled lines (UER ClsMlmDataset): as cls, but a
single text is framed ``[CLS] text [SEP]``, and static or dynamic masking applies."""
from __future__ import annotations

import numpy as np

from corpusprep.instances.data_processors.base import TAB_LINES, DataProcessor, masked_pairs, mlm_labels, rows_of
from corpusprep.instances.data_processors.cls import build_labelled, compat_labelled, seg_pos, segments


def expand(c: dict, cfg) -> dict:
    src = c["ids"].astype(np.int64)
    real, second = segments(c, src.shape[1])
    labels = mlm_labels(c, src.shape, cfg.names)
    label = c["label"].astype(np.int64)
    if cfg.names == "uer":
        return {"src": src, "tgt_mlm": labels, "tgt_cls": label, "seg": real.astype(np.int64) + second}
    return {"input_ids": src, "attention_mask": real, "token_type_ids": second, "labels": labels,
            "class_labels": label}


def uer_tuples(raw: dict, meta):
    """``((src, pad), label, seg_pos)``; static: ``((src, pad), [(pos, id), ...], label, seg_pos)``."""
    static = "masked_positions" in raw
    labels, seg_a = raw["label"].tolist(), raw["seg_a_len"].tolist()
    for i, src, pad in rows_of(raw):
        sp = seg_pos(seg_a[i], len(src))
        yield ((src, pad), masked_pairs(raw, i), labels[i], sp) if static else ((src, pad), labels[i], sp)


PROCESSOR = DataProcessor(
    name="cls_mlm", summary="masked LM + classification: as cls, single texts framed [CLS] text [SEP]",
    layout=TAB_LINES, build=lambda ctx, unit, emit, stats, tally: build_labelled(ctx, unit, emit, stats, tally, True),
    compat=lambda job: compat_labelled(job, True), expand=expand, uer_tuples=uer_tuples,
    columns=("seg_a_len", "label"), masked_lm=True, hf_labels=(("label", "class_labels"),),
    uer_names=("src", "tgt_mlm", "tgt_cls", "seg"))
