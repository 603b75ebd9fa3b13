"""bart: sentence permutation + text infilling (UER BartDataset / BartDataloader).

`shard` stores the input (the chunk's sentences shuffled, framed) and ``target_ids`` (in order);
the collator masks the input (token or span masking) and merges each run of [MASK] into one, as
UER's loader does.
"""
from __future__ import annotations

import numpy as np

from corpusprep.instances.data_processors.base import (IGNORE_INDEX, SENTENCES, DataProcessor, pad_ragged,
                                                       real_mask, rows_of)


def bart_instances(document, rng, seq_len: int, ids, finish) -> None:
    """UER BartDataset.create_ins_from_doc: sentences gathered while shorter than seq_len - 2 in all
    (longer sentences dropped); the chunk's order is shuffled for the input."""
    target = seq_len - 2
    chunk: list = []
    length = 0

    def flush():
        shuffled = chunk.copy()
        rng.shuffle(shuffled)
        src, tgt = [ids.cls], [ids.cls]
        for a, b in zip(shuffled, chunk):
            src.extend(a)
            tgt.extend(b)
        finish(src + [ids.sep], target_ids=tgt + [ids.sep])

    for segment in document:
        if len(segment) > target:
            continue
        if length + len(segment) < target:
            chunk.append(segment)
            length += len(segment)
        else:
            flush()
            chunk, length = [segment], len(segment)
    if chunk:
        flush()


def build(ctx, unit, emit, stats, tally) -> None:
    from corpusprep.instances.build import document_buffers

    cfg = ctx.cfg
    document_buffers(ctx, unit, stats, tally,
                     lambda docs, i, rng, finish: bart_instances(docs[i], rng, cfg.seq_len, emit.ids, finish), emit)


def compat(job) -> None:
    from corpusprep.instances.compat_uer import bert_worker

    def build_instances(buffer):
        for _ in range(job.cfg.dup_factor):
            for i in range(len(buffer)):
                bart_instances(buffer[i], job.rng, job.cfg.seq_len, job.ids, job.emit)

    bert_worker(job, build_instances)


def decoder_side(targets: list, width: int, pad: int, names: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tgt_in, tgt_out, tgt_seg) of width - 1 from unpadded targets, as UER's Mt/Bart loaders.

    UER's tgt_seg covers one position more than the target's real inputs (it subtracts
    ``pad_num - 1``), so its loss also asks for the [PAD] after the final [SEP]; the HF mask stops
    at the real tokens."""
    tgt = pad_ragged([list(t) for t in targets], pad, width)
    lens = np.array([min(len(t), width) for t in targets], dtype=np.int64)
    shown = np.minimum(lens, width - 1) if names == "uer" else np.maximum(lens - 1, 0)
    return tgt[:, :-1], tgt[:, 1:], real_mask(shown, width - 1).astype(np.int64)


def infill(src: np.ndarray, lengths: np.ndarray, mask_id: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Each run of [MASK] becomes one [MASK]; returns (rows, new lengths)."""
    out = np.full_like(src, pad)
    new_len = lengths.copy()
    for i in range(src.shape[0]):
        row = src[i, : lengths[i]]
        keep = np.ones(row.size, dtype=bool)
        keep[1:] = ~((row[1:] == mask_id) & (row[:-1] == mask_id))
        kept = row[keep]
        out[i, : kept.size] = kept
        new_len[i] = kept.size
    return out, new_len


def encoder_decoder(src: np.ndarray, lengths: np.ndarray, targets: list, width: int, cfg) -> dict:
    """The tensors of an encoder-decoder batch (bart, gsg, mt), under UER's or Hugging Face's names:
    the encoder side ``src`` / ``lengths``, the decoder side from ``targets`` ``width`` wide."""
    tgt_in, tgt_out, tgt_seg = decoder_side(targets, width, cfg.special_ids["pad"], cfg.names)
    real = real_mask(lengths, src.shape[1])
    if cfg.names == "uer":
        return {"src": src, "tgt_out": tgt_out, "seg": real.astype(np.int64), "tgt_in": tgt_in, "tgt_seg": tgt_seg}
    return {"input_ids": src, "attention_mask": real, "labels": np.where(tgt_seg == 1, tgt_out, IGNORE_INDEX),
            "decoder_input_ids": tgt_in, "decoder_attention_mask": tgt_seg}


def expand(c: dict, cfg) -> dict:
    pad = cfg.special_ids["pad"]
    src, lengths = infill(c["ids"].astype(np.int64), c["length"].astype(np.int64), cfg.special_ids["mask"], pad)
    return encoder_decoder(src, lengths, c["target_ids"], src.shape[1], cfg)


def uer_tuples(raw: dict, meta):
    """``((src, pad_num), (tgt, pad_num), [length])``."""
    for i, src, pad in rows_of(raw):
        yield ((src, pad), (raw["target_ids"][i].tolist(), pad), [len(src)])


PROCESSOR = DataProcessor(
    name="bart", summary="denoising seq2seq: shuffled sentences in, original out; the loader masks and infills",
    layout=SENTENCES, build=build, compat=compat, expand=expand, uer_tuples=uer_tuples,
    columns=("target_ids",), dynamic_mask=True, min_seq_len=3, dup_passes=True, dup_without_static=True,
    uer_names=("src", "tgt_out", "seg", "tgt_in", "tgt_seg"))
