"""`clean` end to end: claim DIR (corpusprep.outdir) -> plan units -> pack them -> phase 1 (clean +
spill per package) -> near-dup mask -> phase 2 (merge + dedup per shard, into the staging area) ->
rejects sample -> report.json -> swap into DIR and write the complete state (last).

Resumable: a rerun with the same options skips packages whose done-markers still hold (options,
input size + mtime_ns + sha256 of the bytes read, spill checksums) and shards whose staged file and
packages are unchanged, and ends with the same bytes as one clean run. A changed input redoes the
packages that read it (and says so), then every shard.
"""
from __future__ import annotations

import hashlib
import os
import sys
import time
from functools import partial
from pathlib import Path

from corpusprep import storage
from corpusprep.atomic import write_json
from corpusprep.cleaning.config import LAYOUTS, CleanConfig
from corpusprep.cleaning.layouts import shard_name
from corpusprep.cleaning.merge import MergeTask, load_marker, merge_shard, near_duplicate_mask, shard_is_done
from corpusprep.cleaning.registry import unknown_ops
from corpusprep.cleaning.report import assemble_report, build_counts, check_identity, write_rejects
from corpusprep.cleaning.spill import done_digest, load_stats, package_dir, package_is_done
from corpusprep.cleaning.unit import make_packages, package_key, process_package, unit_bytes
from corpusprep.errors import ZooprepError
from corpusprep.executors import make_executor
from corpusprep.outdir import OutputDir, require_complete_input
from corpusprep.outdir.complete import check_versions, input_versions
from corpusprep.outdir.rerun import cli_options
from corpusprep.outdir.nodes import on_nodes
from corpusprep.progress import progress
from corpusprep import shipping

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
    opt.executor(config.executor, config.ray_address)
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


def _input_paths(config: CleanConfig, units) -> list[str]:
    """Everything the run reads: the INPUT arguments that exist and every file a unit reads."""
    paths = [p for p in config.inputs if storage.is_url(p) or os.path.exists(p)]
    for u in units:
        paths.append(u.path)
        pair = u.option("pair")
        if isinstance(pair, str):
            paths.append(pair)
    return list(dict.fromkeys(paths))


def _drop_empty_validation(stage: Path, results: list[dict]) -> list[dict]:
    """A validation split that got no document at all is not written: `datasets` refuses a split
    whose files are all empty (a tiny corpus with a small --valid-fraction)."""
    valid = [r for r in results if r["split"] == 1]
    if not valid or any(r["records"] for r in valid):
        return results
    for r in valid:
        (stage / r["name"]).unlink(missing_ok=True)
    return [r for r in results if r["split"] == 0]


def _say(message: str) -> None:
    print(f"clean: {message}", file=sys.stderr)


def run_clean(config: CleanConfig) -> dict:
    """Run `clean`; returns the report that was written to DIR/report.json."""
    from corpusprep.readers import FailureLog, plan_units

    validate(config)
    t0 = time.perf_counter()
    failures = FailureLog(config.on_error)
    for item in config.inputs:
        if storage.is_url(item) or os.path.exists(item):
            require_complete_input(item)  # never clean an unfinished zooprep output as if it were data
    units = plan_units(list(config.inputs), fmt=config.fmt, encoding=config.encoding,
                       text_field=config.text_field, unit_bytes=config.unit_bytes, failures=failures)
    if not units:
        raise failures.nothing_read(config.inputs)
    units = shipping.units(units)  # absolute before any executor sees them; reports keep u.source
    for folder in sorted({os.path.dirname(u.path) for u in units}):
        require_complete_input(folder)  # ... nor one found inside an INPUT folder
    from corpusprep import options as opt

    opt.num_shards(config.num_shards, sum(unit_bytes(u) for u in units))
    fingerprint = config.fingerprint()
    pack_bytes = min(config.unit_bytes, PACK_BYTES)
    versions = input_versions(u.path for u in units)  # zooprep outputs read: compared again before the commit
    with OutputDir.open(config.out, "clean", _input_paths(config, units), overwrite=config.overwrite,
                        options=cli_options(config)) as od:
        work = od.open_work({"fingerprint": fingerprint, "pack_bytes": pack_bytes})
        if str(od.root) != str(config.out):  # a URL --out runs in its local mirror (outdir/remote.py)
            from dataclasses import replace

            config = replace(config, out=str(od.root))
        return _run(config, od, work, units, fingerprint, pack_bytes, t0, failures, versions)


