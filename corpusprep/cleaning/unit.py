"""Phase 1 of `clean`: read one work unit, clean and filter its records, spill them by shard.

``process_unit`` is a pure function of (unit, config) apart from the files it writes under
``DIR/.work``; it returns only small statistics, so any executor (local processes, Ray) can run it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from corpusprep.cleaning.config import CleanConfig, FilterParams
from corpusprep.cleaning.registry import OPS_BY_NAME
from corpusprep.cleaning.spill import SpillWriter, finish_unit, unit_dir, write_bands

SAMPLE_CHARS = 1000  # prefix of a dropped record kept in DIR/rejects/
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
    """The resolved pipeline for one family: transforms, then filters, with their thresholds."""

    transforms: tuple
    filters: tuple
    params: FilterParams
    exact_dup: bool
    near_dup: bool

    @classmethod
    def for_family(cls, config: CleanConfig, family: str) -> "Cleaner":
        names = config.ops_for(family)
        ops = [OPS_BY_NAME[n] for n in names]
        return cls(tuple(op.fn for op in ops if op.kind == "transform"),
                   tuple(op.fn for op in ops if op.kind == "filter"),
                   config.params_for(family), "exact_dup" in names, "near_dup" in names)

    def clean(self, text: str) -> str:
        for fn in self.transforms:
            text = fn(text)
        return text

    def reject_reason(self, text: str) -> str | None:
        if not text or not text.strip():
            return "empty"
        for fn in self.filters:
            reason = fn(text, self.params)
            if reason is not None:
                return reason
        return None


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
    pos = 0
    try:
        for item in read_unit(unit):
            counts.read += 1
            if fail_at is not None and counts.read > fail_at:
                raise RuntimeError(f"injected failure in unit {unit.index}")
            if isinstance(item, Reject):
                counts.drop(item.reason)
                sample(item.reason, item.source, item.line, item.raw)
                continue
            raw = item.text
            counts.chars_in += len(raw)
            text = cleaner.clean(raw)
            reason = cleaner.reject_reason(text)
            if reason is not None:
                counts.drop(reason)
                sample(reason, item.source, item.line, raw, text)
                continue
            data = text.encode("utf-8")
            key_hash = h128(data, seed)
            split, shard = assign(key_hash, num_shards, vf)
            meta = json.dumps(item.meta, ensure_ascii=False, sort_keys=True) if item.meta else "{}"
            writer.add(group_of(split, shard, num_shards), text, item.source, item.line, meta, pos,
                       key_hash & _U64, cleaner.exact_dup)
            if hasher is not None:
                bands.append(hasher.band_keys(text))
            pos += 1
            counts.kept += 1
            counts.chars_out += len(text)
            counts.bytes_out += len(data)
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
