"""Encode once, pack at load time: `shard --encode-only` + views vs `shard` twice (seq 128, then 512).

    nice python benchmarks/bench_views.py [--mb 4] [--batches 300]

On one corpus (the shared CLUECorpusSmall/zhwiki samples repeated to --mb, bench_shard.build_corpus):
1. CPU-seconds (the command's process and its children, os.wait4) and bytes on disk of
   `shard --encode-only` against `shard --seq-len 128` + `shard --seq-len 512` (mlm, with and without
   --full-sentences);
2. the view index: computed (cold) and mapped from the cache (warm), CPU-seconds;
3. loader rows per CPU-second at seq 128 and 512, from the view and from the shard directory: raw
   ``take`` of shuffled batches, and whole masked batches (PretrainStream.numpy_batch_at).
Writes benchmarks/results/views.md. CPU time, not wall time: the machine is shared.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_shard import VOCAB, build_corpus  # noqa: E402  (one corpus writer for the benchmarks)

OUT = REPO / "benchmarks" / "results" / "views.md"


def run_cpu(args: list[str]) -> float:
    """CPU-seconds (user + system) of ``cli.py ARGS`` and everything it started."""
    proc = subprocess.Popen([sys.executable, "cli.py", *args], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"cli.py {' '.join(args)} failed:\n{err[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def dir_bytes(d: Path) -> int:
    """Bytes of the data and metadata files (the .zooprep bookkeeping excluded)."""
    return sum(p.stat().st_size for p in d.iterdir() if p.is_file())


def shard_args(corpus: Path, out: Path, *flags: str) -> list[str]:
    return ["shard", str(corpus), "--vocab", str(VOCAB), "--out", str(out), "--workers", "1", *flags]


def cpu(fn, repeats: int = 3):
    """(least CPU-seconds of ``repeats`` calls, the result): the least is the least disturbed."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def cpu_each(fn, calls: int = 30) -> float:
    """CPU-seconds per call, over ``calls`` calls (the process clock may tick in 10 ms steps)."""
    t = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - t) / calls


def loader_rates(reader, batches: int, seed: int = 3) -> tuple[float, float]:
    """(rows per CPU-s of raw take, rows per CPU-s of masked batches) over shuffled batches of 32
    (best of three passes)."""
    from corpusprep.feed.stream import PretrainStream, StreamConfig

    stream = PretrainStream(StreamConfig(directory=str(getattr(reader, "directory", "")), batch_size=32, seed=seed),
                            reader=reader)
    per = stream.order.batches_per_epoch
    positions = [divmod(i, per) for i in range(batches)]
    t_take, _ = cpu(lambda: [reader.take(stream.order.rows(e, b)) for e, b in positions])
    t_full, _ = cpu(lambda: [stream.numpy_batch_at(e, b) for e, b in positions])
    rows = 32 * batches
    return rows / t_take, rows / t_full


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=4.0, help="corpus size in MB")
    ap.add_argument("--batches", type=int, default=300, help="loader batches (of 32) per measurement")
    args = ap.parse_args()
    from corpusprep.feed.shards import ShardReader
    from corpusprep.feed.views import EncodedCorpus, ViewConfig, ViewReader, build_index

    with tempfile.TemporaryDirectory(prefix="bench-views-") as tmp:
        tmp = Path(tmp)
        corpus = tmp / "corpus.txt"
        size = build_corpus(corpus, args.mb)
        enc = tmp / "enc"
        t_enc = run_cpu(shard_args(corpus, enc, "--encode-only"))
        enc_bytes = dir_bytes(enc)
        rows_build = []
        shard_dirs = {}
        for label, flags in (("mlm", ()), ("mlm --full-sentences", ("--full-sentences",))):
            t, b = 0.0, 0
            for seq in (128, 512):
                out = tmp / f"{label.replace(' --', '-')}-{seq}"
                t += run_cpu(shard_args(corpus, out, "--seq-len", str(seq), *flags))
                b += dir_bytes(out)
                shard_dirs[(label, seq)] = out
            rows_build.append((f"`shard` {label} at 128 + 512", t, b))
        corpus_obj = EncodedCorpus(enc)
        index_rows = []
        for seq in (128, 512):
            view = ViewConfig("mlm", seq)
            index = build_index(view, corpus_obj)
            t_cold = cpu_each(lambda: build_index(view, corpus_obj))
            cache = tmp / "cache"
            ViewReader(enc, view, cache_dir=cache)
            t_warm = cpu_each(lambda: ViewReader(enc, view, cache_dir=cache))
            t_open = cpu_each(lambda: ShardReader(shard_dirs[("mlm", seq)]))
            index_rows.append((seq, len(index), t_cold, t_warm, t_open))
        load_rows = []
        for seq in (128, 512):
            for fs in (False, True):
                label = "mlm --full-sentences" if fs else "mlm"
                view = ViewReader(enc, ViewConfig("mlm", seq, fs), cache_dir=tmp / "cache")
                shard_reader = ShardReader(shard_dirs[(label, seq)])
                assert len(view) == len(shard_reader)
                load_rows.append((seq, label, *loader_rates(view, args.batches),
                                  *loader_rates(shard_reader, args.batches)))

    lines = [
        "# Encode once, pack at load time (views)",
        "",
        f"`python benchmarks/bench_views.py --mb {args.mb:g} --batches {args.batches}` on "
        f"{dt.date.today().isoformat()}, {platform.machine()}, Python {platform.python_version()}, one "
        f"process each (`--workers 1`), a shared machine: CPU-seconds, not wall time (loader: the best of "
        f"three passes; index and opening: the mean of 30 calls). Corpus: "
        f"{size / 1e6:.1f} MB (shared CLUECorpusSmall + zhwiki samples repeated), char vocab google_zh_vocab.txt.",
        "",
        "## Build: encode once vs shard twice",
        "",
        "| output | CPU-s | bytes on disk |",
        "|---|---:|---:|",
        f"| `shard --encode-only` (serves mlm/lm/bilm at every seq len) | {t_enc:.2f} | {enc_bytes:,} |",
    ]
    for label, t, b in rows_build:
        lines.append(f"| {label} | {t:.2f} | {b:,} |")
    lines += [
        "",
        "Shard directories are format 2 (rows stored unpadded): two lengths are two tokenizations and two",
        "copies of the tokens, the encoded corpus is one of each.",
        "",
        "## The view index (mlm, doc-chunk)",
        "",
        "| seq len | rows | index computed, CPU-ms | view opened from the cache, CPU-ms | shard dir opened, CPU-ms |",
        "|---:|---:|---:|---:|---:|",
    ]
    for seq, n, cold, warm, open_ in index_rows:
        lines.append(f"| {seq} | {n:,} | {cold * 1e3:.2f} | {warm * 1e3:.2f} | {open_ * 1e3:.2f} |")
    lines += [
        "",
        "## Loader: rows per CPU-second (shuffled batches of 32)",
        "",
        "| seq len | rows | view: take | view: masked batches | shard dir: take | shard dir: masked batches |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for seq, label, vt, vf, st, sf in load_rows:
        lines.append(f"| {seq} | {label} | {vt:,.0f} | {vf:,.0f} | {st:,.0f} | {sf:,.0f} |")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
