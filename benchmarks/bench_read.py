"""Reader throughput: zooprep's readers vs a bare read-and-decode of the same bytes, per layout.

For each layout a ~MB-sized file is built (in a temp folder) by repeating a real sample from
../shared/corpora (synthetic CJK text when that folder is absent), then read side by side:

- raw read:        file bytes in 1 MiB blocks, nothing else (the disk/page-cache floor);
- decode+split:    raw read + ``bytes.decode`` + ``str.split('\\n')`` (the bare read-and-decode floor);
- python readline: ``for line in open(path, encoding=...)`` (what hand-written scripts do);
- zooprep 1 unit:  ``plan_units`` + ``read_unit`` -> Record objects with text/meta/line numbers;
- zooprep N units: the same file cut into byte ranges read by 2 worker processes (splittable layouts).

    python benchmarks/bench_read.py [--mb 24] [--repeat 3]

Prints a markdown table and writes benchmarks/results/read.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpusprep.executors import LocalExecutor  # noqa: E402
from corpusprep.readers import plan_units, read_unit  # noqa: E402

SHARED = Path(os.environ.get("ZOOPREP_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))
CORPORA = SHARED / "corpora"

# (label, sample under corpora/, fmt, header lines kept once, output file name)
CASES = [
    ("one doc per line (CLUECorpusSmall)", "cluecorpussmall/dbiir__UER-py/corpora/CLUECorpusSmall_sampled.txt", "cluecorpussmall", 0, "clue.txt"),
    ("blank-line docs (BERT format)", "cluecorpussmall/dbiir__UER-py/corpora/CLUECorpusSmall_bert_sampled.txt", "cluecorpussmall", 0, "clue_bert.txt"),
    ("JSON lines (wiki2019zh)", "cluecorpussmall/jastfkjg__Chinese-relation-extraction/wiki_00", "wiki2019zh", 0, "wiki.jsonl"),
    ("JSON lines, short (weibo emotion)", "weibo/CLUEbenchmark__CLUEmotionAnalysis2020/CLUEdataset/emotion/valid.txt", "weibo", 0, "emotion.jsonl"),
    ("TSV label/text_a (weibo SMP2020)", "weibo/dbiir__UER-py/datasets/smp2020-ewect/usual/train.tsv", "weibo", 1, "weibo.tsv"),
    ("CSV RFC-4180 (online_shopping)", "reviews/SophonPlus__ChineseNlpCorpus/datasets/online_shopping_10_cats/online_shopping_10_cats.csv", "reviews", 1, "shop.csv"),
    ("CSV GB18030 CRLF (nCov weibo)", "weibo/gaowenxin95__le_topic_model/data/nCov_10k_test.csv", "weibo", 1, "ncov.csv"),
    ("JSON array (poems)", "poems/chinese-poetry__chinese-poetry/宋词/ci.song.0.json", "poems", 0, "ci.json"),
    ("gzip one doc per line", "cluecorpussmall/dbiir__UER-py/corpora/CLUECorpusSmall_sampled.txt", "cluecorpussmall", 0, "clue.txt.gz"),
]


def build(case, folder: Path, mb: int) -> Path:
    label, rel, fmt, header_lines, name = case
    src = CORPORA / rel
    if src.is_file():
        data = src.read_bytes()
    else:  # synthetic stand-in: CJK sentences, one per line
        data = "".join(f"第{i}条，合成的中文测试文本，用于读取速度。\n" for i in range(20000)).encode()
        header_lines = 0
    out = folder / name
    target = mb << 20
    if name.endswith(".json"):
        body = data.strip()[1:-1].strip()  # repeat the array's objects inside one array
        reps = max(1, target // len(data))
        payload = b"[" + b",\n".join([body] * reps) + b"]"
    else:
        head, rest = b"", data
        if header_lines:
            cut = data.index(b"\n") + 1
            head, rest = data[:cut], data[cut:]
        if not rest.endswith(b"\n"):
            rest += b"\r\n" if b"\r\n" in rest else b"\n"
        payload = head + rest * max(1, target // len(rest))
    if name.endswith(".gz"):
        payload = gzip.compress(payload, compresslevel=6)
    out.write_bytes(payload)
    return out


def best(fn, repeat: int) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        n = fn()
        times.append(time.perf_counter() - t)
    return min(times), n


def _opener(path: Path):
    return gzip.open if path.suffix == ".gz" else open


def _blocks(path: Path):
    """The file's (uncompressed) bytes in 1 MiB blocks."""
    with _opener(path)(path, "rb") as fh:
        while b := fh.read(1 << 20):
            yield b


