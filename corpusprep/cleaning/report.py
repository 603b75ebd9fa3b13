"""report.json and DIR/rejects/: totals that add up, overall and per input file."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from corpusprep.atomic import atomic_open

_FIELDS = ("read", "kept", "chars_in", "chars_out", "bytes_in", "bytes_out")


def _empty() -> dict:
    d = {f: 0 for f in _FIELDS}
    d["dropped"] = {}
    return d


def _add_dropped(into: dict, dropped: dict) -> None:
    for reason, n in dropped.items():
        into[reason] = into.get(reason, 0) + n


def build_counts(package_stats: list[dict], shard_results: list[dict], unit_paths: dict[int, str]) -> tuple[dict, dict]:
    """(totals, files): phase-1 counts minus the duplicates phase 2 removed, per input file."""
    files: dict[str, dict] = {}
    for st in package_stats:
        for path, c in st["files"].items():
            f = files.setdefault(path, _empty())
            for field in _FIELDS:
                f[field] += c[field]
            _add_dropped(f["dropped"], c["dropped"])
    for res in shard_results:
        for unit, dropped in res["dropped"].items():
            f = files[unit_paths[int(unit)]]
            f["kept"] -= sum(dropped.values())
            _add_dropped(f["dropped"], dropped)
            f["chars_out"] -= res["lost_chars"].get(unit, 0)
            f["bytes_out"] -= res["lost_bytes"].get(unit, 0)
    totals = _empty()
    for f in files.values():
        for field in _FIELDS:
            totals[field] += f[field]
        _add_dropped(totals["dropped"], f["dropped"])
        f["dropped"] = dict(sorted(f["dropped"].items()))
    totals["dropped"] = dict(sorted(totals["dropped"].items()))
    return totals, dict(sorted(files.items()))


def check_identity(totals: dict, files: dict) -> None:
    """read == kept + sum(dropped), overall and per file; a violation is a bug, never hidden."""
    for where, c in [("total", totals), *files.items()]:
        if c["read"] != c["kept"] + sum(c["dropped"].values()):
            raise AssertionError(f"accounting broken for {where}: {c}")


def write_rejects(out: Path, unit_samples: Iterable[dict], shard_samples: Iterable[dict], k: int) -> dict[str, int]:
    """Write DIR/rejects/<reason>.jsonl: the first ``k`` dropped records per reason in corpus order.

    ``unit_samples`` yields each package's reason -> entries in corpus order (read lazily from the
    work directory, so memory holds at most ``k`` entries per reason); ``shard_samples`` the same
    for the duplicates each shard dropped (entries carry package and position for ordering).
    """
    by_reason: dict[str, list] = {}
    for samples in unit_samples:
        for reason, entries in samples.items():
            bucket = by_reason.setdefault(reason, [])
            bucket.extend(entries[: max(0, k - len(bucket))])
    dup: dict[str, list] = {}
    for samples in shard_samples:
        for reason, entries in samples.items():
            bucket = dup.setdefault(reason, [])
            bucket.extend(entries)
            bucket.sort(key=lambda e: (e["package"], e["pos"]))
            del bucket[k:]
    for reason, entries in dup.items():
        by_reason[reason] = [{key: v for key, v in e.items() if key not in ("package", "pos")} for e in entries]
    folder = out / "rejects"
    if folder.exists():
        current = {_safe(r) for r in by_reason}
        for old in folder.glob("*.jsonl"):
            if old.stem not in current:
                old.unlink()
    written = {}
    for reason, entries in sorted(by_reason.items()):
        with atomic_open(folder / f"{_safe(reason)}.jsonl") as fh:
            for e in entries:
                fh.write(json.dumps(e, ensure_ascii=False) + "\n")
        written[reason] = len(entries)
    return written


def _safe(reason: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in reason) or "unknown"


def file_plans(units: list) -> dict[str, dict]:
    """Per input file, what planning decided: family, layout, encoding, compression, text field."""
    out: dict[str, dict] = {}
    for u in units:
        if u.source in out:
            continue
        plan = {"family": u.family, "layout": u.option("layout"), "encoding": u.encoding,
                "compression": u.compression, "text_field": u.option("text_field")}
        if u.option("layout") == "csv":
            plan["header"] = u.option("csv_header", True)
        if u.option("text_choice"):
            plan["text_choice"] = u.option("text_choice")
        out[u.source] = plan
    return out


def input_accounting(files: dict, failed: list[dict]) -> dict:
    """Files named by the inputs = files read + files failed (a file that failed part-way is in both
    ``files`` and ``failed_files``); bytes likewise."""
    failed_paths = {f["path"] for f in failed}
    read_only = [p for p in files if p not in failed_paths]
    return {"files": len(read_only) + len(failed_paths), "read": len(read_only), "failed": len(failed_paths),
            "bytes_read": sum(files[p]["bytes_in"] for p in read_only),
            "bytes_failed": sum(f.get("bytes") or 0 for f in failed)}


def family_counts(files: dict) -> dict[str, dict]:
    """Per corpus family (mixed folders): the per-file counts added up (``files`` carries each file's family)."""
    out: dict[str, dict] = {}
    for counts in files.values():
        f = out.setdefault(counts.get("family") or "unknown", {**_empty(), "files": 0})
        f["files"] += 1
        for field in _FIELDS:
            f[field] += counts[field]
        _add_dropped(f["dropped"], counts["dropped"])
    return {name: {**c, "dropped": dict(sorted(c["dropped"].items()))} for name, c in sorted(out.items())}


ONE_DOC_CHARS = 2000  # a file read as one document at least this long earns a hint
HINT_FILES = 5


def clean_hints(files: dict) -> list[str]:
    """Advice the per-file numbers call for (report.json ``hints``; `report` shows them)."""
    one = [(p, c) for p, c in files.items() if c["kept"] == 1 and c["chars_out"] >= ONE_DOC_CHARS]
    out = []
    if one:
        names = ", ".join(f"{p} ({c['chars_out']} chars)" for p, c in one[:HINT_FILES])
        more = f" and {len(one) - HINT_FILES} more" if len(one) > HINT_FILES else ""
        out.append(f"{len(one)} file(s) became one long document each: {names}{more}; lines without "
                   "blank-line separators (lyrics, chapters) are one text: check --format / the layout")
    return out


def assemble_report(config, totals: dict, files: dict, shard_results: list[dict], rejects: dict[str, int],
                    units: list, packages: list, workers, timings: dict, failed: list[dict] | None = None) -> dict:
    """The report.json object (docs/FORMATS.md section 5)."""
    from corpusprep import __version__
    from corpusprep.histogram import merge

    failed = failed or []
    plans = file_plans(units)
    for path, counts in files.items():
        counts.update(plans.get(path, {}))
    return {
        "zooprep_version": __version__,
        "command": "clean",
        **{k: totals[k] for k in ("read", "kept", "dropped", "chars_in", "chars_out", "bytes_in", "bytes_out")},
        "files": files,
        "inputs": input_accounting(files, failed),
        "failed_files": failed,
        "shards": [{"path": r["name"], "split": ("train", "validation")[r["split"]], "records": r["records"],
                    "sha256": r["sha256"]} for r in shard_results],
        "rejects": {"dir": "rejects", "sampled": rejects},
        "units": len(units),
        "packages": len(packages),
        "families": {f: list(config.ops_for(f)) for f in sorted({u.family for u in units})},
        "by_family": family_counts(files),
        "hints": clean_hints(files),
        "lengths": {"chars_per_document": merge(r.get("chars_per_document") for r in shard_results)},
        "options": config.output_options(),
        "license": config.license,
        "workers": workers,
        "executor": config.executor,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
