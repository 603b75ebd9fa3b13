"""mt: translation pairs with a target-side tokenizer (UER MtDataset / MtDataloader).

Input: ``source<TAB>target`` lines (or the ``text`` column of clean Parquet, split the same way).
The source is tokenized with ``--vocab``/``--spm``, the target with ``--tgt-vocab``/``--tgt-spm``
(``--tgt-tokenizer bert|char|space``). Row: ``[CLS] source [SEP]`` cut at seq_len; ``target_ids``:
``[CLS] target [SEP]`` (the target vocabulary's ids) cut at ``tgt_seq_len + 1``, so the decoder
sees ``tgt_seq_len`` inputs and outputs. As UER's loader, the target is padded with the *source*
vocabulary's [PAD].
"""
from __future__ import annotations

import numpy as np

from corpusprep.errors import ZooprepError
from corpusprep.instances.data_processors.base import TAB_LINES, DataProcessor, rows_of
from corpusprep.instances.data_processors.bart import encoder_decoder
from corpusprep.instances.data_processors.tab_lines import reject, tab_fields


def mt_instance(src: list[int], tgt: list[int], seq_len: int, tgt_seq_len: int, ids, tgt_frame: tuple[int, int]):
    """(row, target) framed and cut as UER's MtDataset.worker."""
    return ([ids.cls] + src + [ids.sep])[:seq_len], ([tgt_frame[0]] + tgt + [tgt_frame[1]])[: tgt_seq_len + 1]


def target_frame(tgt_tok) -> tuple[int, int]:
    return tgt_tok.special_ids["cls"], tgt_tok.special_ids["sep"]


def build(ctx, unit, emit, stats, tally) -> None:
    from corpusprep.instances.build import ENCODE_BATCH_DOCS, batched, count_content

    cfg, ids, frame = ctx.cfg, emit.ids, target_frame(ctx.tgt_tok)
    for batch in batched(tab_fields(unit, tally), ENCODE_BATCH_DOCS):
        good = []
        for key, fields in batch:
            if len(fields) == 2:
                good.append(fields)
            else:
                reject(tally, unit, key, "fields", f"{len(fields)} tab-separated fields, expected source<TAB>target")
        if not good:
            continue
        src_enc = ctx.tok.encode_batch([f[0] for f in good])
        tgt_enc = ctx.tgt_tok.encode_batch([f[1] for f in good])
        count_content(src_enc, stats, ids.unk)  # the source side: [UNK] rate against --vocab
        stats.documents += len(good)
        for j in range(len(good)):
            src, tgt = mt_instance(list(src_enc[j]), list(tgt_enc[j]), cfg.seq_len, cfg.tgt_seq_len, ids, frame)
            emit.one(src, None, target_ids=tgt)


def compat(job) -> None:
    """UER MtDataset.worker: lines without exactly two fields are skipped (before the end check,
    so a worker whose range ends on one reads on until a pair or the end of the file)."""
    ids, frame, tgt_tok = job.ids, target_frame(job.tgt_tok), job.tgt_tok
    f = job.open(lambda line: line.strip().split("\t")[:1])  # the source side; the target has its own tokenizer
    while True:
        line = f.readline()
        fields = line.strip().split("\t")
        if len(fields) != 2:
            if f.pos >= job.end:
                break
            continue
        src = job.encode(fields[0])
        tgt = tgt_tok.encode(fields[1])
        job.documents += 1
        row, target = mt_instance(src, list(tgt), job.cfg.seq_len, job.cfg.tgt_seq_len, ids, frame)
        job.emit(row, target_ids=target)
        if f.pos >= job.end:
            break


def expand(c: dict, cfg) -> dict:
    """UER MtDataloader: (src, tgt_out, seg, tgt_in, tgt_seg), targets tgt_seq_len wide."""
    return encoder_decoder(c["ids"].astype(np.int64), c["length"].astype(np.int64), c["target_ids"],
                           int(cfg.options["tgt_seq_len"]) + 1, cfg)


def uer_tuples(raw: dict, meta):
    """``((src, pad_num), (tgt, tgt_seq_len + 1 - len(tgt)), [length])``."""
    width = int(meta.options["tgt_seq_len"]) + 1
    for i, src, pad in rows_of(raw):
        tgt = raw["target_ids"][i].tolist()
        yield ((src, pad), (tgt, width - len(tgt)), [len(src)])


def _check(cfg, tok) -> None:
    from corpusprep import options as opt

    opt.integer("--tgt-seq-len", cfg.tgt_seq_len, 1, opt.MAX_SEQ_LEN)
    if cfg.uer_compat and cfg.spm is not None and cfg.tgt_spm is None and (cfg.tgt_tokenizer_kind or "bert") == "bert":
        # UER's BertTokenizer(is_src=False) builds its word tokenizer only when the *source* has no
        # spm model: with --spm and a bert --tgt-vocab preprocess.py fails on the first pair.
        raise ZooprepError("--compat uer: UER's preprocess.py cannot tokenize a bert --tgt-vocab target when the "
                           "source uses --spm (it fails on the first pair); use --tgt-tokenizer char/space or --tgt-spm")


def _options(cfg, tok) -> dict:
    from corpusprep.instances.shard_parts import load_target_tokenizer

    return {"tgt_seq_len": cfg.tgt_seq_len, "tgt_tokenizer": load_target_tokenizer(cfg).describe()}


PROCESSOR = DataProcessor(
    name="mt", summary="translation: source<TAB>target lines, the target tokenized with --tgt-vocab / --tgt-spm",
    layout=TAB_LINES, build=build, compat=compat, expand=expand, uer_tuples=uer_tuples,
    columns=("target_ids",), check=_check, options=_options, target_tokenizer=True,
    uer_names=("src", "tgt_out", "seg", "tgt_in", "tgt_seg"))
