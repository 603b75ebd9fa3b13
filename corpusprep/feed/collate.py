"""Turn raw shard rows into model batches for the mlm, bert, albert and lm processors.

Input: a *raw batch* as ``ShardReader.take`` returns it (2-D ``input_ids``, 1-D ``length`` ...),
or a list of single-row dicts (map-style datasets). Output: a dict of torch int64 tensors named
the Hugging Face way (``names="hf"``) or the UER-py way (``names="uer"``):

| processor | hf | uer |
|---|---|---|
| mlm | input_ids, attention_mask, token_type_ids (0), labels (-100 = not masked) | src, tgt (0 = not masked), seg (1 / 0 pad) |
| bert | + next_sentence_label, token_type_ids 0/1 | + tgt_sp, seg 1 / 2 / 0 pad |
| albert | + sentence_order_label | + tgt_sp |
| lm | input_ids = ids[:-1], labels = ids[1:] (-100 past the end), attention_mask | src, tgt, seg (UER's lm rule) |
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from corpusprep.feed.masking import MaskingConfig, mask_batch, random_id_pool
from corpusprep.feed.shards import PROCESSORS, ShardMeta

NAME_STYLES = ("hf", "uer")
IGNORE_INDEX = -100


@dataclass(frozen=True)
class CollatorConfig:
    processor: str
    special_ids: dict
    vocab_size: int
    names: str = "hf"  # hf | uer
    masking: MaskingConfig = field(default_factory=MaskingConfig)

    def __post_init__(self):
        if self.processor not in PROCESSORS:
            raise ValueError(f"processor {self.processor!r} is not one of {', '.join(PROCESSORS)}")
        if self.names not in NAME_STYLES:
            raise ValueError(f"names {self.names!r} is not one of {', '.join(NAME_STYLES)}")
        if self.processor != "lm" and self.vocab_size <= max(self.special_ids.values()):
            raise ValueError(f"vocab_size {self.vocab_size} is too small for the special ids {self.special_ids}")

    @classmethod
    def from_meta(cls, meta: ShardMeta, **overrides) -> "CollatorConfig":
        if meta.processor != "lm" and meta.vocab_size <= max(meta.special_ids.values()):
            from corpusprep.errors import ZooprepError

            raise ZooprepError(f"zooprep.json gives no usable tokenizer.vocab_size ({meta.vocab_size}); "
                               "dynamic masking needs it to draw random replacement ids")
        kw = dict(processor=meta.processor, special_ids=meta.special_ids, vocab_size=meta.vocab_size)
        if meta.whole_word and "masking" not in overrides:
            kw["masking"] = MaskingConfig(mode="whole_word")
        kw.update(overrides)
        return cls(**kw)


def stack_rows(rows: list[dict]) -> dict:
    """A list of single-row dicts (``ShardDataset[i]``) -> one raw batch."""
    out: dict = {}
    for key in rows[0]:
        vals = [r[key] for r in rows]
        out[key] = np.stack(vals) if key == "input_ids" else (vals if isinstance(vals[0], np.ndarray) else np.asarray(vals))
    return out


def to_torch(batch: dict) -> dict:
    """numpy arrays -> torch tensors sharing their memory."""
    import torch

    return {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in batch.items()}


class PretrainCollator:
    """Callable ``(raw_batch, rng=None) -> dict of tensors``. Pass a seeded numpy Generator for
    reproducible masking (the stream does, one per batch); without one an internal generator is used."""

    def __init__(self, cfg: CollatorConfig, seed: int = 0):
        self.cfg = cfg
        self._pool = random_id_pool(cfg.vocab_size, cfg.special_ids) if cfg.processor != "lm" else None
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._rng_worker_seed = None

    def __call__(self, batch, rng: np.random.Generator | None = None) -> dict:
        return to_torch(self.numpy(batch, rng))

    def numpy(self, batch, rng: np.random.Generator | None = None) -> dict:
        """Like calling the collator, but int64 numpy arrays."""
        return self.expand(self.compact(batch, rng))

    # Two stages, so that DataLoader workers send ~10x fewer bytes: ``compact`` (the random part:
    # masked ids as uint16 where they fit, lengths, the chosen positions and their original ids)
    # runs in the worker; ``expand`` (dense labels, masks, segment ids) runs where the batch is used.
    def compact(self, batch, rng: np.random.Generator | None = None) -> dict:
        if isinstance(batch, list):
            batch = stack_rows(batch)
        rng = rng if rng is not None else self._default_rng()
        cfg = self.cfg
        ids = np.asarray(batch["input_ids"], dtype=np.int64)
        lengths = np.asarray(batch["length"])
        out: dict = {"length": lengths.astype(np.int32)}
        if cfg.processor != "lm":
            b, width = ids.shape
            if "masked_positions" in batch:  # static masking: ids are already masked, labels are stored
                rows = np.repeat(np.arange(b), [len(p) for p in batch["masked_positions"]])
                cols = np.concatenate(batch["masked_positions"]).astype(np.int64) if rows.size else rows
                flat = rows * width + cols
                values = np.concatenate(batch["masked_labels"]) if rows.size else rows
            else:
                ids, flat = mask_batch(ids, lengths, cfg.special_ids, self._pool, cfg.masking, rng,
                                       batch.get("word_starts"))
                values = np.asarray(batch["input_ids"]).reshape(-1)[flat]
            out["label_pos"] = flat.astype(np.int64)
            out["label_val"] = np.asarray(values, dtype=np.int32)
            pair = {"bert": "nsp_label", "albert": "sop_label"}.get(cfg.processor)
            if pair and "seg_a_len" in batch:
                out["seg_a_len"] = np.asarray(batch["seg_a_len"], dtype=np.int32)
            if pair and pair in batch:
                out["pair_label"] = np.asarray(batch[pair], dtype=np.int8)
        out["ids"] = ids.astype(np.uint16) if ids.size and ids.max() < 65536 and ids.min() >= 0 else ids.astype(np.int32)
        return out

    def _default_rng(self) -> np.random.Generator:
        """Without an explicit generator: one per DataLoader worker and epoch (torch gives every
        worker its own seed each epoch), so workers never repeat each other's masks as UER's do."""
        from torch.utils.data import get_worker_info

        info = get_worker_info()
        if info is not None and self._rng_worker_seed != info.seed:
            self._rng_worker_seed = info.seed
            self._rng = np.random.default_rng((self.seed, info.seed))
        return self._rng

    def expand(self, c: dict) -> dict:
        """Compact batch -> the named int64 arrays (see the module docstring)."""
        cols = self._lm(c) if self.cfg.processor == "lm" else self._masked(c)
        out = {k: np.ascontiguousarray(v, dtype=np.int64) for k, v in cols.items()}
        if "index" in c:
            out["index"] = c["index"]
        return out

    # -- masked language model processors -------------------------------------------------
    def _masked(self, c: dict) -> dict:
        cfg = self.cfg
        src = c["ids"].astype(np.int64)
        lengths = c["length"].astype(np.int64)
        b, width = src.shape
        labels = np.full((b, width), 0 if cfg.names == "uer" else IGNORE_INDEX, dtype=np.int64)
        labels.reshape(-1)[c["label_pos"]] = c["label_val"]
        pos = np.arange(width)[None, :]
        real = pos < lengths[:, None]
        if "seg_a_len" in c:
            second = real & (pos >= c["seg_a_len"].astype(np.int64)[:, None])
        else:
            second = np.zeros_like(real)
        if cfg.names == "uer":
            out = {"src": src, "tgt": labels, "seg": real.astype(np.int64) + second}
            if "pair_label" in c:
                out["tgt_sp"] = c["pair_label"]
            return out
        out = {"input_ids": src, "attention_mask": real, "token_type_ids": second, "labels": labels}
        if "pair_label" in c:
            out["next_sentence_label" if cfg.processor == "bert" else "sentence_order_label"] = c["pair_label"]
        return out

    # -- causal language model ---------------------------------------------------------------
    def _lm(self, c: dict) -> dict:
        ids = c["ids"].astype(np.int64)
        lengths = c["length"].astype(np.int64)
        seq = ids.shape[1] - 1
        pos = np.arange(seq)[None, :]
        src, tgt = ids[:, :-1], ids[:, 1:]
        if self.cfg.names == "uer":
            # UER: seg_pos = seq_length for full pieces, else the piece length; seg = 1 up to there.
            return {"src": src, "tgt": tgt, "seg": (pos < np.minimum(lengths, seq)[:, None]).astype(np.int64)}
        labels = np.where(pos + 1 < lengths[:, None], tgt, IGNORE_INDEX)
        return {"input_ids": src, "attention_mask": pos < lengths[:, None], "labels": labels}
