"""`clean` and `shard` against a local S3-compatible server vs the local disk, side by side.

One run measures, for each command, three placements of the same data (fresh output each time):

- local:      input and --out on the local disk (the anchor);
- s3 in:      input (and the vocab) read from the S3 server, --out on the local disk;
- s3 in+out:  input read from and --out written to the S3 server (a local mirror, then a publish).

The S3 server is moto's ThreadedMotoServer in its own process on 127.0.0.1 (the test fixture's
server). CPU is accounted as: driver = the zooprep process and every process it started and waited
for (``RUSAGE_CHILDREN`` around the run, ``--workers 1``); server = the server process's own
utime + stime from /proc before and after the run. A real object store's CPU is not on the user's
machine, so "driver" is the figure that matters there; "driver + server" is the whole cost here.
The S3 in+out run of each command is also profiled once (cProfile, in the zooprep process) and its
CPU time is split into groups: where the time goes.

    python benchmarks/bench_storage.py [--mb 16] [--small-mb 5] [--repeat 2]

Prints a markdown table and writes benchmarks/results/storage.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import pstats
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from make_big_corpus import write_corpus  # noqa: E402

KEY, SECRET = "bench-key", "bench-secret-value"
TICK = os.sysconf("SC_CLK_TCK")
SERVER = """
import sys, time
from moto.server import ThreadedMotoServer
s = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
s.start()
print("ready", flush=True)
time.sleep(10**9)
"""
# cProfile with a CPU clock (process_time: every thread of the process). fsspec runs its S3 I/O on an
# event-loop thread that cProfile does not trace; its CPU shows up under the main thread's wait for it.
PROFILED = """
import cProfile, runpy, sys, time
out = sys.argv.pop(1)
sys.argv = sys.argv[1:]
p = cProfile.Profile(time.process_time)
try:
    p.runcall(runpy.run_path, sys.argv[0], run_name="__main__")
except SystemExit:
    pass
