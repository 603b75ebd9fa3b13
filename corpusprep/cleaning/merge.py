"""Phase 2 of `clean`: merge each shard's spill parts in unit order, drop duplicates, write the shard.

Equal cleaned texts hash to the same (split, shard), so exact deduplication needs only the keys
of one shard in memory (8 bytes per document); the first occurrence in corpus order (unit index,
then order in the unit) wins. Near-duplicates come from a global mask computed beforehand
(``near_duplicate_mask``) because similar texts land in different shards.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpusprep.atomic import sha256_file
from corpusprep.cleaning.config import CleanConfig
from corpusprep.cleaning.layouts import open_shard_writer, shard_name
from corpusprep.cleaning.spill import load_index, put_json, read_group, unit_dir
from corpusprep.cleaning.unit import SAMPLE_CHARS, group_of

NEAR_MASK = "near_dup_mask.npy"


@dataclass(frozen=True)
class MergeTask:
    split: int
    shard: int
    config: CleanConfig
    units: tuple[int, ...]  # unit indices, in corpus order
    near_offsets: tuple[int, ...] | None = None  # per unit: its first row in the global near mask


def marker_path(work: Path, name: str) -> Path:
    return work / "shards" / f"{name}.json"


def load_marker(work: Path, name: str) -> dict:
    return json.loads(marker_path(work, name).read_text(encoding="utf-8"))


def shard_is_done(work: Path, out: Path, name: str, fingerprint: str) -> dict | None:
    """The shard's saved result when its file exists and its sha256 matches the marker."""
    try:
        result = json.loads(marker_path(work, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if result.get("fingerprint") != fingerprint or not (out / name).is_file():
        return None
    return result if sha256_file(out / name) == result["sha256"] else None


def _first_occurrence(keys: np.ndarray) -> np.ndarray:
    """Boolean mask: True where a key appears for the first time (np.unique keeps first indices)."""
    first = np.zeros(len(keys), dtype=bool)
    if len(keys):
        _, idx = np.unique(keys, return_index=True)
        first[idx] = True
    return first


def _duplicate_mask(task: MergeTask, work: Path, group: int, indexes: dict) -> tuple[np.ndarray, np.ndarray]:
    """(exact duplicate, near duplicate) flags for the rows of this shard, in merge order."""
    keys, eligible, near = [], [], []
    mask = np.load(work / NEAR_MASK, mmap_mode="r") if task.near_offsets is not None else None
    for n, u in enumerate(task.units):
        for batch in read_group(unit_dir(work, u), indexes[u].get(group, []), ["pos", "key", "dedup"]):
            keys.append(batch.column(1).to_numpy())
            eligible.append(batch.column(2).to_numpy(zero_copy_only=False))
            if mask is not None:
                pos = batch.column(0).to_numpy()
                near.append(np.asarray(mask[task.near_offsets[n] + pos], dtype=bool))
    if not keys:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    keys_all = np.concatenate(keys)
    ok = np.concatenate(eligible)
    dup = np.zeros(len(keys_all), dtype=bool)
    if ok.any():
        dup[ok] = ~_first_occurrence(keys_all[ok])
    near_all = np.concatenate(near) if near else np.zeros(len(keys_all), dtype=bool)
    return dup, near_all & ~dup


def merge_shard(task: MergeTask) -> dict:
    """Write one final shard file; return (and save as a marker) its counts and checksum."""
    import pyarrow.compute as pc

    cfg = task.config
    work, out = Path(cfg.out) / ".work", Path(cfg.out)
    group = group_of(task.split, task.shard, cfg.num_shards)
    name = shard_name(task.split, task.shard, cfg.num_shards, cfg.layout)
    indexes = {u: load_index(unit_dir(work, u)) for u in task.units}
    dup, near = _duplicate_mask(task, work, group, indexes)
    dropped: dict[str, dict[str, int]] = {}  # unit -> reason -> n
    lost_chars: dict[str, int] = {}
    lost_bytes: dict[str, int] = {}
    samples: dict[str, list] = {}
    writer = open_shard_writer(out / name, cfg.layout, cfg.row_group_rows)
    row = 0
    try:
        for u in task.units:
            for batch in read_group(unit_dir(work, u), indexes[u].get(group, [])):
                n = batch.num_rows
                d, nd = dup[row:row + n], near[row:row + n]
                row += n
                if d.any() or nd.any():
                    gone = d | nd
                    _account(batch, u, d, nd, gone, dropped, lost_chars, lost_bytes, samples, cfg.rejects_sample, pc)
                    batch = batch.filter(~gone)
                writer.write(batch)
        sha = writer.close()
    except BaseException:
        writer.abort()
        raise
    result = {"name": name, "split": task.split, "shard": task.shard, "records": writer.rows, "sha256": sha,
              "fingerprint": cfg.fingerprint(), "dropped": dropped, "lost_chars": lost_chars,
              "lost_bytes": lost_bytes, "samples": samples}
    marker_path(work, name).parent.mkdir(parents=True, exist_ok=True)
    put_json(marker_path(work, name), result)
    return result


def _account(batch, unit, dup, near, gone, dropped, lost_chars, lost_bytes, samples, k, pc) -> None:
    key = str(unit)
    lost = batch.filter(gone)
    per = dropped.setdefault(key, {})
    for reason, flags in (("duplicate", dup), ("near_duplicate", near)):
        count = int(flags.sum())
        if count:
            per[reason] = per.get(reason, 0) + count
    texts = lost.column("text")
    lost_chars[key] = lost_chars.get(key, 0) + int(pc.sum(pc.utf8_length(texts)).as_py() or 0)
    lost_bytes[key] = lost_bytes.get(key, 0) + int(pc.sum(pc.binary_length(texts)).as_py() or 0)
    reasons = np.where(dup[gone], "duplicate", "near_duplicate")
    if all(len(samples.get(r, ())) >= k for r in set(reasons.tolist())):
        return
    for reason, text, source, line, pos in zip(reasons.tolist(), texts.to_pylist(), lost.column("source").to_pylist(),
                                               lost.column("line").to_pylist(), lost.column("pos").to_pylist()):
        bucket = samples.setdefault(reason, [])
        if len(bucket) < k:
            bucket.append({"reason": reason, "source": source, "line": line, "text": text[:SAMPLE_CHARS],
                           "unit": unit, "pos": pos})


def near_duplicate_mask(work: Path, kept_per_unit: list[tuple[int, int, bool]]) -> tuple[int, ...]:
    """Flag every document that shares an LSH band key with an earlier document (corpus order).

    ``kept_per_unit``: (unit index, kept records, has bands) in unit order. Writes the global
    boolean mask to ``work/NEAR_MASK`` and returns each unit's offset into it. One band is held in
    memory at a time (8 bytes per document plus the sort).
    """
    offsets, total = [], 0
    for _, kept, _ in kept_per_unit:
        offsets.append(total)
        total += kept
    mask = np.zeros(total, dtype=bool)
    arrays = [(off, np.load(unit_dir(work, u) / "bands.npy", mmap_mode="r"))
              for (u, kept, has), off in zip(kept_per_unit, offsets) if has and kept]
    if arrays:
        rows = np.concatenate([off + np.arange(len(a), dtype=np.int64) for off, a in arrays])
        for b in range(arrays[0][1].shape[1]):
            column = np.concatenate([np.asarray(a[:, b]) for _, a in arrays])
            mask[rows[~_first_occurrence(column)]] = True
    with open(work / (NEAR_MASK + ".tmp"), "wb") as fh:
        np.save(fh, mask)
    (work / (NEAR_MASK + ".tmp")).replace(work / NEAR_MASK)
    return tuple(offsets)
