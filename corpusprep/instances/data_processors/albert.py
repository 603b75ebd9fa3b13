"""albert: sentence pairs with sentence-order labels (UER AlbertDataset)."""
from __future__ import annotations

from corpusprep.instances.data_processors.base import SENTENCES, DataProcessor
from corpusprep.instances.data_processors.bert import expand_pair, pair_tuples
from corpusprep.instances.processors import albert_instances


def _make(cfg, ids):
    def make(document, rng, finish):
        albert_instances(document, rng, cfg.seq_len, cfg.short_seq_prob, ids.cls, ids.sep,
                         lambda inst: finish(inst.src, seg_a_len=inst.seg_a_len, sop_label=inst.label))
    return make


def build(ctx, unit, emit, stats, tally) -> None:
    from corpusprep.instances.build import document_buffers

    make = _make(ctx.cfg, emit.ids)
    document_buffers(ctx, unit, stats, tally, lambda docs, i, rng, finish: make(docs[i], rng, finish), emit)


def compat(job) -> None:
    """UER AlbertDataset.worker: a document is built at each blank line and at the end of the range;
    the last document is kept across dup passes (UER never empties it there)."""
    make = _make(job.cfg, job.ids)
    document: list[list[int]] = []
    for dup in range(job.cfg.dup_factor):
        f = job.open()
        while True:
            line = f.readline()
            if not line.strip():
                if document:
                    make(document, job.rng, job.emit)
                    job.documents += dup == 0
                    job.more.documents([len(document)] if dup == 0 else [])
                document = []
            sentence = job.encode(line, count=dup == 0)
            if sentence:
                document.append(sentence)
            if f.pos >= job.end:
                if document:
                    make(document, job.rng, job.emit)
                    job.documents += dup == 0
                    job.more.documents([len(document)] if dup == 0 else [])
                break


PROCESSOR = DataProcessor(
    name="albert", summary="masked LM + sentence order prediction (A and B swapped with p 0.5)",
    layout=SENTENCES, build=build, compat=compat,
    expand=lambda c, cfg: expand_pair(c, cfg, "sop_label", "sentence_order_label"),
    uer_tuples=lambda raw, meta: pair_tuples(raw, "sop_label"),
    columns=("seg_a_len", "sop_label"), masked_lm=True, dup_passes=True, min_seq_len=5, export_as=("mlm",),
    hf_labels=(("sop_label", "sentence_order_label"),), uer_names=("src", "tgt", "seg", "tgt_sp"))