p.dump_stats(out)
"""
# cProfile groups: first matching substring of "file:function" wins
GROUPS = [
    ("S3 I/O thread (fsspec event loop: aiobotocore, aiohttp, ssl; seen as the main thread's wait)",
     ("fsspec/asyn.py", "acquire' of '_thread.lock", "method 'wait'", "threading.py")),
    ("S3 client (s3fs, aiobotocore, botocore, aiohttp, ssl, asyncio)",
     ("s3fs", "botocore", "aiohttp", "asyncio", "ssl", "yarl", "multidict", "urllib3", "aiohappyeyeballs",
      "selectors", "select.epoll", "socket")),
    ("fsspec layer (caching, callbacks)", ("fsspec",)),
    ("sha256 (checksums, identities)", ("_hashlib", "hashlib", "sha256")),
    ("zooprep storage / remote output (publish, mirror, cache)", ("corpusprep/storage", "corpusprep/outdir/remote")),
    ("Arrow / Parquet", ("pyarrow",)),
    ("tokenize + pack (zh_tokenizers, instances)", ("zh_tokenizers", "corpusprep/instances")),
    ("clean ops, readers, merge (corpusprep)", ("corpusprep",)),
    ("start-up: imports, regex and table set-up, CLI", ("importlib", "<frozen", "marshal.loads", "builtins.compile",
                                                       "_imp.", "re/_", "inspect.py", "__build_class__", "typing.py",
                                                       "enum.py", "dataclasses.py", "typer", "click",
                                                       "set_default_verify_paths", "load_verify_locations")),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as fh:
        fields = fh.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc, f"http://127.0.0.1:{port}"


def run(args: list[str], env: dict, server_pid: int, profile: Path | None = None) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    s0 = cpu_of(server_pid)
    t0 = time.perf_counter()
    prefix = [sys.executable, "-c", PROFILED, str(profile)] if profile else [sys.executable]
    done = subprocess.run([*prefix, str(REPO / "cli.py"), *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{done.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    driver = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "driver": driver, "server": cpu_of(server_pid) - s0}


def _group(key) -> str | None:
    where = f"{key[0]}:{key[2]}"
    ordered = GROUPS[:1] + GROUPS[-1:] + GROUPS[1:-1]  # the I/O thread and start-up before the packages
    return next((name for name, keys in ordered if any(k in where for k in keys)), None)


def run_python(code: str, env: dict) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def where_time_goes(profile: Path) -> list[tuple[str, float]]:
    """CPU per group; a built-in function's time goes to the groups of its callers (pro rata)."""
    stats = pstats.Stats(str(profile)).stats
    totals: dict[str, float] = {}
    other = "other Python (callers not in a group)"
    for key, (_, _, tottime, _, callers) in stats.items():
        group = _group(key)
        if group is None and key[0] == "~" and callers:
            shares = {c: v[2] for c, v in callers.items()}
            whole = sum(shares.values()) or 1.0
            for caller, t in shares.items():
                g = _group(caller) or other
                totals[g] = totals.get(g, 0.0) + tottime * t / whole
            continue
        totals[group or other] = totals.get(group or other, 0.0) + tottime
    return sorted(totals.items(), key=lambda kv: -kv[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=16, help="corpus size in MB (10^6 bytes)")
    ap.add_argument("--small-mb", type=float, default=None, help="second, smaller size for the cost at the margin "
                    "(default: a third of --mb)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per placement (the fastest by CPU is kept)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "storage.md")
    a = ap.parse_args(argv)
    a.small_mb = a.small_mb or a.mb / 3
    server, endpoint = start_server()
    tmp = Path(tempfile.mkdtemp(prefix="zp-bench-storage-"))
    try:
        import boto3

        corpus = tmp / "corpus.txt"
        write_corpus(corpus, int(a.mb * 1e6))
        mb = corpus.stat().st_size / 1e6
        chars = sorted({ch for ch in corpus.read_text(encoding="utf-8") if not ch.isspace()})
        vocab = tmp / "vocab.txt"
        vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]) + "\n", encoding="utf-8")
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                          region_name="us-east-1")
        s3.create_bucket(Bucket="bench")
        s3.upload_file(str(corpus), "bench", "corpus.txt")
        s3.upload_file(str(vocab), "bench", "vocab.txt")
        env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET,
                   AWS_DEFAULT_REGION="us-east-1", ZOOPREP_CACHE=str(tmp / "cache"), OMP_NUM_THREADS="1")
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
        common = ["--workers", "1"]
        clean_in = {"local": str(corpus), "s3 in": "s3://bench/corpus.txt", "s3 in+out": "s3://bench/corpus.txt"}
        places = ["local", "s3 in", "s3 in+out"]

        def out_for(place: str, what: str, i: int) -> str:
            return f"s3://bench/{what}-{i}" if place == "s3 in+out" else str(tmp / f"{what}-{place.replace(' ', '')}-{i}")

        results: dict[tuple[str, str], dict] = {}
        for i in range(a.repeat):  # interleaved: every placement sees the same machine load
            for place in places:
                r = run(["clean", clean_in[place], "--num-shards", "2", "--no-progress", "--out",
                         out_for(place, "clean", i), *common], env, server.pid)
                best = results.get(("clean", place))
                if best is None or r["driver"] + r["server"] < best["driver"] + best["server"]:
                    results[("clean", place)] = r
        shard_in = {"local": (out_for("local", "clean", 0), str(vocab)),
                    "s3 in": ("s3://bench/clean-0", "s3://bench/vocab.txt"),
                    "s3 in+out": ("s3://bench/clean-0", "s3://bench/vocab.txt")}
        for i in range(a.repeat):
            for place in places:
                src, voc = shard_in[place]
                r = run(["shard", src, "--vocab", voc, "--processor", "mlm", "--seq-len", "128", "--out",
                         out_for(place, "shard", i), *common], env, server.pid)
                best = results.get(("shard", place))
                if best is None or r["driver"] + r["server"] < best["driver"] + best["server"]:
                    results[("shard", place)] = r
        # The same at a smaller size: the difference between the two sizes is the cost per MB at the
        # margin, free of every fixed cost (start-up, imports, per-run requests).
        small = tmp / "small.txt"
        write_corpus(small, int(a.small_mb * 1e6))  # same seed: a prefix of the corpus (the vocab covers it)
        s3.upload_file(str(small), "bench", "small.txt")
        small_in = {"local": str(small), "s3 in+out": "s3://bench/small.txt"}
        margin_places = ["local", "s3 in+out"]
        smalls: dict[tuple[str, str], dict] = {}
        for i in range(a.repeat):
            for place in margin_places:
                out = out_for(place, "sclean", i)
                r = run(["clean", small_in[place], "--num-shards", "2", "--no-progress", "--out", out, *common], env,
                        server.pid)
                if ("clean", place) not in smalls or r["driver"] < smalls[("clean", place)]["driver"]:
                    smalls[("clean", place)] = r
                src, voc = (out_for(place, "sclean", 0), shard_in[place][1])
                r = run(["shard", src, "--vocab", voc, "--processor", "mlm", "--seq-len", "128", "--out",
                         out_for(place, "sshard", i), *common], env, server.pid)
                if ("shard", place) not in smalls or r["driver"] < smalls[("shard", place)]["driver"]:
                    smalls[("shard", place)] = r
        small_mb = small.stat().st_size / 1e6
        imports = {}  # the S3 client stack's import, a fixed cost of every process that touches a URL
        for name, code in (("bare", "pass"), ("s3", "import s3fs, aiobotocore.session, botocore.session")):
            imports[name] = min(run_python(code, env) for _ in range(2))
        profiles = {}
        for what, args in (("clean", ["clean", "s3://bench/corpus.txt", "--num-shards", "2", "--no-progress",
                                      "--out", "s3://bench/clean-prof"]),
                           ("shard", ["shard", "s3://bench/clean-0", "--vocab", "s3://bench/vocab.txt", "--processor",
                                      "mlm", "--seq-len", "128", "--out", "s3://bench/shard-prof"])):
            prof = tmp / f"{what}.prof"
            run([*args, *common], env, server.pid, profile=prof)
            profiles[what] = where_time_goes(prof)
        import json

        report = json.loads((Path(out_for("local", "clean", 0)) / "report.json").read_text(encoding="utf-8"))
        shard_mb = report["bytes_out"] / 1e6  # the cleaned text shard reads (UTF-8 bytes)
        report = json.loads((Path(out_for("local", "sclean", 0)) / "report.json").read_text(encoding="utf-8"))
        small_shard_mb = report["bytes_out"] / 1e6
    finally:
        server.kill()
        server.wait()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)

    lines = [
        "# Object storage (S3) vs local disk: `clean` and `shard`",
        "",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"- machine: {platform.machine()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
        "shared with other jobs (CPU-seconds, not wall time, are the measure)",
        f"- command: `python benchmarks/bench_storage.py --mb {a.mb:g} --small-mb {a.small_mb:g} --repeat {a.repeat}` "
        "(the run with the "
        "least CPU of each placement is kept)",
        f"- data: {mb:.1f} MB one-document-per-line corpus (make_big_corpus, demo sentences); `clean --num-shards 2`; "
        f"`shard --processor mlm --seq-len 128` of the clean output ({shard_mb:.1f} MB of text); `--workers 1`",
        "- server: moto ThreadedMotoServer (in-memory S3) in its own process on 127.0.0.1; driver CPU = the zooprep "
        "process and its children (RUSAGE_CHILDREN); server CPU = the server process (/proc utime + stime)",
        "",
        "| command | placement | MB in | wall s | driver CPU-s | server CPU-s | MB per CPU-s (driver) "
        "| MB per CPU-s (driver + server) | driver CPU x local |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for what in ("clean", "shard"):
        size = mb if what == "clean" else shard_mb
        anchor = results[(what, "local")]["driver"]
        for place in places:
            r = results[(what, place)]
            lines.append(f"| {what} | {place} | {size:.1f} | {r['wall']:.1f} | {r['driver']:.2f} | {r['server']:.2f} | "
                         f"{size / r['driver']:.1f} | {size / (r['driver'] + r['server']):.1f} | "
                         f"{r['driver'] / anchor:.2f} |")
    lines += ["", f"At the margin (CPU of the {a.mb:g} MB run minus that of a {a.small_mb:g} MB run, same placements, "
              "same run; fixed costs cancel out):", "",
              "| command | placement | extra MB | extra driver CPU-s | MB per CPU-s at the margin (driver) | x local |",
              "|---|---|---:|---:|---:|---:|"]
    for what in ("clean", "shard"):
        extra_mb = (mb - small_mb) if what == "clean" else (shard_mb - small_shard_mb)
        rate = {}
        for place in margin_places:
            d = results[(what, place)]["driver"] - smalls[(what, place)]["driver"]
            rate[place] = extra_mb / d if d > 0 else float("inf")
            lines.append(f"| {what} | {place} | {extra_mb:.1f} | {d:.2f} | {rate[place]:.1f} | "
                         f"{rate['local'] / rate[place]:.2f} |")
    s3_import = imports["s3"] - imports["bare"]
    lines += ["", f"Importing the S3 client stack (s3fs, aiobotocore, botocore) costs {s3_import:.2f} CPU-s per process "
              "(measured in the same run: `python -c 'import s3fs, ...'` minus `python -c pass`), paid once by the "
              "driver and once by each worker process that opens a URL.", ""]
    for what in ("clean", "shard"):
        loc, rin, rio = (results[(what, p)]["driver"] for p in places)
        lines.append(f"- `{what}`: reading through S3 changes the driver's CPU by {rin - loc:+.2f} s (from {loc:.2f}; "
                     f"{rin - loc - s3_import:+.2f} s beyond the import: requests, ranged reads, identities); "
                     f"writing the output through S3 by {rio - rin:+.2f} s more (the upload of every output file "
                     "and the commit objects; the mirror is built with the local code, so the data work is the same).")
    lines.append("- Differences below ~0.2 CPU-s are within the run-to-run noise of this shared machine.")
    for what, groups in profiles.items():
        total = sum(t for _, t in groups) or 1.0
        lines += ["", f"Where the driver's CPU goes in `{what}` with input and --out on S3 (cProfile with a CPU clock, "
                  f"one run, {total:.2f} s profiled; profiling slows Python code, so read the shares):", "",
                  "| group | CPU s | share |", "|---|---:|---:|"]
        lines += [f"| {g} | {t:.2f} | {100 * t / total:.0f} % |" for g, t in groups if t >= 0.005]
    text = "\n".join(lines) + "\n"
    print(text)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
