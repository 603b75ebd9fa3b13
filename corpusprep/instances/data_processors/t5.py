"""t5: span corruption with sentinel tokens. Rows as mlm (UER's T5Dataset is MlmDataset); the
collator masks (or reads static masks) and rewrites every masked run as one sentinel, as UER's
T5Dataloader: input ``a <extra_id_0> d <extra_id_1> ...``, target ``[CLS] <extra_id_0> b c <extra_id_1> ... [SEP]``.
"""
from __future__ import annotations

import numpy as np

from corpusprep.errors import ZooprepError
from corpusprep.instances.data_processors import mlm
from corpusprep.instances.data_processors.base import IGNORE_INDEX, LINES, DataProcessor, pad_ragged

SENTINEL_TOKEN = "<extra_id_0>"  # UER's special_tokens_map sentinel_token; later sentinels have consecutive ids


def sentinel_id(tok) -> int:
    sid = tok.convert_tokens_to_ids([SENTINEL_TOKEN])[0]
    if sid == tok.special_ids["unk"]:
        raise ZooprepError(f"--processor t5 needs a vocab with sentinel tokens ({SENTINEL_TOKEN}, <extra_id_1>, ... "
                           "with consecutive ids), e.g. google_zh_with_sentinel_vocab.txt")
    second = tok.convert_tokens_to_ids(["<extra_id_1>"])[0]
    if second != tok.special_ids["unk"] and second != sid + 1:
        raise ZooprepError(f"--processor t5: <extra_id_1> has id {second}, not {sid + 1}; UER's T5 loader "
                           "numbers sentinels from <extra_id_0> consecutively")
    return sid


def corrupt(src: list[int], masked: list[tuple[int, int]], ids: dict, first_sentinel: int, vocab_size: int):
    """UER T5Dataloader for one row: (input with sentinels, decoder input). ``src`` is the padded
    row after masking, ``masked`` the sorted (position, original id) targets."""
    pad = ids["pad"]
    # Every chosen position counts as masked, whatever the 80/10/10 draw put there (UER sets them
    # to [MASK] and then looks for [MASK]; we look at the positions, so a literal [MASK] in the
    # text cannot shift the targets).
    chosen = {p for p, _ in masked}
    sentinel = first_sentinel
    tgt_in = [ids["cls"]]
    out: list[int] = []
    k = 0
    for j, t in enumerate(src):
        if j in chosen:
            if not (out and out[-1] == sentinel - 1):
                out.append(sentinel)
                tgt_in.append(sentinel)
                if sentinel < vocab_size - 1:
                    sentinel += 1
            tgt_in.append(masked[k][1])
            k += 1
        else:
            out.append(t)
    tgt_in += [sentinel, ids["sep"]]
    out += [pad] * (len(src) - len(out))
    return out, tgt_in


def expand(c: dict, cfg) -> dict:
    src = c["ids"].astype(np.int64)
    lengths = c["length"].astype(np.int64)
    b, width = src.shape
    first = int(cfg.options["sentinel_id"])
    pos, val = c["label_pos"], c["label_val"]
    row_of = pos // width
    inputs, tgt_in = [], []
    for i in range(b):
        sel = row_of == i
        masked = list(zip((pos[sel] % width).tolist(), val[sel].tolist()))
        a, t = corrupt(src[i].tolist(), masked, cfg.special_ids, first, cfg.vocab_size)
        inputs.append(a)
        tgt_in.append(t)
    pad = cfg.special_ids["pad"]
    dec_in = pad_ragged(tgt_in, pad)
    dec_out = pad_ragged([t[1:] + [pad] for t in tgt_in], pad)
    dec_mask = pad_ragged([[1] * len(t) for t in tgt_in], 0)
    enc = np.asarray(inputs, dtype=np.int64).reshape(b, width)
    if cfg.names == "uer":
        # UER marks the original length as the segment, not the shorter sentinel input.
        seg = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
        return {"src": enc, "tgt_out": dec_out, "seg": seg, "tgt_in": dec_in, "tgt_seg": dec_mask}
    labels = np.where(dec_mask.astype(bool), dec_out, IGNORE_INDEX)
    return {"input_ids": enc, "attention_mask": enc != pad, "labels": labels,
            "decoder_input_ids": dec_in, "decoder_attention_mask": dec_mask}


def _options(cfg, tok) -> dict:
    return {"sentinel_id": sentinel_id(tok)}


PROCESSOR = DataProcessor(
    name="t5", summary="T5 span corruption: mlm rows; the loader turns masked spans into <extra_id_N> sentinels",
    layout=LINES, build=mlm.build, compat=mlm.compat, expand=expand, uer_tuples=mlm.uer_tuples,
    masked_lm=True, dup_passes=True, check=lambda cfg, tok: sentinel_id(tok), options=_options,
    uer_names=("src", "tgt_out", "seg", "tgt_in", "tgt_seg"))