def _run(config: CleanConfig, od: OutputDir, work: Path, units, fingerprint: str, pack_bytes: int, t0: float,
         failures, versions: dict | None = None) -> dict:
    timings = {"plan_s": time.perf_counter() - t0}
    packages = make_packages(units, pack_bytes)
    executor = on_nodes(make_executor(config.executor, config.workers, config.ray_address), od)
    config = shipping.with_out(config)  # workers find the work area from it: never relative
    try:
        t1 = time.perf_counter()
        package_stats = _phase_clean(config, packages, work, executor)
        timings["clean_s"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        near_offsets = None
        if any(st["near_dup"] for st in package_stats):
            near_offsets = near_duplicate_mask(
                work, [(st["package"], st["kept"], st["near_dup"]) for st in package_stats])
        timings["near_dup_s"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        depends = hashlib.sha256("".join(done_digest(package_dir(work, p.index)) for p in packages).encode()).hexdigest()
        shard_results = _phase_merge(config, len(packages), work, fingerprint, near_offsets, depends, executor)
        timings["merge_s"] = time.perf_counter() - t3
    finally:
        executor.close()

    shard_results = _drop_empty_validation(od.stage, shard_results)
    totals, files = build_counts(package_stats, shard_results, {u.index: u.source for u in units})
    for st in package_stats:
        for entry in st.get("failed", []):
            failures.add_record(entry)
    check_identity(totals, files)
    rejects = write_rejects(
        od.stage, (load_stats(package_dir(work, st["package"]))["samples"] for st in package_stats),
        (load_marker(work, r["name"])["samples"] for r in shard_results), config.rejects_sample)
    timings["total_s"] = time.perf_counter() - t0
    report = assemble_report(config, totals, files, shard_results, rejects, units, packages,
                             getattr(executor, "workers", config.workers), timings, failures.as_list())
    if report["read"] == 0:  # success means something was read: say why nothing was
        if failures.failed:
            raise failures.nothing_read(config.inputs)
        raise ZooprepError(f"{', '.join(map(str, config.inputs))}: nothing to clean: the inputs hold no documents")
    check_versions(versions or {})
    write_json(od.stage / "report.json", report)
    from corpusprep import card

    card.write_text(od.stage / card.CARD, card.clean_card(report, config.license))
    od.commit(last=["report.json"], plan=fingerprint,
              summary={"read": report["read"], "kept": report["kept"], "shards": len(shard_results)})
    return report


def _phase_clean(config, packages, work, executor) -> list[dict]:
    """Phase 1 over the packages not already finished; returns every package's stats in order."""
    done, why = set(), []
    for p in packages:
        if package_is_done(package_dir(work, p.index), package_key(p, config), why):
            done.add(p.index)
    for reason in why:
        _say(f"redoing the work of a previous run: {reason}")
    pending = [p for p in packages if p.index not in done]
    size = {p.index: sum(unit_bytes(u) for u in p.units) for p in packages}
    stats: dict[int, dict] = {}
    for i in done:
        stats[i] = load_stats(package_dir(work, i))
        stats[i].pop("samples", None)
    with progress(sum(size.values()), "clean", unit="B", enabled=config.progress) as advance:
        advance(sum(size[i] for i in done))
        fn = partial(process_package, config=config)
        for st in executor.map(fn, pending):
            st.pop("samples", None)  # kept on disk; memory holds only counts
            stats[st["package"]] = st
            advance(size[st["package"]])
    return [stats[p.index] for p in packages]


def _phase_merge(config, num_packages, work, fingerprint, near_offsets, depends, executor) -> list[dict]:
    splits = (0, 1) if config.valid_fraction > 0 else (0,)
    order = tuple(range(num_packages))
    names = {(s, k): shard_name(s, k, config.num_shards, config.layout) for s in splits for k in range(config.num_shards)}
    results: dict[tuple[int, int], dict] = {}
    tasks = []
    for (s, k), name in names.items():
        prior = shard_is_done(work, name, fingerprint, depends)
        if prior is not None:
            prior.pop("samples", None)
            results[(s, k)] = prior
        else:
            tasks.append(MergeTask(s, k, config, order, near_offsets, depends))
    with progress(len(names), "merge", unit="shards", enabled=config.progress) as advance:
        advance(len(results))
        for res in executor.map(merge_shard, tasks):
            res.pop("samples", None)
            results[(res["split"], res["shard"])] = res
            advance(1)
    return [results[key] for key in sorted(results)]
