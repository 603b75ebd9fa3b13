"""Turn raw shard rows into model batches, for every data processor.

Input: a *raw batch* as ``ShardReader.take`` returns it (2-D ``input_ids``, 1-D ``length`` ...),
or a list of single-row dicts (map-style datasets). Output: a dict of torch int64 tensors named
the Hugging Face way (``names="hf"``) or the UER-py way (``names="uer"``, the tensors of UER's
``str2dataloader[processor]`` in the order its target takes them). What each processor produces is
its module's ``expand`` (corpusprep/instances/data_processors/, table in docs/feed.md); this class
does what they share: masking (dynamic, or the stored static masks) and the two-stage split.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from corpusprep.feed.masking import MaskingConfig, mask_batch, random_id_pool
from corpusprep.feed.shards import ShardMeta
from corpusprep.instances.data_processors import get, names as processor_names

NAME_STYLES = ("hf", "uer")
IGNORE_INDEX = -100


@dataclass(frozen=True)
class CollatorConfig:
    processor: str
    special_ids: dict
    vocab_size: int
    names: str = "hf"  # hf | uer
    masking: MaskingConfig = field(default_factory=MaskingConfig)
    options: dict = field(default_factory=dict)  # zooprep.json processor_options (t5 sentinel id, gsg tgt_seq_len)

    def __post_init__(self):
        if self.processor not in processor_names():
            raise ValueError(f"processor {self.processor!r} is not one of {', '.join(processor_names())}")
        if self.names not in NAME_STYLES:
            raise ValueError(f"names {self.names!r} is not one of {', '.join(NAME_STYLES)}")
        if get(self.processor).masks and self.vocab_size <= max(self.special_ids.values()):
            raise ValueError(f"vocab_size {self.vocab_size} is too small for the special ids {self.special_ids}")

    @classmethod
    def from_meta(cls, meta: ShardMeta, **overrides) -> "CollatorConfig":
        if get(meta.processor).masks and meta.vocab_size <= max(meta.special_ids.values()):
            from corpusprep.errors import ZooprepError

            raise ZooprepError(f"zooprep.json gives no usable tokenizer.vocab_size ({meta.vocab_size}); "
                               "dynamic masking needs it to draw random replacement ids")
        kw = dict(processor=meta.processor, special_ids=meta.special_ids, vocab_size=meta.vocab_size,
                  options=meta.options)
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
        self.processor = get(cfg.processor)
        self._pool = random_id_pool(cfg.vocab_size, cfg.special_ids) if self.processor.masks else None
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
        if self.processor.masks:
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
        for name in self.processor.columns:  # the processor's own columns travel as they are
            if name in batch:
                v = batch[name]
                out[name] = v if isinstance(v, list) else np.asarray(v)
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
        """Compact batch -> the named int64 arrays of the processor (see its module)."""
        cols = self.processor.expand(c, self.cfg)
        out = {k: np.ascontiguousarray(v, dtype=np.int64) for k, v in cols.items()}
        if "index" in c:
            out["index"] = c["index"]
        return out