def raw_read(path: Path) -> int:
    return sum(len(b) for b in _blocks(path))


def decode_split(path: Path, encoding: str) -> int:
    return sum(len(b.decode(encoding, errors="replace").split("\n")) for b in _blocks(path))


def readline_loop(path: Path, encoding: str) -> int:
    n = 0
    with _opener(path)(path, "rt", encoding=encoding, errors="replace") as fh:
        for _ in fh:
            n += 1
    return n


def zooprep_one(path: Path, fmt: str) -> int:
    n = 0
    for unit in plan_units([str(path)], fmt=fmt, unit_bytes=1 << 40):
        for _ in read_unit(unit):
            n += 1
    return n


def _count(unit) -> int:
    return sum(1 for _ in read_unit(unit))


def zooprep_parallel(path: Path, fmt: str, executor: LocalExecutor, unit_bytes: int) -> int:
    units = plan_units([str(path)], fmt=fmt, unit_bytes=unit_bytes)
    return sum(executor.map(_count, units))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=24, help="approximate size of each test file (uncompressed)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is reported")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_read_") as tmp, LocalExecutor(args.workers) as ex:
        folder = Path(tmp)
        for case in CASES:
            label, _, fmt, _, _ = case
            path = build(case, folder, args.mb)
            unit = plan_units([str(path)], fmt=fmt)[0]
            enc = unit.encoding
            size_mb = (raw_read(path)) / 1e6  # uncompressed MB
            t_raw, _ = best(lambda: raw_read(path), args.repeat)
            t_dec, _ = best(lambda: decode_split(path, enc), args.repeat)
            t_rl, _ = best(lambda: readline_loop(path, enc), args.repeat)
            t_one, n = best(lambda: zooprep_one(path, fmt), args.repeat)
            par = "n/a (one unit per file)"
            if unit.option("layout") in ("lines", "jsonl", "tsv", "label-tsv", "blank") and not unit.compression:
                ub = max(1 << 20, os.path.getsize(path) // (4 * args.workers))
                zooprep_parallel(path, fmt, ex, ub)  # warm the worker processes
                t_par, n_par = best(lambda: zooprep_parallel(path, fmt, ex, ub), args.repeat)
                assert n_par == n, (label, n_par, n)
                par = f"{size_mb / t_par:.0f}"
            rows.append((label, unit.option("layout"), f"{size_mb:.1f}", f"{n:,}", f"{size_mb / t_raw:.0f}",
                         f"{size_mb / t_dec:.0f}", f"{size_mb / t_rl:.0f}", f"{size_mb / t_one:.0f}", par,
                         f"{t_one / t_dec:.1f}x"))
            print(f"  {label}: done", file=sys.stderr)
    head = ("layout", "reader", "MB", "records", "raw read MB/s", "decode+split MB/s", "python readline MB/s",
            "zooprep 1 unit MB/s", f"zooprep {args.workers} workers MB/s", "zooprep / decode+split time")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    table = "\n".join(lines)
    cmd = "python benchmarks/bench_read.py " + " ".join(sys.argv[1:])
    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()})"
    doc = (f"# Reader throughput\n\nDate: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}  \n"
           f"Machine: {machine}  \nCommand: `{cmd.strip()}`  \n"
           f"Data: samples from ../shared/corpora repeated to ~{args.mb} MB per file (MB = uncompressed 10^6 bytes); "
           f"best of {args.repeat} runs.\n\n{table}\n")
    print(table)
    out = Path(__file__).resolve().parent / "results" / "read.md"
    out.write_text(doc, encoding="utf-8")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
