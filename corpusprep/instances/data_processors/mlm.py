"""mlm: one document per line, ``[CLS] doc [SEP]`` cut into seq_len rows (UER MlmDataset)."""
from __future__ import annotations

from corpusprep.instances.data_processors.base import (LINES, DataProcessor, masked_pairs, mlm_labels, real_mask,
                                                       rows_of)


def build(ctx, unit, emit, stats, tally) -> None:
    from corpusprep.instances.build import line_rows

    line_rows(ctx, unit, emit, stats, tally, ctx.cfg.row_len)


def compat(job) -> None:
    """UER MlmDataset.worker: the file is re-read for every dup pass; with full sentences the docs
    buffer is flushed at the end of the range but not emptied, so its documents come again."""
    cfg, ids = job.cfg, job.ids
    docs_buffer: list[list[int]] = []
    for dup in range(cfg.dup_factor):
        f = job.open()
        while True:
            line = f.readline()
            document = [ids.cls] + job.encode(line, count=dup == 0) + [ids.sep]
            job.documents += dup == 0
            if cfg.full_sentences:
                docs_buffer.append(document)
                if len(docs_buffer) == cfg.docs_buffer_size:
                    job.pieces([t for d in docs_buffer for t in d], cfg.seq_len)
                    docs_buffer = []
                if f.pos >= job.end:
                    if docs_buffer:
                        job.pieces([t for d in docs_buffer for t in d], cfg.seq_len)
                    break
            else:
                job.pieces(document, cfg.seq_len)
            if f.pos >= job.end:
                break


def expand(c: dict, cfg) -> dict:
    src = c["ids"].astype("int64")
    lengths = c["length"].astype("int64")
    labels = mlm_labels(c, src.shape, cfg.names)
    real = real_mask(lengths, src.shape[1])
    if cfg.names == "uer":
        return {"src": src, "tgt": labels, "seg": real.astype("int64")}
    return {"input_ids": src, "attention_mask": real, "token_type_ids": real & False, "labels": labels}


def uer_tuples(raw: dict, meta):
    """``((src, pad_num), [length])``; static: ``((src, pad_num), [(pos, id), ...], [length])``."""
    static = "masked_positions" in raw
    for i, src, pad in rows_of(raw):
        yield ((src, pad), masked_pairs(raw, i), [len(src)]) if static else ((src, pad), [len(src)])


PROCESSOR = DataProcessor(
    name="mlm", summary="masked LM: [CLS] doc [SEP] cut into seq_len rows (--full-sentences packs documents)",
    layout=LINES, build=build, compat=compat, expand=expand, uer_tuples=uer_tuples, masked_lm=True, dup_passes=True,
    uer_names=("src", "tgt", "seg"))
