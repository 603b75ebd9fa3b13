"""Torch datasets over a shard directory, and a resumable loader.

- :class:`ShardDataset`: map-style (``ds[i]``, ``ds.__getitems__(idx)``) for people with their own
  sampler; pair it with :class:`~corpusprep.feed.collate.PretrainCollator` as ``collate_fn``.
- :class:`PretrainStream`: an IterableDataset that yields ready, masked batches for one rank.
  Batches form one sequence per rank, (epoch 0, batch 0), (epoch 0, batch 1), ...; DataLoader worker
  w of K builds the batches whose sequence number is w mod K, and the DataLoader hands batches out
  round-robin, so the order seen by the trainer is the same for any worker count. Masking uses a
  generator seeded from (seed, epoch, rank, batch): the same batch is masked the same way whatever
  the worker count and after a resume.
- :class:`FeedLoader`: wraps a DataLoader over the stream, counts the batches it handed out, and
  saves/restores that position (``state_dict`` / ``load_state_dict``). A resumed job sees exactly the
  batches that had not been handed out yet (prefetched but unused batches are rebuilt).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from corpusprep.errors import ZooprepError
from corpusprep.feed.collate import CollatorConfig, PretrainCollator, to_torch
from corpusprep.feed.masking import MaskingConfig
from corpusprep.feed.order import RankOrder, batch_rng
from corpusprep.feed.shards import ShardReader

# This module is torch's by nature (Dataset subclasses); the CLI never imports it.
from torch.utils.data import Dataset as _TorchDataset, IterableDataset as _TorchIterable


class ShardDataset(_TorchDataset):
    """Map-style view: ``ds[i]`` is one row as numpy values; ``ds.__getitems__(idx)`` a raw batch."""

    def __init__(self, directory: str | Path, split: str | None = None):
        self.reader = ShardReader(directory, split)
        self.meta = self.reader.meta

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, i: int) -> dict:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return {k: v[0] for k, v in self.reader.take([i % len(self)]).items()}

    def __getitems__(self, indices) -> dict:
        return self.reader.take(indices)

    def collator(self, names: str = "hf", masking: MaskingConfig | None = None, seed: int = 0) -> PretrainCollator:
        return _collator(self.meta, names, masking, seed)


def _collator(meta, names: str, masking: MaskingConfig | None, seed: int = 0) -> PretrainCollator:
    """The collator for ``meta``; ``masking=None`` keeps from_meta's default (whole-word when word_starts exist)."""
    extra = {"names": names} | ({"masking": masking} if masking else {})
    return PretrainCollator(CollatorConfig.from_meta(meta, **extra), seed=seed)


@dataclass(frozen=True)
class StreamConfig:
    directory: str
    batch_size: int = 32
    seed: int = 0
    rank: int = 0
    world_size: int = 1
    shuffle: bool = True
    remainder: str = "pad"  # pad | drop | uneven (see corpusprep.feed.order)
    drop_last_batch: bool = False
    epochs: int | None = None  # None: run forever (train by steps, as UER's pretrain.py)
    names: str = "hf"
    masking: MaskingConfig | None = None  # None: token masking, or whole-word when word_starts exist
    start_epoch: int = 0
    start_batch: int = 0
    with_index: bool = False  # add an "index" tensor (global row ids) to every batch
    split: str | None = None  # a --validation-* shard's split (default: train)


