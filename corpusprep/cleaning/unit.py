"""Phase 1 of `clean`: read a package of work units, clean and filter the records, spill them by shard.

``process_package`` is a pure function of (package, config) apart from the files it writes under
``DIR/.work``; it returns only small statistics, so any executor (local processes, Ray) can run it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from corpusprep.cleaning import ops as o
from corpusprep.cleaning.config import CleanConfig, FilterParams
from corpusprep.cleaning.registry import OPS_BY_NAME
from corpusprep.cleaning.spill import SpillWriter, finish_unit, package_dir, write_bands

SAMPLE_CHARS = 1000  # prefix of a dropped record kept in DIR/rejects/
BATCH_DOCS = 2048  # documents cleaned together (vectorised checks); bounds memory with BATCH_CHARS
BATCH_CHARS = 8 << 20
_U64 = (1 << 64) - 1
_TWO_53 = float(1 << 53)
# Compact, key-sorted JSON for the `meta` column. orjson is ~8x faster; what it refuses (integers
# beyond 64 bits) goes through one shared stdlib encoder with the same compact layout.
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode
try:
    import orjson

    _ORJSON_OPT = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
except ImportError:  # pragma: no cover - orjson is a declared dependency
    orjson = None


def meta_json(meta: dict) -> str:
    if orjson is not None:
        try:
            return orjson.dumps(meta, option=_ORJSON_OPT).decode()
        except TypeError:
            pass
    return _JSON(meta)


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


@dataclass(frozen=True)
class Package:
    """Consecutive reader units cleaned by one task into one spill directory.

    Small files (a chapter, a poem collection) are packed together so the per-task costs (spill
    files, markers, checksums) are paid per ~PACK_BYTES, not per file. Packing depends only on the
    unit plan, and output order is (unit, record) order however units are packed.
    """

    index: int
    units: tuple


def make_packages(units: list, target_bytes: int) -> list[Package]:
    packages, current, size = [], [], 0
    for unit in units:
        current.append(unit)
        size += unit_bytes(unit)
        if size >= target_bytes:
            packages.append(Package(len(packages), tuple(current)))
            current, size = [], 0
    if current:
        packages.append(Package(len(packages), tuple(current)))
    return packages


def _new_file_counts(unit) -> dict:
    return {"read": 0, "kept": 0, "dropped": {}, "chars_in": 0, "chars_out": 0,
            "bytes_in": unit_bytes(unit), "bytes_out": 0}


def process_package(package: Package, config: CleanConfig) -> dict:
    """Clean a package of units into its spill directory; return its stats (also stats.json)."""
    import xxhash

    from corpusprep.readers import read_unit
    from corpusprep.records import Reject

    directory = package_dir(Path(config.out) / ".work", package.index)
    files: dict[str, dict] = {}
    samples: dict[str, list] = {}
    band_rows: list = []
    band_pos: list[int] = []
    k = config.rejects_sample
    seed, num_shards, vf = config.seed, config.num_shards, config.valid_fraction
    h128 = xxhash.xxh3_128_intdigest
    cleaners: dict[str, Cleaner] = {}
    hasher = None
    writer = SpillWriter(directory)
    pos = 0

    def sample(reason: str, source: str, line: int, raw: str, cleaned: str | None = None) -> None:
        bucket = samples.setdefault(reason, [])
        if len(bucket) < k:
            entry = {"reason": reason, "source": source, "line": line, "text": raw[:SAMPLE_CHARS]}
            if cleaned is not None:
                entry["cleaned"] = cleaned[:SAMPLE_CHARS]
            bucket.append(entry)

    # pending: records of possibly several units (small files), cleaned per family but
    # numbered and spilled in corpus order.
    pending: list[tuple] = []  # (unit, counts, cleaner, record)

    def flush() -> None:
        nonlocal pos
        raws = [entry[3].text for entry in pending]
        cleaned: list = [None] * len(pending)
        reasons: list = [None] * len(pending)
        by_cleaner: dict[int, list[int]] = {}
        for i, entry in enumerate(pending):
            by_cleaner.setdefault(id(entry[2]), []).append(i)
        for idx in by_cleaner.values():
            texts, why = pending[idx[0]][2].process([raws[i] for i in idx])
            for i, t, r in zip(idx, texts, why):
                cleaned[i], reasons[i] = t, r
        groups: dict[int, tuple[list, ...]] = {}
        near_texts: list[str] = []
        for (unit, counts, cleaner, rec), raw, text, reason in zip(pending, raws, cleaned, reasons):
            counts["chars_in"] += len(raw)
            if reason is None:
                try:
                    data = text.encode("utf-8")
                except UnicodeEncodeError:  # a lone surrogate survived (controls op turned off)
                    reason = "undecodable"
            if reason is not None:
                counts["dropped"][reason] = counts["dropped"].get(reason, 0) + 1
                sample(reason, rec.source, rec.line, raw, text)
                continue
            key_hash = h128(data, seed)
            group = group_of(*assign(key_hash, num_shards, vf), num_shards)
            cols = groups.get(group)
            if cols is None:
                cols = groups[group] = ([], [], [], [], [], [], [], [])
            cols[0].append(text)
            cols[1].append(rec.source)
            cols[2].append(rec.line)
            cols[3].append(meta_json(rec.meta) if rec.meta else "{}")
            cols[4].append(unit.index)
            cols[5].append(pos)
            cols[6].append(key_hash & _U64)
            cols[7].append(cleaner.exact_dup)
            if cleaner.near_dup:
                near_texts.append(text)
                band_pos.append(pos)
            pos += 1
            counts["kept"] += 1
            counts["chars_out"] += len(text)
            counts["bytes_out"] += len(data)
        for group in sorted(groups):
            writer.add_rows(group, groups[group])
        if near_texts:
            band_rows.append(hasher.band_keys_batch(near_texts))
        pending.clear()

    try:
        pending_chars = 0
        for unit in package.units:
            cleaner = cleaners.get(unit.family)
            if cleaner is None:
                cleaner = cleaners[unit.family] = Cleaner.for_family(config, unit.family)
            if cleaner.near_dup and hasher is None:
                from corpusprep.cleaning.minhash import MinHasher

                hasher = MinHasher.for_threshold(config.near_dup_threshold, config.num_perm, config.shingle)
            counts = files.get(unit.path)
            if counts is None:
                counts = files[unit.path] = _new_file_counts(unit)
            else:  # another byte range of a file already seen in this package
                counts["bytes_in"] += unit_bytes(unit)
            fail_at = _injected_failure(unit.index)
            read_here = 0
            for item in read_unit(unit):
                counts["read"] += 1
                read_here += 1
                if fail_at is not None and read_here > fail_at:
                    raise RuntimeError(f"injected failure in unit {unit.index}")
                if isinstance(item, Reject):
                    counts["dropped"][item.reason] = counts["dropped"].get(item.reason, 0) + 1
                    sample(item.reason, item.source, item.line, item.raw)
                    continue
                pending.append((unit, counts, cleaner, item))
                pending_chars += len(item.text)
                if len(pending) >= BATCH_DOCS or pending_chars >= BATCH_CHARS:
                    flush()
                    pending_chars = 0
        if pending:
            flush()
    except BaseException:
        writer.abort()
        raise
    writer.close()
    near = hasher is not None
    if near:
        write_bands(directory, band_rows, band_pos, hasher.bands)
    stats = {"package": package.index, "units": [u.index for u in package.units], "kept": pos,
             "near_dup": near, "files": files, "samples": samples}
    finish_unit(directory, stats, config.fingerprint())
    return stats


def unit_bytes(unit) -> int:
    """Input bytes a unit covers (its byte range, or the whole file on disk)."""
    end = unit.end if unit.end is not None else os.path.getsize(unit.path)
    return max(0, end - unit.start)
