"""`clean` end to end: plan units -> pack them -> phase 1 (clean + spill per package) -> near-dup
mask -> phase 2 (merge + dedup per shard) -> rejects sample -> report.json (last) -> remove DIR/.work.

Resumable: a rerun with the same options skips packages whose done-marker checksums verify and
shards whose file matches its recorded sha256, and ends with the same bytes as one clean run.
"""
from __future__ import annotations

import os
import shutil
import time
from functools import partial
from pathlib import Path

from corpusprep.atomic import open_work_dir, write_json
from corpusprep.cleaning.config import LAYOUTS, CleanConfig
from corpusprep.cleaning.layouts import SHARD_NAME_RE, shard_name
from corpusprep.cleaning.merge import MergeTask, load_marker, merge_shard, near_duplicate_mask, shard_is_done
from corpusprep.cleaning.registry import unknown_ops
from corpusprep.cleaning.report import assemble_report, build_counts, check_identity, write_rejects
from corpusprep.cleaning.spill import load_stats, package_dir, package_is_done
from corpusprep.cleaning.unit import make_packages, process_package, unit_bytes
from corpusprep.errors import ZooprepError
from corpusprep.executors import make_executor
from corpusprep.progress import progress

PACK_BYTES = 16 << 20  # small files are cleaned together in packages of about this many bytes


def validate(config: CleanConfig) -> None:
    from corpusprep import options as opt
    from corpusprep.readers.failures import check_on_error

    if not config.inputs:
        raise ZooprepError("clean: no INPUT given")
    opt.out_path(config.out)
    opt.integer("--num-shards", config.num_shards, 1, 1 << 20)
    opt.number("--valid-fraction", config.valid_fraction, 0.0, 1.0, hi_open=True)
    if config.layout not in LAYOUTS:
        raise ZooprepError(f"--layout must be one of {', '.join(LAYOUTS)}")
    opt.integer("--seed", config.seed, 0, 2**63 - 1)
    opt.number("--near-dup-threshold", config.near_dup_threshold, 0.0, 1.0, lo_open=True)
    opt.workers(config.workers)
    if config.min_chars is not None:
        opt.integer("--min-chars", config.min_chars, 0)
    opt.integer("--max-chars", config.max_chars, 1)
    opt.number("--min-chinese-share", config.min_chinese_share, 0.0, 1.0)
    opt.number("--max-char-run-share", config.max_char_run_share, 0.0, 1.0)
    opt.number("--max-repeated-lines", config.max_repeated_line_share, 0.0, 1.0)
    opt.integer("--rejects-sample", config.rejects_sample, 0)
    opt.integer("unit_bytes", config.unit_bytes, 1)
    check_on_error(config.on_error)
    bad = unknown_ops((*config.enable, *config.disable))
    if bad:
        raise ZooprepError(f"unknown cleaning op(s): {', '.join(bad)} (see `clean --list-ops`)")
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise ZooprepError(f"{out}: --out exists and is not a directory")


def _injected_stop(env: str, done: int) -> None:
    """Tests simulate a killed run: ZOOPREP_CLEAN_STOP_AFTER_PACKAGES / _SHARDS = n."""
    limit = os.environ.get(env)
    if limit is not None and done >= int(limit):
        raise RuntimeError(f"injected stop after {done} ({env})")


def _refuse_own_output(inputs, units, out: str) -> None:
    """A rerun must not read the previous run's shards or work files as input."""
    root = os.path.abspath(out) + os.sep
    for folder in inputs:
        if os.path.isdir(folder) and root.startswith(os.path.abspath(folder) + os.sep):
            raise ZooprepError(f"{out}: --out lies inside the input folder {folder}; a rerun would read its own "
                               "output; choose an --out outside the inputs")
    for u in units:
        if os.path.abspath(u.path).startswith(root):
            raise ZooprepError(f"{u.path}: input lies inside --out {out}; choose an --out outside the inputs")


def _unit_key(u) -> list:
    """What identifies a work unit in plan.json (a rerun must plan exactly the same units)."""
    return [u.index, u.path, u.family, u.encoding, u.start, u.end, u.compression, repr(u.options),
            os.path.getsize(u.path) if os.path.exists(u.path) else None]


def _drop_empty_validation(out: Path, results: list[dict]) -> list[dict]:
    """A validation split that got no document at all is not written: `datasets` refuses a split
    whose files are all empty (a tiny corpus with a small --valid-fraction)."""
    valid = [r for r in results if r["split"] == 1]
    if not valid or any(r["records"] for r in valid):
        return results
    for r in valid:
        (out / r["name"]).unlink(missing_ok=True)
    return [r for r in results if r["split"] == 0]


def _remove_stale_shards(out: Path, keep: set[str]) -> None:
    """Shards of another --num-shards/--layout."""
    for p in out.iterdir():
        if p.is_file() and SHARD_NAME_RE.match(p.name) and p.name not in keep:
            p.unlink()


