"""Phase 1 of `clean`: read a package of work units, clean and filter the records, spill them by shard.

``process_package`` is a pure function of (package, config) apart from the files it writes under
``DIR/.zooprep/work``; it returns only small statistics, so any executor (local processes, Ray) can run it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from corpusprep.cleaning.cleaner import Cleaner
from corpusprep.cleaning.config import CleanConfig
from corpusprep.cleaning.spill import SpillWriter, finish_package, package_dir, write_bands
from corpusprep.outdir import unit_identity
from corpusprep.outdir.layout import work as work_path
from corpusprep.readers.rawio import input_size

SAMPLE_CHARS = 1000  # prefix of a dropped record kept in DIR/rejects/
BATCH_DOCS = 2048  # documents cleaned together (vectorised checks); bounds memory with BATCH_CHARS
BATCH_CHARS = 8 << 20
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


def group_of(split: int, shard: int, num_shards: int) -> int:
    return split * num_shards + shard


def assign_groups(keys: np.ndarray, spread: np.ndarray, num_shards: int, valid_fraction: float) -> np.ndarray:
    """Output group (split * num_shards + shard) per document, from two seeded 64-bit hashes of
    the cleaned text: the split from ``keys`` (also the dedup key), the shard from ``spread``.

    Equal texts always land together, which lets phase 2 deduplicate per shard.
    """
    shard = (spread % np.uint64(num_shards)).astype(np.int64)
    if valid_fraction <= 0:
        return shard
    split = ((keys >> np.uint64(11)).astype(np.float64) / _TWO_53) < valid_fraction
    return split.astype(np.int64) * num_shards + shard


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


def _writable(text: str) -> str:
    """Lone surrogates (only possible with the controls op off) cannot be written as UTF-8 JSON."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _new_file_counts(unit) -> dict:
    return {"read": 0, "kept": 0, "dropped": {}, "chars_in": 0, "chars_out": 0,
            "bytes_in": unit_bytes(unit), "bytes_out": 0}


def process_package(package: Package, config: CleanConfig) -> dict:
    """Clean a package of units into its spill directory; return its stats (also stats.json)."""
    return _PackageRun(package, config).run()


_SHARD_SALT = 0x9E3779B97F4A7C15  # the shard hash must be independent of the dedup/split hash


