"""gsg: PEGASUS gap-sentence generation (UER GsgDataset / GsgDataloader = MtDataloader).

30 % of a document's sentences (the first ones with ``--sentence-selection lead``, random ones
with ``random``) are each replaced by one [MASK] in the input and concatenated as the target.
Sentences not shorter than both ``seq_len - 2`` and ``tgt_seq_len - 2`` are dropped first.
"""
from __future__ import annotations

import numpy as np

from corpusprep.errors import ZooprepError
from corpusprep.instances.data_processors.base import SENTENCES, DataProcessor, rows_of
from corpusprep.instances.data_processors.bart import encoder_decoder


def gsg_instances(document, rng, seq_len: int, tgt_seq_len: int, strategy: str, ids, finish) -> None:
    limit, tgt_limit = seq_len - 2, tgt_seq_len - 2
    doc = [list(s) for s in document if len(s) < limit and len(s) < tgt_limit]
    n_chosen = int(round(len(doc) * 0.3, 0))
    chosen = rng.sample(range(0, len(doc) - 1), n_chosen) if strategy == "random" else list(range(n_chosen))
    chosen = set(chosen)

    def emit(src, tgt):
        finish([ids.cls] + src + [ids.sep], target_ids=[ids.cls] + tgt + [ids.sep])

    src: list[int] = []
    tgt: list[int] = []
    for i, segment in enumerate(doc):
        picked = i in chosen
        if picked and len(tgt) + len(segment) < tgt_limit and len(src) + 1 < limit:
            tgt = tgt + segment
            src = src + [ids.mask]
        elif not picked and len(src) + len(segment) < limit:
            src = src + segment
        else:
            if tgt and src:
                emit(src, tgt)
            src, tgt = ([ids.mask], segment) if picked else (segment, [])
    if tgt and src:
        emit(src, tgt)


def _make(cfg, ids):
    return lambda docs, i, rng, finish: gsg_instances(docs[i], rng, cfg.seq_len, cfg.tgt_seq_len,
                                                      cfg.sentence_selection, ids, finish)


def build(ctx, unit, emit, stats, tally) -> None:
    from corpusprep.instances.build import document_buffers

    document_buffers(ctx, unit, stats, tally, _make(ctx.cfg, emit.ids), emit)


def compat(job) -> None:
    from corpusprep.instances.compat_uer import bert_worker

    make = _make(job.cfg, job.ids)

    def build_instances(buffer):
        for _ in range(job.cfg.dup_factor):
            for i in range(len(buffer)):
                make(buffer, i, job.rng, job.emit)

    bert_worker(job, build_instances)


def expand(c: dict, cfg) -> dict:
    return encoder_decoder(c["ids"].astype(np.int64), c["length"].astype(np.int64), c["target_ids"],
                           int(cfg.options["tgt_seq_len"]), cfg)


def uer_tuples(raw: dict, meta):
    """``((src, pad_num), (tgt, tgt_seq_len - len(tgt)), [length])``."""
    tgt_len = int(meta.options["tgt_seq_len"])
    for i, src, pad in rows_of(raw):
        tgt = raw["target_ids"][i].tolist()
        yield ((src, pad), (tgt, tgt_len - len(tgt)), [len(src)])


def _check(cfg, tok) -> None:
    from corpusprep import options as opt

    opt.integer("--tgt-seq-len", cfg.tgt_seq_len, 3, opt.MAX_SEQ_LEN)
    if cfg.sentence_selection not in ("lead", "random"):
        raise ZooprepError(f"unknown --sentence-selection {cfg.sentence_selection!r}; choose lead or random")


PROCESSOR = DataProcessor(
    name="gsg", summary="gap sentences (PEGASUS): 30% of sentences -> [MASK] in the input, concatenated as target",
    layout=SENTENCES, build=build, compat=compat, expand=expand, uer_tuples=uer_tuples,
    columns=("target_ids",), min_seq_len=3, dup_passes=True, dup_without_static=True, check=_check,
    options=lambda cfg, tok: {"tgt_seq_len": cfg.tgt_seq_len, "sentence_selection": cfg.sentence_selection},
    uer_names=("src", "tgt_out", "seg", "tgt_in", "tgt_seg"))