def _remove_stale_temp_files(out: Path) -> None:
    """Temp files (``.<name>.<pid>.tmp``, see corpusprep/atomic.py) a killed run left behind."""
    for folder in (out, out / "rejects"):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if not (p.is_file() and p.name.startswith(".") and p.name.endswith(".tmp")):
                continue
            target = p.name[1:].rsplit(".", 2)[0]
            if SHARD_NAME_RE.match(target) or target == "report.json" or folder.name == "rejects":
                p.unlink()


def run_clean(config: CleanConfig) -> dict:
    """Run `clean`; returns the report that was written to DIR/report.json."""
    from corpusprep.readers import FailureLog, plan_units

    validate(config)
    t0 = time.perf_counter()
    failures = FailureLog(config.on_error)
    units = plan_units(list(config.inputs), fmt=config.fmt, encoding=config.encoding,
                       text_field=config.text_field, unit_bytes=config.unit_bytes, failures=failures)
    if not units:
        raise failures.nothing_read(config.inputs)
    _refuse_own_output(config.inputs, units, config.out)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").unlink(missing_ok=True)  # an unfinished run must never look complete
    _remove_stale_temp_files(out)
    work = out / ".work"
    fingerprint = config.fingerprint()
    pack_bytes = min(config.unit_bytes, PACK_BYTES)
    open_work_dir(work, {"fingerprint": fingerprint, "pack_bytes": pack_bytes,
                            "units": [_unit_key(u) for u in units]})
    timings = {"plan_s": time.perf_counter() - t0}

    packages = make_packages(units, pack_bytes)
    executor = make_executor(config.executor, config.workers, config.ray_address)
    try:
        t1 = time.perf_counter()
        package_stats = _phase_clean(config, packages, work, fingerprint, executor)
        timings["clean_s"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        near_offsets = None
        if any(st["near_dup"] for st in package_stats):
            near_offsets = near_duplicate_mask(
                work, [(st["package"], st["kept"], st["near_dup"]) for st in package_stats])
        timings["near_dup_s"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        shard_results = _phase_merge(config, len(packages), work, out, fingerprint, near_offsets, executor)
        timings["merge_s"] = time.perf_counter() - t3
    finally:
        executor.close()

    shard_results = _drop_empty_validation(out, shard_results)
    totals, files = build_counts(package_stats, shard_results, {u.index: u.path for u in units})
    for st in package_stats:
        for entry in st.get("failed", []):
            failures.add_record(entry)
    check_identity(totals, files)
    rejects = write_rejects(
        out, (load_stats(package_dir(work, st["package"]))["samples"] for st in package_stats),
        (load_marker(work, r["name"])["samples"] for r in shard_results), config.rejects_sample)
    timings["total_s"] = time.perf_counter() - t0
    report = assemble_report(config, totals, files, shard_results, rejects, units, packages,
                             getattr(executor, "workers", config.workers), timings, failures.as_list())
    write_json(out / "report.json", report)
    shutil.rmtree(work, ignore_errors=True)
    return report


def _phase_clean(config, packages, work, fingerprint, executor) -> list[dict]:
    """Phase 1 over the packages not already finished; returns every package's stats in order."""
    done = {p.index for p in packages if package_is_done(package_dir(work, p.index), fingerprint)}
    pending = [p for p in packages if p.index not in done]
    size = {p.index: sum(unit_bytes(u) for u in p.units) for p in packages}
    stats: dict[int, dict] = {}
    for i in done:
        stats[i] = load_stats(package_dir(work, i))
        stats[i].pop("samples", None)
    with progress(sum(size.values()), "clean", unit="B", enabled=config.progress) as advance:
        advance(sum(size[i] for i in done))
        fn = partial(process_package, config=config)
        for n, st in enumerate(executor.map(fn, pending), 1):
            st.pop("samples", None)  # kept on disk; memory holds only counts
            stats[st["package"]] = st
            advance(size[st["package"]])
            _injected_stop("ZOOPREP_CLEAN_STOP_AFTER_PACKAGES", n)
    return [stats[p.index] for p in packages]


def _phase_merge(config, num_packages, work, out, fingerprint, near_offsets, executor) -> list[dict]:
    splits = (0, 1) if config.valid_fraction > 0 else (0,)
    order = tuple(range(num_packages))
    names = {(s, k): shard_name(s, k, config.num_shards, config.layout) for s in splits for k in range(config.num_shards)}
    _remove_stale_shards(out, set(names.values()))
    results: dict[tuple[int, int], dict] = {}
    tasks = []
    for (s, k), name in names.items():
        prior = shard_is_done(work, out, name, fingerprint)
        if prior is not None:
            prior.pop("samples", None)
            results[(s, k)] = prior
        else:
            tasks.append(MergeTask(s, k, config, order, near_offsets))
    with progress(len(names), "merge", unit="shards", enabled=config.progress) as advance:
        advance(len(results))
        for n, res in enumerate(executor.map(merge_shard, tasks), 1):
            res.pop("samples", None)
            results[(res["split"], res["shard"])] = res
            advance(1)
            _injected_stop("ZOOPREP_CLEAN_STOP_AFTER_SHARDS", n)
    return [results[key] for key in sorted(results)]
