"""The cleaning pipeline of one corpus family, applied to batches of documents."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from corpusprep.cleaning import ops as o
from corpusprep.cleaning.config import CleanConfig, FilterParams
from corpusprep.cleaning.registry import OPS_BY_NAME


@dataclass(frozen=True)
class Cleaner:
    """The resolved pipeline for one family: transforms, then filters, with their thresholds.

    Works on batches: one vectorised pass (corpusprep.cleaning.batch) finds which documents can
    be touched by which op, so clean documents skip the per-document regex work entirely.
    """

    transforms: tuple[tuple[str, Callable], ...]
    filters: tuple[str, ...]
    params: FilterParams
    exact_dup: bool
    near_dup: bool

    @classmethod
    def for_family(cls, config: CleanConfig, family: str) -> "Cleaner":
        names = config.ops_for(family)
        ops = [OPS_BY_NAME[n] for n in names]
        return cls(tuple((op.name, op.fn) for op in ops if op.kind == "transform"),
                   tuple(op.name for op in ops if op.kind == "filter"),
                   config.params_for(family), "exact_dup" in names, "near_dup" in names)

    def process(self, texts: list[str]) -> tuple[list[str], list[str | None]]:
        """Clean a batch of documents; return (cleaned texts, drop reason or None per document)."""
        from corpusprep.cleaning.batch import pack, repack

        batch = pack(texts)
        out = list(texts)
        if self.transforms:
            changed = self._transform(batch, out)
            batch = repack(batch, out, changed)
        return out, self._reasons(batch, out)

    def _transform(self, batch, out: list[str]) -> list[int]:
        from corpusprep.cleaning.batch import triggers

        need = triggers(batch)
        masks = [need.get(name) for name, _ in self.transforms]
        touched = np.zeros(len(out), dtype=bool)
        for m in masks:
            touched = touched | m if m is not None else np.ones(len(out), dtype=bool)
        idx = np.flatnonzero(touched).tolist()
        flags = [m[idx].tolist() if m is not None else None for m in masks]
        steps = [(fn, o.UNCHECKED.get(name), f) for (name, fn), f in zip(self.transforms, flags)]
        changed = []
        for j, i in enumerate(idx):
            text = original = out[i]
            dirty = False
            for fn, body, f in steps:
                if f is not None and not dirty:
                    if not f[j]:
                        continue  # the batch check says this op has nothing to do here
                    new = body(text) if body is not None else fn(text)
                else:
                    new = fn(text)
                if new is not text:
                    text, dirty = new, True
            if dirty and text != original:
                out[i] = text
                changed.append(i)
        return changed

    def _reasons(self, batch, texts: list[str]) -> list[str | None]:
        """The first failing filter per document (None = keep); an empty document is 'empty'."""
        from corpusprep.cleaning.batch import chinese_share_of, run_share_of

        p = self.params
        n = len(texts)
        lengths = np.diff(batch.bounds)
        reason = np.zeros(n, dtype=np.int8)  # index into names; 0 = keep
        names: list[str | None] = [None, "empty"]
        blank = np.array([not t or t.isspace() for t in texts], dtype=bool)
        reason[blank] = 1

        def mark(code_name: str, fail: np.ndarray) -> None:
            names.append(code_name)
            reason[(reason == 0) & fail] = len(names) - 1

        for name in self.filters:
            if name == "min_length":
                mark("too_short", lengths < max(1, p.min_chars))
            elif name == "max_length":
                mark("too_long", (lengths > p.max_chars) if p.max_chars else np.zeros(n, dtype=bool))
            elif name == "chinese_share":
                mark("low_chinese_share", chinese_share_of(batch) < p.min_chinese_share)
            elif name == "char_spam":
                mark("char_spam", run_share_of(batch) > p.max_char_run_share)
            else:  # per-document filters (line_spam): only documents still kept are checked
                fn = OPS_BY_NAME[name].fn
                results = {i: fn(texts[i], p) for i in np.flatnonzero(reason == 0).tolist()}
                for r in sorted({r for r in results.values() if r is not None}):
                    names.append(r)
                    code = len(names) - 1
                    for i, got in results.items():
                        if got == r:
                            reason[i] = code
        return [names[c] for c in reason.tolist()]
