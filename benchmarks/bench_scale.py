"""Scale benchmark: `clean` + `shard` on growing corpora, throughput and peak memory of each.

For each size: build a one-document-per-line corpus (benchmarks/make_big_corpus.py), run
`clean --format cluecorpussmall --layout uer`, then `shard --processor mlm --seq-len 512` with the
google_zh vocab on the cleaned text, then `verify` both outputs. Every stage runs as a subprocess;
its peak memory is measured two ways: the largest single process (wait4 rusage, covers workers
too) and the whole process tree summed (polled from /proc every 0.1 s). Memory must stay flat as
the size grows: the table ends with the ratio of the largest to the smallest size's peaks.

    python benchmarks/bench_scale.py                                 # smoke run: 32 MB and 128 MB, 8 MB units
    python benchmarks/bench_scale.py --sizes 1GB,4GB --unit-mb 64    # the issue-6 run (~20 min on 2 quiet cores, ~20 GB disk)

Units must be much smaller than the corpus for every worker to be busy, which is why the smoke
run uses 8 MB units; the 1 GB / 4 GB run uses clean's default unit size (64 MB).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from make_big_corpus import parse_size, write_corpus  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "scale.md"
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class StageRun:
    size: str
    stage: str
    input_bytes: int
    wall_s: float
    max_proc_rss: int  # bytes, largest single process (rusage)
    peak_tree_rss: int  # bytes, all processes of the stage together (polled)
    returncode: int
    output_bytes: int = 0


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants right now."""
    kids, total, todo = _children_map(), 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * _PAGE
        except OSError:
            pass
        todo += kids.get(p, [])
    return total


def run_stage(cmd: list[str], size: str, stage: str, input_bytes: int, log: Path) -> StageRun:
    """Run one CLI stage, polling its process tree's memory; wait4 gives the largest process RSS."""
    t0 = time.perf_counter()
    with open(log, "ab") as fh:
        fh.write(("$ " + " ".join(cmd) + "\n").encode())
        fh.flush()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=fh, cwd=REPO)
        peak = [0]
        done = threading.Event()

        def poll():
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss(proc.pid))
                done.wait(0.1)

        th = threading.Thread(target=poll, daemon=True)
        th.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        done.set()
        th.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return StageRun(size, stage, input_bytes, wall, usage.ru_maxrss * 1024, peak[0], proc.returncode)


def dir_bytes(path: Path, suffixes: tuple[str, ...]) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and p.suffix in suffixes)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores usable, {mem:.0f} GiB RAM, Python {platform.python_version()}"


