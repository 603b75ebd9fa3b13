"""Phase 1 of `clean`: read one work unit, clean and filter its records, spill them by shard.

``process_unit`` is a pure function of (unit, config) apart from the files it writes under
``DIR/.work``; it returns only small statistics, so any executor (local processes, Ray) can run it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from corpusprep.cleaning import ops as o
from corpusprep.cleaning.config import CleanConfig, FilterParams
from corpusprep.cleaning.registry import OPS_BY_NAME
from corpusprep.cleaning.spill import SpillWriter, finish_unit, unit_dir, write_bands

SAMPLE_CHARS = 1000  # prefix of a dropped record kept in DIR/rejects/
BATCH_DOCS = 2048  # documents cleaned together (vectorised checks); bounds memory with BATCH_CHARS
BATCH_CHARS = 8 << 20
_U64 = (1 << 64) - 1
_TWO_53 = float(1 << 53)


@dataclass
class Counts:
    """read = kept + sum(dropped) for one input file."""

    read: int = 0
    kept: int = 0
    dropped: dict = field(default_factory=dict)
    chars_in: int = 0
    chars_out: int = 0
    bytes_out: int = 0

    def drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1


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

    def clean(self, text: str) -> str:
        return self.process([text])[0][0]

    def reject_reason(self, text: str) -> str | None:
        return self.process([text], transform=False)[1][0]

    def process(self, texts: list[str], transform: bool = True) -> tuple[list[str], list[str | None]]:
        """Clean a batch of documents; return (cleaned texts, drop reason or None per document)."""
        from corpusprep.cleaning.batch import pack, repack

        batch = pack(texts)
        out = list(texts)
        if transform and self.transforms:
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


def assign(key_hash: int, num_shards: int, valid_fraction: float) -> tuple[int, int]:
    """(split, shard) from the 128-bit seeded hash of the cleaned text: 0 = train, 1 = validation.

    The shard comes from the high 64 bits and the split from the low 64 bits, so the two are
    independent; equal texts always land together, which lets phase 2 deduplicate per shard.
    """
    shard = (key_hash >> 64) % num_shards
    split = 1 if valid_fraction > 0 and ((key_hash & _U64) >> 11) / _TWO_53 < valid_fraction else 0
    return split, shard


def group_of(split: int, shard: int, num_shards: int) -> int:
    return split * num_shards + shard


def _injected_failure(index: int) -> int | None:
    """Tests simulate a crash mid-unit with ZOOPREP_CLEAN_FAIL_UNIT="<unit index>:<records>"."""
    value = os.environ.get("ZOOPREP_CLEAN_FAIL_UNIT")
    if not value:
        return None
    unit, _, after = value.partition(":")
    return int(after or 0) if int(unit) == index else None


def process_unit(unit, config: CleanConfig) -> dict:
    """Clean one unit into its spill directory; return its stats (also saved as stats.json)."""
    import xxhash

    from corpusprep.readers import read_unit
    from corpusprep.records import Reject

    work = Path(config.out) / ".work"
    directory = unit_dir(work, unit.index)
    cleaner = Cleaner.for_family(config, unit.family)
    hasher = None
    if cleaner.near_dup:
        from corpusprep.cleaning.minhash import MinHasher

        hasher = MinHasher.for_threshold(config.near_dup_threshold, config.num_perm, config.shingle)
    counts = Counts()
    samples: dict[str, list] = {}
    bands: list = []
    k = config.rejects_sample
    seed, num_shards, vf = config.seed, config.num_shards, config.valid_fraction
    h128 = xxhash.xxh3_128_intdigest
    fail_at = _injected_failure(unit.index)

    def sample(reason: str, source: str, line: int, raw: str, cleaned: str | None = None) -> None:
        bucket = samples.setdefault(reason, [])
        if len(bucket) < k:
            entry = {"reason": reason, "source": source, "line": line, "text": raw[:SAMPLE_CHARS]}
            if cleaned is not None:
                entry["cleaned"] = cleaned[:SAMPLE_CHARS]
            bucket.append(entry)

    writer = SpillWriter(directory)
    pending: list = []
    pending_chars = 0
    pos = 0

    def flush() -> None:
        nonlocal pos
        raws = [r.text for r in pending]
        cleaned, reasons = cleaner.process(raws)
        for rec, raw, text, reason in zip(pending, raws, cleaned, reasons):
            counts.chars_in += len(raw)
            if reason is None:
                try:
                    data = text.encode("utf-8")
                except UnicodeEncodeError:  # a lone surrogate survived (controls op turned off)
                    reason = "undecodable"
            if reason is not None:
                counts.drop(reason)
                sample(reason, rec.source, rec.line, raw, text)
                continue
            key_hash = h128(data, seed)
            split, shard = assign(key_hash, num_shards, vf)
            meta = json.dumps(rec.meta, ensure_ascii=False, sort_keys=True) if rec.meta else "{}"
            writer.add(group_of(split, shard, num_shards), text, rec.source, rec.line, meta, pos,
                       key_hash & _U64, cleaner.exact_dup)
            if hasher is not None:
                bands.append(hasher.band_keys(text))
            pos += 1
            counts.kept += 1
            counts.chars_out += len(text)
            counts.bytes_out += len(data)
        pending.clear()

    try:
        for item in read_unit(unit):
            counts.read += 1
            if fail_at is not None and counts.read > fail_at:
                raise RuntimeError(f"injected failure in unit {unit.index}")
            if isinstance(item, Reject):
                counts.drop(item.reason)
                sample(item.reason, item.source, item.line, item.raw)
                continue
            pending.append(item)
            pending_chars += len(item.text)
            if len(pending) >= BATCH_DOCS or pending_chars >= BATCH_CHARS:
                flush()
                pending_chars = 0
        flush()
    except BaseException:
        writer.abort()
        raise
    writer.close()
    if hasher is not None:
        write_bands(directory, bands, hasher.bands)
    stats = {
        "unit": unit.index, "path": unit.path, "family": unit.family, "encoding": unit.encoding,
        "bytes_in": unit_bytes(unit), "read": counts.read, "kept": counts.kept, "dropped": counts.dropped,
        "chars_in": counts.chars_in, "chars_out": counts.chars_out, "bytes_out": counts.bytes_out,
        "near_dup": hasher is not None, "samples": samples,
    }
    finish_unit(directory, stats, config.fingerprint())
    return stats


def unit_bytes(unit) -> int:
    """Input bytes a unit covers (its byte range, or the whole file on disk)."""
    end = unit.end if unit.end is not None else os.path.getsize(unit.path)
    return max(0, end - unit.start)
