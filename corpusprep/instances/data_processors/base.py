"""What one data processor is: everything `shard`, `--compat uer`, the collator and `export` need.

A processor module builds one :class:`DataProcessor` and registers it (``__init__.py``). Shared
pieces of the feed side (label matrices, segment ids, UER tuple helpers) live here so the modules
only state what is particular to their objective.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from corpusprep.instances.format import MASK_COLUMNS
from corpusprep.instances.sources import LINES, SENTENCES  # noqa: F401  (the text layouts, re-exported)

IGNORE_INDEX = -100

TAB_LINES = "tab_lines"  # label<TAB>text... / source<TAB>target lines; cut into units like LINES


@dataclass(frozen=True)
class DataProcessor:
    """One objective. Workers look it up by name (``get``), so it never travels between processes."""

    name: str
    summary: str  # one line: `shard --help`, docs/shard.md
    layout: str  # LINES | SENTENCES | TAB_LINES (text input; Parquet is read per processor)
    build: Callable  # (ctx, unit, emit, stats, tally) -> None: the parallel, deterministic builder
    compat: Callable  # (job: compat_uer.CompatJob) -> None: UER's worker loop restated
    expand: Callable  # (compact: dict, cfg: CollatorConfig) -> dict of int64 arrays
    uer_tuples: Callable  # (raw batch, meta: ShardMeta) -> iterator of UER dataset.pt instances
    columns: tuple[str, ...] = ()  # stored besides input_ids, length (and masks / word starts)
    masked_lm: bool = False  # static masking, whole-word starts and the collator's masking apply
    dynamic_mask: bool = False  # the collator masks although the targets are not masked-LM labels (t5, bart)
    extra_row: int = 0  # row_len = seq_len + extra_row
    min_seq_len: int = 2
    dup_passes: bool = False  # UER repeats the corpus --dup-factor times
    dup_without_static: bool = False  # ... also without static masking (the copies are reshuffled)
    export_as: tuple[str, ...] = ()  # other processors a shard of this one can be exported as
    hf_labels: tuple[tuple[str, str], ...] = ()  # (stored label column, its Hugging Face name)
    check: Callable | None = None  # (cfg, tok) -> None: option checks that need the tokenizer
    options: Callable | None = None  # (cfg, tok) -> dict recorded as zooprep.json processor_options
    uer_names: tuple[str, ...] = field(default=())  # tensor names of UER's dataloader, for the docs
    target_tokenizer: bool = False  # mt: a second tokenizer for the target side (--tgt-vocab / --tgt-spm)

    def row_len(self, seq_len: int) -> int:
        return seq_len + self.extra_row

    def column_names(self, static_masking: bool, whole_word: bool) -> list[str]:
        cols = ["input_ids", "length", *self.columns]
        if static_masking and self.masked_lm:
            cols += list(MASK_COLUMNS)
        if whole_word and (self.masked_lm or self.dynamic_mask):
            cols.append("word_starts")
        return cols

    @property
    def masks(self) -> bool:
        """Whether the collator draws masks for this processor."""
        return self.masked_lm or self.dynamic_mask


# ---------------------------------------------------------------- feed-side helpers ------------------

def positions(width: int) -> np.ndarray:
    return np.arange(width)[None, :]


def real_mask(lengths: np.ndarray, width: int) -> np.ndarray:
    return positions(width) < lengths[:, None]


def mlm_labels(c: dict, shape: tuple[int, int], names: str) -> np.ndarray:
    """Dense masked-LM targets: the original id at chosen positions, else 0 (UER) or -100 (HF)."""
    labels = np.full(shape, 0 if names == "uer" else IGNORE_INDEX, dtype=np.int64)
    labels.reshape(-1)[c["label_pos"]] = c["label_val"]
    return labels


def pair_segments(lengths: np.ndarray, seg_a: np.ndarray | None, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(real positions, positions of the second segment) for rows with ``seg_a_len``."""
    real = real_mask(lengths, width)
    second = real & (positions(width) >= seg_a[:, None]) if seg_a is not None else np.zeros_like(real)
    return real, second


def pad_ragged(rows: list[list[int]], pad: int, width: int | None = None) -> np.ndarray:
    """Python lists -> one int64 matrix padded with ``pad`` to the longest row (or ``width``)."""
    n = width if width is not None else max((len(r) for r in rows), default=0)
    out = np.full((len(rows), n), pad, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r[:n]
    return out


def masked_pairs(raw: dict, i: int) -> list[tuple[int, int]]:
    """UER's static target list ``[(position, original id), ...]`` of row ``i``."""
    return list(zip(raw["masked_positions"][i].tolist(), raw["masked_labels"][i].tolist()))


def rows_of(raw: dict) -> Iterator[tuple[int, list[int], int]]:
    """(row number, unpadded ids, padding count) for every row of a raw batch."""
    ids = raw["input_ids"]
    width = ids.shape[1]
    for i, n in enumerate(raw["length"].tolist()):
        yield i, ids[i, :n].tolist(), width - n
