"""bert: sentence pairs with next-sentence labels (UER BertDataset, Google's create_instances_from_document)."""
from __future__ import annotations

from corpusprep.instances.data_processors.base import (SENTENCES, DataProcessor, masked_pairs, mlm_labels,
                                                       pair_segments, rows_of)
from corpusprep.instances.processors import bert_instances


def _make(cfg, ids):
    def make(documents, i, rng, finish):
        bert_instances(documents, i, rng, cfg.seq_len, cfg.short_seq_prob, ids.cls, ids.sep,
                       lambda inst: finish(inst.src, seg_a_len=inst.seg_a_len, nsp_label=inst.label))
    return make


def build(ctx, unit, emit, stats, tally) -> None:
    from corpusprep.instances.build import document_buffers

    document_buffers(ctx, unit, stats, tally, _make(ctx.cfg, emit.ids), emit)


def compat(job) -> None:
    from corpusprep.instances.compat_uer import bert_worker

    def build_instances(buffer):
        make = _make(job.cfg, job.ids)
        for _ in range(job.cfg.dup_factor):
            for i in range(len(buffer)):
                make(buffer, i, job.rng, job.emit)

    bert_worker(job, build_instances)


def expand_pair(c: dict, cfg, label_col: str, hf_name: str) -> dict:
    """bert and albert: masked LM + a pair label; segments 1/2 (UER) or token types 0/1 (HF)."""
    src = c["ids"].astype("int64")
    lengths = c["length"].astype("int64")
    labels = mlm_labels(c, src.shape, cfg.names)
    seg_a = c["seg_a_len"].astype("int64") if "seg_a_len" in c else None
    real, second = pair_segments(lengths, seg_a, src.shape[1])
    if cfg.names == "uer":
        out = {"src": src, "tgt": labels, "seg": real.astype("int64") + second}
        if label_col in c:
            out["tgt_sp"] = c[label_col]
        return out
    out = {"input_ids": src, "attention_mask": real, "token_type_ids": second, "labels": labels}
    if label_col in c:
        out[hf_name] = c[label_col]
    return out


def pair_tuples(raw: dict, label_col: str):
    """``((src, pad), label, [seg_a_len, length])``; static: ``((src, pad), [(pos, id), ...], label, [...])``."""
    static = "masked_positions" in raw
    labels, seg_a = raw[label_col].tolist(), raw["seg_a_len"].tolist()
    for i, src, pad in rows_of(raw):
        seg_pos = [seg_a[i], len(src)]
        yield ((src, pad), masked_pairs(raw, i), labels[i], seg_pos) if static else ((src, pad), labels[i], seg_pos)


PROCESSOR = DataProcessor(
    name="bert", summary="masked LM + next sentence prediction on sentence pairs ([CLS] A [SEP] B [SEP])",
    layout=SENTENCES, build=build, compat=compat,
    expand=lambda c, cfg: expand_pair(c, cfg, "nsp_label", "next_sentence_label"),
    uer_tuples=lambda raw, meta: pair_tuples(raw, "nsp_label"),
    columns=("seg_a_len", "nsp_label"), masked_lm=True, dup_passes=True, min_seq_len=5, export_as=("mlm",),
    hf_labels=(("nsp_label", "next_sentence_label"),), uer_names=("src", "tgt", "seg", "tgt_sp"))
