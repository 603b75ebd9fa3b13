"""Phase 2 of `clean`: merge each shard's spill parts in unit order, drop duplicates, write the shard.

Equal cleaned texts hash to the same (split, shard), so exact deduplication needs only the keys
of one shard in memory (8 bytes per document); the first occurrence in corpus order (unit index,
then order in the unit) wins. Near-duplicates come from a global mask computed beforehand
(``near_duplicate_mask``) because similar texts land in different shards.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpusprep.cleaning.config import CleanConfig
from corpusprep.cleaning.layouts import open_shard_writer, shard_name
from corpusprep.cleaning.spill import load_index, package_dir, put_npy, read_group
from corpusprep.cleaning.unit import SAMPLE_CHARS, group_of
from corpusprep.histogram import Histogram
from corpusprep.outdir import read_done, write_done
from corpusprep.outdir.layout import STAGE
from corpusprep.outdir.layout import work as work_path

NEAR_MASK = "near_dup_mask.npy"


@dataclass(frozen=True)
class MergeTask:
    split: int
    shard: int
    config: CleanConfig
    packages: tuple[int, ...]  # package indices, in corpus order
    near_offsets: tuple[int, ...] | None = None  # per package: its first row in the global near mask
    depends: str = ""  # digest of every package's done-marker: a redone package redoes every shard

    def work_inputs(self) -> list[str]:
        """What the task reads from the work area (relative to it): its packages' spills and the
        near-duplicate mask (a task on another machine pulls them first: outdir/nodes.py)."""
        rels = [package_dir(Path(""), u).as_posix() for u in self.packages]
        return rels + ([NEAR_MASK] if self.near_offsets is not None else [])


def marker_path(work: Path, name: str) -> Path:
    return work / "shards" / f"{name}.done.json"


def merge_key(fingerprint: str, depends: str) -> dict:
    return {"fingerprint": fingerprint, "packages": depends}


def load_marker(work: Path, name: str) -> dict:
    import json

    return json.loads(marker_path(work, name).read_text(encoding="utf-8"))["result"]


def shard_is_done(work: Path, name: str, fingerprint: str, depends: str) -> dict | None:
    """The shard's saved result while its staged file and the packages it was merged from are unchanged."""
    return read_done(marker_path(work, name), merge_key(fingerprint, depends))


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
    for n, u in enumerate(task.packages):
        for batch in read_group(package_dir(work, u), indexes[u].get(group, []), ["pos", "key", "dedup"]):
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
    work = work_path(cfg.out)
    out = work / STAGE
    group = group_of(task.split, task.shard, cfg.num_shards)
    name = shard_name(task.split, task.shard, cfg.num_shards, cfg.layout)
    indexes = {u: load_index(package_dir(work, u)) for u in task.packages}
    dup, near = _duplicate_mask(task, work, group, indexes)
    dropped: dict[str, dict[str, int]] = {}  # unit -> reason -> n
    lost_chars: dict[str, int] = {}
    lost_bytes: dict[str, int] = {}
    samples: dict[str, list] = {}
    writer = open_shard_writer(out / name, cfg.layout, cfg.row_group_rows)
    lengths = Histogram()  # characters per kept document (report.json ``lengths``)
    row = 0
    try:
        for u in task.packages:
            for batch in read_group(package_dir(work, u), indexes[u].get(group, [])):
                n = batch.num_rows
                d, nd = dup[row:row + n], near[row:row + n]
                row += n
                if d.any() or nd.any():
                    gone = d | nd
                    _account(batch, u, d, nd, gone, dropped, lost_chars, lost_bytes, samples, cfg.rejects_sample)
                    batch = batch.filter(~gone)
                lengths.add(pc.utf8_length(batch.column("text")).to_numpy(zero_copy_only=False))
                writer.write(batch)
        sha = writer.close()
    except BaseException:
        writer.abort()
        raise
    result = {"name": name, "split": task.split, "shard": task.shard, "records": writer.rows, "sha256": sha,
              "fingerprint": cfg.fingerprint(), "dropped": dropped, "lost_chars": lost_chars,
              "lost_bytes": lost_bytes, "samples": samples, "chars_per_document": lengths.as_dict()}
    write_done(marker_path(work, name), merge_key(result["fingerprint"], task.depends), [], {out / name: sha}, result)
    return result


def _account(batch, package, dup, near, gone, dropped, lost_chars, lost_bytes, samples, k) -> None:
    """Count the dropped rows of one batch per input unit (vectorised); keep the first k as samples."""
    import pyarrow.compute as pc

    lost = batch.filter(gone)
    units = lost.column("unit").to_numpy()
    is_dup = dup[gone]
    texts = lost.column("text")
    chars = pc.utf8_length(texts).to_numpy()
    nbytes = pc.binary_length(texts).to_numpy()
    ids, inverse = np.unique(units, return_inverse=True)
    n_dup = np.bincount(inverse, weights=is_dup, minlength=len(ids))
    n_all = np.bincount(inverse, minlength=len(ids))
    sum_chars = np.bincount(inverse, weights=chars, minlength=len(ids))
    sum_bytes = np.bincount(inverse, weights=nbytes, minlength=len(ids))
    for j, unit in enumerate(ids.tolist()):
        key = str(unit)
        per = dropped.setdefault(key, {})
        for reason, count in (("duplicate", int(n_dup[j])), ("near_duplicate", int(n_all[j] - n_dup[j]))):
            if count:
                per[reason] = per.get(reason, 0) + count
        lost_chars[key] = lost_chars.get(key, 0) + int(sum_chars[j])
        lost_bytes[key] = lost_bytes.get(key, 0) + int(sum_bytes[j])
    reasons = np.where(is_dup, "duplicate", "near_duplicate")
    for reason in ("duplicate", "near_duplicate"):
        room = k - len(samples.get(reason, ()))
        rows = np.flatnonzero(reasons == reason)[:max(0, room)].tolist()
        if not rows:
            continue
        bucket = samples.setdefault(reason, [])
        sources, lines, positions = lost.column("source"), lost.column("line"), lost.column("pos")
        for r in rows:
            bucket.append({"reason": reason, "source": sources[r].as_py(), "line": lines[r].as_py(),
                           "text": texts[r].as_py()[:SAMPLE_CHARS], "package": package, "pos": positions[r].as_py()})


def near_duplicate_mask(work: Path, kept_per_package: list[tuple[int, int, bool]]) -> tuple[int, ...]:
    """Flag every document that shares an LSH band key with an earlier document (corpus order).

    ``kept_per_package``: (package index, kept records, has bands) in order. Writes the global
    boolean mask to ``work/NEAR_MASK`` and returns each package's offset into it. One band is held
    in memory at a time (8 bytes per document plus the sort).
    """
    offsets, total = [], 0
    for _, kept, _ in kept_per_package:
        offsets.append(total)
        total += kept
    mask = np.zeros(total, dtype=bool)
    arrays = []
    for (u, kept, has), off in zip(kept_per_package, offsets):
        if has and kept:
            d = package_dir(work, u)
            arrays.append((off + np.load(d / "band_pos.npy"), np.load(d / "bands.npy", mmap_mode="r")))
    arrays = [(rows, a) for rows, a in arrays if len(rows)]
    if arrays:
        rows = np.concatenate([r for r, _ in arrays])
        for b in range(arrays[0][1].shape[1]):
            column = np.concatenate([np.asarray(a[:, b]) for _, a in arrays])
            mask[rows[~_first_occurrence(column)]] = True
    put_npy(work / NEAR_MASK, mask)
    return tuple(offsets)