class _PackageRun:
    """Phase 1 for one package: read its units in order, clean in batches, spill, count."""

    def __init__(self, package: Package, config: CleanConfig):
        self.package, self.config = package, config
        self.directory = package_dir(work_path(config.out), package.index)
        self.files: dict[str, dict] = {}
        self.samples: dict[str, list] = {}
        self.band_rows: list = []
        self.band_pos: list[int] = []
        self.cleaners: dict[str, Cleaner] = {}
        self.hasher = None
        self.pos = 0  # kept records so far: their position in the package, in corpus order
        # Records of possibly several units (small files), cleaned per family but numbered and
        # spilled in corpus order. runs: (first index in pending, unit, counts, cleaner).
        self.pending: list = []
        self.runs: list[tuple] = []
        self.failed: list[dict] = []  # files whose reading stopped (FailedFile.as_dict)

    def _failed(self, unit, failure) -> None:
        """Reading the unit's file stopped: name it (records read before stay counted)."""
        from corpusprep.errors import InputError
        from corpusprep.readers.failures import file_size

        if self.config.on_error == "fail":
            raise InputError(failure.source, failure.reason, failure.line)
        self.failed.append({"path": failure.source, "reason": failure.reason, "bytes": file_size(unit.path),
                            "line": failure.line})

    def run(self) -> dict:
        from corpusprep.readers import read_unit_guarded
        from corpusprep.records import Failure, Reject

        inputs = package_inputs(self.package)  # identity of the bytes about to be read
        self.writer = SpillWriter(self.directory)
        try:
            pending_chars = 0
            for unit in self.package.units:
                counts, cleaner = self._start_unit(unit)
                for item in read_unit_guarded(unit):
                    if item.__class__ is Failure:
                        self._failed(unit, item)
                        break
                    counts["read"] += 1
                    if isinstance(item, Reject):
                        counts["dropped"][item.reason] = counts["dropped"].get(item.reason, 0) + 1
                        self._sample(item.reason, item.source, item.line, item.raw)
                        continue
                    self.pending.append(item)
                    pending_chars += len(item.text)
                    if len(self.pending) >= BATCH_DOCS or pending_chars >= BATCH_CHARS:
                        self._flush()
                        self.runs.append((0, unit, counts, cleaner))  # the unit goes on
                        pending_chars = 0
            self._flush()
        except BaseException:
            self.writer.abort()
            raise
        self.writer.close()
        near = self.hasher is not None
        if near:
            write_bands(self.directory, self.band_rows, self.band_pos, self.hasher.bands)
        stats = {"package": self.package.index, "units": [u.index for u in self.package.units],
                 "kept": self.pos, "near_dup": near, "files": self.files, "samples": self.samples,
                 "failed": self.failed}
        finish_package(self.directory, stats, package_key(self.package, self.config), inputs)
        return stats

    def _start_unit(self, unit) -> tuple[dict, Cleaner]:
        cleaner = self.cleaners.get(unit.family)
        if cleaner is None:
            cleaner = self.cleaners[unit.family] = Cleaner.for_family(self.config, unit.family)
        if cleaner.near_dup and self.hasher is None:
            from corpusprep.cleaning.minhash import MinHasher

            cfg = self.config
            self.hasher = MinHasher.for_threshold(cfg.near_dup_threshold, cfg.num_perm, cfg.shingle)
        counts = self.files.get(unit.source)
        if counts is None:
            counts = self.files[unit.source] = _new_file_counts(unit)
        else:  # another byte range of a file already seen in this package
            counts["bytes_in"] += unit_bytes(unit)
        self.runs.append((len(self.pending), unit, counts, cleaner))
        return counts, cleaner

    def _sample(self, reason: str, source: str, line: int, raw: str, cleaned: str | None = None) -> None:
        bucket = self.samples.setdefault(reason, [])
        if len(bucket) < self.config.rejects_sample:
            entry = {"reason": reason, "source": source, "line": line, "text": _writable(raw[:SAMPLE_CHARS])}
            if cleaned is not None:
                entry["cleaned"] = _writable(cleaned[:SAMPLE_CHARS])
            bucket.append(entry)

    def _spans(self) -> list[tuple[int, int, object, dict, Cleaner]]:
        """(start, end, unit, counts, cleaner) of the non-empty runs of pending records."""
        n, spans = len(self.pending), []
        for j, (start, unit, counts, cleaner) in enumerate(self.runs):
            end = self.runs[j + 1][0] if j + 1 < len(self.runs) else n
            if end > start:
                spans.append((start, end, unit, counts, cleaner))
        return spans

    def _flush(self) -> None:
        import xxhash

        pending, spans = self.pending, self._spans()
        self.runs = []
        if not pending:
            return
        raws = [r.text for r in pending]
        cleaned: list = [None] * len(raws)
        reasons: list = [None] * len(raws)
        by_cleaner: dict[int, tuple[Cleaner, list[int]]] = {}
        for start, end, _, _, cleaner in spans:
            by_cleaner.setdefault(id(cleaner), (cleaner, []))[1].extend(range(start, end))
        for cleaner, idx in by_cleaner.values():
            texts, why = cleaner.process([raws[i] for i in idx])
            for i, t, r in zip(idx, texts, why):
                cleaned[i], reasons[i] = t, r
        seed, n_shards, vf = self.config.seed, self.config.num_shards, self.config.valid_fraction
        h64 = xxhash.xxh3_64_intdigest
        for start, end, unit, counts, cleaner in spans:
            kept, datas = [], []
            for i in range(start, end):
                reason = reasons[i]
                if reason is None:
                    try:
                        datas.append(cleaned[i].encode("utf-8"))
                        kept.append(i)
                        continue
                    except UnicodeEncodeError:  # a lone surrogate survived (controls op turned off)
                        reason = "undecodable"
                counts["dropped"][reason] = counts["dropped"].get(reason, 0) + 1
                rec = pending[i]
                self._sample(reason, rec.source, rec.line, raws[i], cleaned[i])
            counts["chars_in"] += sum(map(len, raws[start:end]))
            if not kept:
                continue
            texts = [cleaned[i] for i in kept]
            counts["kept"] += len(kept)
            counts["chars_out"] += sum(map(len, texts))
            counts["bytes_out"] += sum(map(len, datas))
            keys = np.fromiter((h64(d, seed) for d in datas), dtype=np.uint64, count=len(datas))
            spread = np.fromiter((h64(d, seed ^ _SHARD_SALT) for d in datas), dtype=np.uint64, count=len(datas))
            groups = assign_groups(keys, spread, n_shards, vf)
            positions = np.arange(self.pos, self.pos + len(kept), dtype=np.int64)
            self.pos += len(kept)
            self._spill(unit, cleaner, kept, texts, keys, groups, positions)
        self.pending = []

    def _spill(self, unit, cleaner: Cleaner, kept: list[int], texts: list[str], keys, groups, positions) -> None:
        pending = self.pending
        order = np.argsort(groups, kind="stable")
        sorted_groups = groups[order]
        cuts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1], True])
        for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
            sel = order[a:b].tolist()
            recs = [pending[kept[j]] for j in sel]
            self.writer.add_rows(int(sorted_groups[a]), (
                [texts[j] for j in sel], [r.source for r in recs], [r.line for r in recs],
                [meta_json(r.meta) if r.meta else "{}" for r in recs], [unit.index] * len(sel),
                positions[sel].tolist(), keys[sel], [cleaner.exact_dup] * len(sel)))
        if cleaner.near_dup:
            self.band_rows.append(self.hasher.band_keys_batch(texts))
            self.band_pos.extend(positions.tolist())


def unit_key(u) -> list:
    """What a reader unit was asked to read (its input's content identity is recorded separately)."""
    return [u.index, u.path, u.family, u.encoding, u.start, u.end, u.compression, repr(u.options)]


def package_key(package: Package, config: CleanConfig) -> dict:
    return {"fingerprint": config.fingerprint(), "units": [unit_key(u) for u in package.units]}


def package_inputs(package: Package) -> list[dict]:
    """Content identity (size, mtime_ns, sha256 of the bytes read) of every input range of a package."""
    ranges = []
    for u in package.units:
        if u.compression is not None or u.kind == "parquet":  # read whole (Parquet ranges are row groups)
            ranges.append((u.path, 0, None))
        else:
            ranges.append((u.path, u.start, u.end))
        pair = u.option("pair")
        if isinstance(pair, str):
            ranges.append((pair, 0, None))
    return unit_identity(ranges)


def unit_bytes(unit) -> int:
    """Input bytes a unit covers (its byte range, or the whole file on disk)."""
    if unit.kind == "parquet":  # start/end count row groups
        return input_size(unit.path) if unit.start == 0 else 0
    end = unit.end if unit.end is not None else input_size(unit.path)
    return max(0, end - unit.start)