class PretrainStream(_TorchIterable):
    """Masked batches for one rank, in a deterministic order; see the module docstring."""

    def __init__(self, cfg: StreamConfig, reader=None):
        self.cfg = cfg
        # ``reader``: anything with ShardReader's meta / __len__ / take (tests, in-memory rows)
        self.reader = reader if reader is not None else ShardReader(cfg.directory, cfg.split)
        self.meta = self.reader.meta
        if len(self.reader) == 0:
            raise ZooprepError(f"{cfg.directory}: the shard directory holds no rows")
        self.order = RankOrder(len(self.reader), cfg.batch_size, cfg.seed, cfg.rank, cfg.world_size,
                               cfg.shuffle, cfg.remainder, cfg.drop_last_batch)
        if self.order.batches_per_epoch == 0:
            raise ZooprepError(f"{cfg.directory}: {len(self.reader)} rows give rank {cfg.rank} no full batch of {cfg.batch_size}")
        self.collate = _collator(self.meta, cfg.names, cfg.masking)
        self._epoch, self._batch = cfg.start_epoch, cfg.start_batch
        self.send_compact = False  # set by FeedLoader, which expands batches in the main process
        # word starts are only read when whole-word masking uses them
        self._skip = frozenset() if self.collate.cfg.masking.mode == "whole_word" else frozenset({"word_starts"})

    def batch_at(self, epoch: int, batch: int) -> dict:
        """Build batch ``batch`` of ``epoch`` for this rank (pure function of the config)."""
        return to_torch(self.numpy_batch_at(epoch, batch))

    def numpy_batch_at(self, epoch: int, batch: int) -> dict:
        return self.collate.expand(self.compact_batch_at(epoch, batch))

    def compact_batch_at(self, epoch: int, batch: int) -> dict:
        rows = self.order.rows(epoch, batch)
        rng = batch_rng(self.cfg.seed, epoch, self.cfg.rank, batch)
        out = self.collate.compact(self.reader.take(rows, self._skip), rng)
        if self.cfg.with_index:
            out["index"] = rows
        return out

    def positions(self, start: tuple[int, int], worker: int = 0, workers: int = 1):
        """(epoch, batch) pairs from ``start`` on, every ``workers``-th one starting at ``worker``."""
        per_epoch = self.order.batches_per_epoch
        g = start[0] * per_epoch + start[1] + worker
        while self.cfg.epochs is None or g < self.cfg.epochs * per_epoch:
            yield divmod(g, per_epoch)
            g += workers

    def __iter__(self):
        from torch.utils.data import get_worker_info

        info = get_worker_info()
        start = (self._epoch, self._batch)
        if info is None:  # in-process: track the position ourselves
            for epoch, batch in self.positions(start):
                self._epoch, self._batch = divmod(epoch * self.order.batches_per_epoch + batch + 1,
                                                  self.order.batches_per_epoch)
                yield self.batch_at(epoch, batch)
            return
        # In a worker: numpy arrays travel through the result pipe much faster than torch's
        # per-tensor shared-memory files; FeedLoader (or DataLoader's default_convert) makes tensors.
        # Under FeedLoader the worker sends the compact form and the loader expands it.
        build = self.compact_batch_at if self.send_compact else self.numpy_batch_at
        for epoch, batch in self.positions(start, info.id, info.num_workers):
            yield build(epoch, batch)

    # -- resume ------------------------------------------------------------------------------
    def _source(self) -> dict:
        """What rows the reader serves: a shard's processor and length, or a view's cut options."""
        meta = self.reader.meta
        source = {"processor": meta.processor, "seq_len": meta.seq_len}
        view = getattr(self.reader, "view", None)
        if view is not None:
            source.update(full_sentences=bool(view.full_sentences), docs_buffer_size=int(view.docs_buffer_size))
        return source

    def state_dict(self) -> dict:
        c = self.cfg
        return {"epoch": self._epoch, "batch": self._batch, "seed": c.seed, "rank": c.rank,
                "world_size": c.world_size, "batch_size": c.batch_size, "rows": len(self.reader),
                "shuffle": c.shuffle, "remainder": c.remainder, "drop_last_batch": c.drop_last_batch,
                "source": self._source()}

    def load_state_dict(self, state: dict) -> None:
        mine = self.state_dict()
        # "source": two views (or a view and a shard) can have the same number of rows; states saved
        # before it was recorded are compared without it.
        fixed = ("seed", "world_size", "batch_size", "rows", "shuffle", "remainder", "drop_last_batch",
                 *(("source",) if "source" in state else ()))
        diff = {k: (state.get(k), mine[k]) for k in fixed if state.get(k) != mine[k]}
        if diff:
            raise ZooprepError(f"{self.cfg.directory}: cannot resume, the saved loader state differs in "
                               + ", ".join(f"{k} (saved {a}, now {b})" for k, (a, b) in diff.items()))
        try:
            epoch, batch = int(state["epoch"]), int(state["batch"])
        except (KeyError, TypeError, ValueError):
            epoch = batch = -1
        if epoch < 0 or batch < 0:  # an edited or foreign state: the order has no negative positions
            raise ZooprepError(f"{self.cfg.directory}: cannot resume, the saved loader state has epoch "
                               f"{state.get('epoch')!r}, batch {state.get('batch')!r} (need integers >= 0)")
        self._epoch, self._batch = epoch, batch

    def advanced(self, n: int) -> tuple[int, int]:
        per = self.order.batches_per_epoch
        return divmod(self._epoch * per + self._batch + n, per)


def _keep_numpy(batch):
    return batch


class FeedLoader:
    """A DataLoader over a :class:`PretrainStream` that knows how far the trainer has got.

    ``for batch in loader`` continues from the saved position; ``loader.state_dict()`` after k
    batches, given to ``load_state_dict`` in a new process, makes it continue with batch k + 1.
    """

    def __init__(self, cfg: StreamConfig, num_workers: int = 0, pin_memory: bool = False,
                 prefetch_factor: int | None = None, reader=None):
        self.stream = PretrainStream(cfg, reader)
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.prefetch_factor = prefetch_factor

    @property
    def meta(self):
        return self.stream.meta

    def __iter__(self):
        import torch
        from torch.utils.data import DataLoader

        kw = {"prefetch_factor": self.prefetch_factor} if self.num_workers and self.prefetch_factor else {}
        if self.num_workers == 0:
            yield from self.stream
            return
        self.stream.send_compact = True
        # Its own generator: DataLoader would otherwise draw worker seeds from the global torch RNG
        # and shift the trainer's dropout stream by the worker count (our batches do not use them).
        loader = DataLoader(self.stream, batch_size=None, num_workers=self.num_workers,
                            collate_fn=_keep_numpy, generator=torch.Generator(), **kw)
        for batch in loader:
            # Advance before yielding: a state_dict taken while the trainer holds this batch
            # counts it as consumed.
            self.stream._epoch, self.stream._batch = self.stream.advanced(1)
            batch = to_torch(self.stream.collate.expand(batch))
            yield {k: v.pin_memory() for k, v in batch.items()} if self.pin_memory else batch

    def state_dict(self) -> dict:
        return self.stream.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.stream.load_state_dict(state)