def render(runs: list[StageRun], workers: int) -> str:
    mb = 1e6
    rows = ["| size | stage | input MB | output MB | wall s | MB/s | MB/s per worker | max process RSS MB | peak tree RSS MB | ok |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in runs:
        rate = r.input_bytes / r.wall_s / mb if r.wall_s else 0.0
        rows.append(f"| {r.size} | {r.stage} | {r.input_bytes / mb:,.1f} | {r.output_bytes / mb:,.1f} | {r.wall_s:,.1f} | {rate:,.2f} | "
                    f"{rate / workers:,.2f} | {r.max_proc_rss / mb:,.0f} | {r.peak_tree_rss / mb:,.0f} | "
                    f"{'yes' if r.returncode == 0 else f'exit {r.returncode}'} |")
    sizes = list(dict.fromkeys(r.size for r in runs))
    if len(sizes) > 1:
        rows.append("")
        rows.append(f"Peak memory, largest size ({sizes[-1]}) / smallest size ({sizes[0]}); flat memory means ~1.0:")
        rows.append("")
        rows.append("| stage | max process RSS ratio | peak tree RSS ratio |")
        rows.append("|---|---:|---:|")
        for stage in dict.fromkeys(r.stage for r in runs):
            first = next(r for r in runs if r.stage == stage and r.size == sizes[0])
            last = next(r for r in runs if r.stage == stage and r.size == sizes[-1])
            rows.append(f"| {stage} | {last.max_proc_rss / max(first.max_proc_rss, 1):.2f} | "
                        f"{last.peak_tree_rss / max(first.peak_tree_rss, 1):.2f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="clean + shard throughput and peak RSS on growing corpora")
    ap.add_argument("--sizes", default="32MB,128MB", help="comma-separated corpus sizes (default: a smoke run)")
    ap.add_argument("--unit-mb", type=int, default=8, help="work unit size of clean and shard, MB (default 8)")
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/zooprep-bench-scale"))
    ap.add_argument("--vocab", type=Path, default=REPO.parent / "shared/reference/vocab/google_zh_vocab.txt")
    ap.add_argument("--shard-mb", type=int, default=256,
                    help="clean writes one output shard per this many MB of input (exact dedup holds one "
                         "shard's keys at a time, so fixed-size shards keep memory flat; default 256)")
    ap.add_argument("--keep", action="store_true", help="keep corpora and outputs (default: delete per size)")
    ap.add_argument("--no-write", action="store_true", help="print the table only, do not write results/scale.md")
    args = ap.parse_args(argv)
    if not args.vocab.is_file():
        raise SystemExit(f"error: {args.vocab}: vocab missing (pass --vocab)")
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    free = shutil.disk_usage(args.workdir.parent if not args.workdir.exists() else args.workdir).free
    if free < 3 * max(parse_size(s) for s in sizes):
        raise SystemExit(f"error: {args.workdir}: {free / 1e9:.1f} GB free, about {3 * max(map(parse_size, sizes)) / 1e9:.1f} GB needed")
    args.workdir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    log = args.workdir / "bench_scale.log"
    log.write_text("")
    py, cli = sys.executable, str(REPO / "cli.py")
    runs: list[StageRun] = []
    for size in sizes:
        base = args.workdir / size
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        corpus = base / "corpus.txt"
        t0 = time.perf_counter()
        write_corpus(corpus, parse_size(size))
        print(f"[{size}] corpus built in {time.perf_counter() - t0:.0f}s: {corpus.stat().st_size:,} bytes", flush=True)
        clean_out, shard_out = base / "clean", base / "shard"
        num_shards = max(1, -(-parse_size(size) // (args.shard_mb << 20)))
        clean_bytes = lambda: dir_bytes(clean_out, (".txt",))  # noqa: E731
        shard_bytes = lambda: dir_bytes(shard_out, (".arrow",))  # noqa: E731
        stages = [  # (stage, command, input bytes, output bytes)
            ("clean", [py, cli, "clean", str(corpus), "--format", "cluecorpussmall", "--layout", "uer",
                       "--num-shards", str(num_shards), "--unit-mb", str(args.unit_mb), "--workers", str(args.workers),
                       "--no-progress", "--out", str(clean_out)],
             lambda: corpus.stat().st_size, clean_bytes),
            ("shard", [py, cli, "shard", str(clean_out), "--vocab", str(args.vocab), "--seq-len", "512",
                       "--processor", "mlm", "--unit-mb", str(args.unit_mb), "--workers", str(args.workers), "--out", str(shard_out)],
             clean_bytes, shard_bytes),
            ("verify", [py, cli, "verify", str(clean_out), str(shard_out)],
             lambda: clean_bytes() + shard_bytes(), lambda: 0),
        ]
        for stage, cmd, input_bytes, output_bytes in stages:
            input_size = input_bytes()
            run = run_stage(cmd, size, stage, input_size, log)
            run.output_bytes = output_bytes() if run.returncode == 0 else 0
            runs.append(run)
            print(f"[{size}] {stage}: {run.wall_s:.1f}s, exit {run.returncode}, "
                  f"peak tree RSS {run.peak_tree_rss / 1e6:.0f} MB", flush=True)
            if run.returncode != 0:
                print(f"  see {log}", flush=True)
                break
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    table = render(runs, args.workers)
    print(table)
    if not args.no_write:
        cmd = "python benchmarks/bench_scale.py " + " ".join(argv if argv is not None else sys.argv[1:])
        text = (f"# Scale benchmark: clean + shard, throughput and peak memory\n\n"
                f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}\n- machine: {machine()}\n"
                f"- command: `{cmd.strip()}`\n- workers: {args.workers} (local executor)\n"
                f"- load average (1 min) at start / end: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
                f"(above the worker count means other jobs shared the cores: slower, noisier numbers)\n"
                f"- corpus: benchmarks/make_big_corpus.py (demo composer sentences, one document per line)\n"
                f"- clean: `--format cluecorpussmall --layout uer --unit-mb {args.unit_mb}`, `--num-shards` = one per "
                f"{args.shard_mb} MB of input; "
                f"shard: `--processor mlm --seq-len 512 --vocab google_zh_vocab.txt --unit-mb {args.unit_mb}`\n"
                f"- MB/s = input bytes of the stage / wall time (verify: bytes hashed). "
                f"max process RSS = largest single process (wait4); peak tree RSS = all processes summed (/proc poll)\n\n"
                f"{table}\n")
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        from corpusprep.atomic import atomic_open

        with atomic_open(RESULTS) as fh:
            fh.write(text)
        print(f"wrote {RESULTS}")
    return 0 if all(r.returncode == 0 for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
