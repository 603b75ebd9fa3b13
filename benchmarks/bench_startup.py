"""Start-up CPU-seconds of `zooprep --help` and of `shard` on a 1 KB file, this checkout next to a
"before" checkout (``--before REV``, exported with ``git archive``) and next to the floor: a bare
interpreter and one that only imports what `shard` cannot do without (numpy, pyarrow, typer).

    python benchmarks/bench_startup.py [--before d5cd69e] [--repeat 7]

Each measurement is its own process (CPU time of the process tree from os.wait4); the table gives
the median of ``--repeat`` runs, interleaved so load drifts hit every row alike, after one warm-up
run of each that writes the bytecode caches (an installed zooprep has them; with
PYTHONDONTWRITEBYTECODE every run would compile the changed modules again). Writes
benchmarks/results/startup.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ZOOPREP_SHARED", REPO.parent / "shared"))
VOCAB = SHARED / "reference" / "vocab" / "google_zh_vocab.txt"
CLUE = SHARED / "corpora" / "cluecorpussmall" / "dbiir__UER-py" / "corpora" / "CLUECorpusSmall_sampled.txt"
TARGET = 0.3


def cpu_of(cmd: list[str], cwd: Path, env: dict) -> float:
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (status {status})")
    return usage.ru_utime + usage.ru_stime


def one_kb(path: Path) -> int:
    """Whole short lines of CLUECorpusSmall up to 1 KB."""
    out = b""
    for line in CLUE.read_bytes().splitlines(keepends=True):
        if len(line) <= 400 and line.strip():
            if len(out) + len(line) > 1024:
                break
            out += line
    path.write_bytes(out)
    return len(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", default="d5cd69e", help="git revision to compare with ('' to skip)")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_startup_"))
    try:
        corpus = tmp / "one_kb.txt"
        size = one_kb(corpus)
        trees = {"after": REPO}
        if args.before:
            before = tmp / "before"
            before.mkdir()
            archive = subprocess.run(["git", "-C", str(REPO), "archive", args.before], check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
            trees = {"before": before, **trees}
        py = sys.executable
        rows: dict[str, list[float]] = {}
        cases = [("python -c pass (interpreter)", None, [py, "-c", "pass"]),
                 ("python -c 'import numpy, pyarrow, typer' (floor of shard)", None,
                  [py, "-c", "import numpy, pyarrow, typer"])]
        for label, tree in trees.items():
            cases.append((f"{label}: zooprep --help", tree, [py, "cli.py", "--help"]))
            cases.append((f"{label}: zooprep shard 1 KB (mlm, google vocab, 1 worker)", tree,
                          [py, "cli.py", "shard", str(corpus), "--out", "{out}", "--vocab", str(VOCAB),
                           "--seq-len", "128", "--workers", "1"]))
        env0 = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        for i in range(-1, args.repeat):  # pass -1: warm-up (bytecode caches), not counted
            for name, tree, cmd in cases:
                cwd = tree or REPO
                env = dict(env0, PYTHONPATH=str(cwd), OMP_NUM_THREADS="1")
                out = tmp / f"out{i}_{abs(hash(name))}"
                cpu = cpu_of([c.replace("{out}", str(out)) for c in cmd], cwd, env)
                if i >= 0:
                    rows.setdefault(name, []).append(cpu)
                shutil.rmtree(out, ignore_errors=True)
        lines = ["# Start-up CPU-seconds", "",
                 f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
                 f"- machine: {platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, Python "
                 f"{platform.python_version()})",
                 f"- command: `python benchmarks/bench_startup.py --before {args.before} --repeat {args.repeat}`",
                 f"- input: {size} bytes of CLUECorpusSmall lines; median of {args.repeat} interleaved runs after "
                 "a warm-up run (bytecode cached), CPU time of each process (os.wait4)",
                 f"- target (issue 24): <= {TARGET} CPU-s for `shard` of a 1 KB file and for `--help`", "",
                 "| run | CPU-s (median) | min | max | vs floor |", "|---|---|---|---|---|"]
        floor = statistics.median(rows[cases[1][0]])
        for name, _, _ in cases:
            v = rows[name]
            m = statistics.median(v)
            lines.append(f"| {name} | {m:.3f} | {min(v):.3f} | {max(v):.3f} | {m / floor:.2f}x |")
        text = "\n".join(lines) + "\n"
        out = REPO / "benchmarks" / "results" / "startup.md"
        out.write_text(text, encoding="utf-8")
        print(text)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
