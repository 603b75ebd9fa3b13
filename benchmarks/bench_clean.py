"""Benchmark `clean` throughput against bare read-and-decode of the same files, in one run.

    python benchmarks/bench_clean.py [--mb 64] [--corpora ../shared/corpora] [--skip-near-dup]

Builds a temporary corpus by replicating the shared corpus samples (every family, original
layouts) to about --mb megabytes, then times, single core (1 worker):

* read: plan_units + read_unit over every unit (the readers' iteration, records only);
* clean ops: read + every cleaning op and filter (batched), no output written;
* clean: the whole `clean` command (parquet, defaults: exact dedup, spill, merge, report);
* clean --layout uer; clean --near-dup.

Replicated copies are exact duplicates of each other, so the dedup drops most of them: the
output side is smaller than on a real corpus (read, clean and filter costs are not affected).
Writes the markdown table to benchmarks/results/clean.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def build_corpus(src: Path, dst: Path, target_bytes: int) -> int:
    files = [p for p in sorted(src.rglob("*")) if p.is_file() and p.name != "README.md"]
    per_copy = sum(p.stat().st_size for p in files)
    copies = max(1, round(target_bytes / max(per_copy, 1)))
    for i in range(copies):
        for p in files:
            out = dst / f"copy{i:02d}" / p.relative_to(src)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, out)
    return copies * per_copy


def time_read(inputs: list[str]) -> tuple[float, int, int]:
    from corpusprep.readers import plan_units, read_unit

    t = time.perf_counter()
    records = chars = 0
    for unit in plan_units(inputs):
        for item in read_unit(unit):
            records += 1
            chars += len(getattr(item, "text", ""))
    return time.perf_counter() - t, records, chars


def time_ops(inputs: list[str]) -> float:
    """Read + clean + filter in batches, as phase 1 does, without writing anything."""
    from corpusprep.cleaning.config import CleanConfig
    from corpusprep.cleaning.unit import BATCH_DOCS, Cleaner
    from corpusprep.readers import plan_units, read_unit
    from corpusprep.records import Record

    cfg = CleanConfig(inputs=tuple(inputs), out="unused")
    t = time.perf_counter()
    cleaners: dict[str, Cleaner] = {}
    for unit in plan_units(inputs):
        cleaner = cleaners.setdefault(unit.family, Cleaner.for_family(cfg, unit.family))
        batch: list[str] = []
        for item in read_unit(unit):
            if isinstance(item, Record):
                batch.append(item.text)
                if len(batch) >= BATCH_DOCS:
                    cleaner.process(batch)
                    batch = []
        if batch:
            cleaner.process(batch)
    return time.perf_counter() - t


def time_clean(inputs: list[str], out: Path, **options) -> tuple[float, dict]:
    from corpusprep.cleaning.config import CleanConfig
    from corpusprep.cleaning.pipeline import run_clean

    if out.exists():
        shutil.rmtree(out)
    cfg = CleanConfig(inputs=tuple(inputs), out=str(out), workers=1, progress=False, **options)
    t = time.perf_counter()
    report = run_clean(cfg)
    return time.perf_counter() - t, report


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=64.0, help="corpus size to build (MB)")
    ap.add_argument("--corpora", default=os.environ.get("ZOOPREP_SHARED", str(REPO.parent / "shared")) + "/corpora")
    ap.add_argument("--skip-near-dup", action="store_true")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "clean.md"))
    args = ap.parse_args()
    src = Path(args.corpora)
    if not src.is_dir():
        sys.exit(f"{src}: corpus samples not found (set ZOOPREP_SHARED or --corpora)")

    with tempfile.TemporaryDirectory(prefix="bench_clean_") as tmp:
        tmp_path = Path(tmp)
        size = build_corpus(src, tmp_path / "corpus", int(args.mb * (1 << 20)))
        inputs = [str(tmp_path / "corpus")]
        mb = size / (1 << 20)
        rows = []
        read_s, records, chars = time_read(inputs)
        rows.append(("read + decode (readers only)", read_s, None))
        ops_s = time_ops(inputs)
        rows.append(("read + clean ops + filters (no output)", ops_s, None))
        clean_s, report = time_clean(inputs, tmp_path / "out")
        rows.append(("`clean` (parquet, exact dedup)", clean_s, report))
        uer_s, uer_report = time_clean(inputs, tmp_path / "out_uer", layout="uer")
        rows.append(("`clean --layout uer`", uer_s, uer_report))
        if not args.skip_near_dup:
            nd_s, nd_report = time_clean(inputs, tmp_path / "out_nd", near_dup=True)
            rows.append(("`clean --near-dup`", nd_s, nd_report))

    lines = [
        "# clean throughput vs bare read-and-decode",
        "",
        f"- date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {machine()}",
        f"- command: `python benchmarks/bench_clean.py --mb {args.mb:g}{' --skip-near-dup' if args.skip_near_dup else ''}`",
        f"- corpus: shared corpus samples (all families, original layouts) replicated to {mb:.1f} MB, "
        f"{records:,} records, {chars:,} characters; single process (1 worker)",
        "",
        "| step | seconds | MB/s per core | x read time | kept / read |",
        "|---|---:|---:|---:|---|",
    ]
    for name, secs, rep in rows:
        kept = f"{rep['kept']:,} / {rep['read']:,}" if rep else ""
        lines.append(f"| {name} | {secs:.2f} | {mb / secs:.1f} | {secs / read_s:.2f} | {kept} |")
    lines += ["", "`x read time` is the aim's measure: cleaning should cost no more than 3x a bare read-and-decode.",
              "Replicated copies are exact duplicates, so `kept` is about one copy's worth."]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
