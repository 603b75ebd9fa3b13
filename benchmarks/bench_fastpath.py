"""CJK fast path and worker cost (issue 14), all in one run on the same text, in CPU-seconds.

Run: python benchmarks/bench_fastpath.py [--mb 24] [--hf-mb 3] [--repeat 2] [--baseline DIR]

Text: the shared CLUECorpusSmall / zhwiki samples (../shared/corpora/cluecorpussmall, every file, one
document per line) repeated to ``--mb``. Measured, each as MB of UTF-8 input per CPU-second:

* bare read + decode (read the file, decode UTF-8, split lines);
* HF ``tokenizers`` BertWordPieceTokenizer, one thread (on the first ``--hf-mb`` MB: it is slow), ids compared;
* zooprep ``bert`` tokenizer: per-line ``encode`` (the regex path), ``encode_batch`` (fast path, Python
  lists) and ``encode_batch_flat`` (fast path, one int32 array), batches of 256 lines as ``shard`` does,
  fresh tokenizer (cold word cache);
* ``shard --seq-len 512 --processor mlm`` with 1 and 2 workers (total CPU of the whole process tree:
  this process becomes a child subreaper, so the forkserver and its workers are counted too), and a 1 KB file;
* per-process set-up: CPU-s to build the tokenizer and encode a first batch (numpy already imported).

``--baseline DIR``: the same tokenizer, set-up and shard figures for another checkout (e.g. the commit before
the fast path, ``git archive <rev> | tar -x -C DIR``), measured in the same run.
Writes benchmarks/results/fastpath.md with each target and whether it is met.
"""
from __future__ import annotations

import os

os.environ["RAYON_RS_NUM_CPUS"] = "1"  # before tokenizers is imported
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import ctypes  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ZOOPREP_SHARED", REPO.parent / "shared"))
SAMPLES = SHARED / "corpora/cluecorpussmall"
VOCAB = SHARED / "reference/vocab/google_zh_vocab.txt"
BATCH = 256  # corpusprep.instances.build.ENCODE_BATCH_DOCS

TARGETS = {
    "tokenizer": 60.0,  # MB per CPU-second, fast path
    "shard": 30.0,  # MB per CPU-second, shard --seq-len 512 --processor mlm
    "setup": 0.1,  # CPU-s per process
    "workers": 1.15,  # total CPU of 2 workers / 1 worker
}


def build_corpus(path: Path, megabytes: float) -> int:
    from bench_shard import build_corpus as repeat_lines  # one corpus writer for the benchmarks

    return repeat_lines(path, megabytes, [p for p in sorted(SAMPLES.rglob("*")) if p.is_file()])


# ------------------------------------------------------------------ in a child process (one per repo) ----

_CHILD = r"""
import json, sys, time
repo, corpus, hf_mb, vocab = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
sys.path.insert(0, repo)
import numpy as np
cpu = time.process_time
lines = open(corpus, encoding="utf-8").read().splitlines()
from zh_tokenizers import load_tokenizer
c = cpu(); tok = load_tokenizer(vocab=vocab); tok.encode_batch(lines[:8]); setup = cpu() - c
def batches(fn, texts):
    return [fn(texts[i:i + %d]) for i in range(0, len(texts), %d)]
out = {"setup": setup}
small, size = [], 0
for ln in lines:
    if size >= hf_mb * 1e6:
        break
    small.append(ln); size += len(ln.encode()) + 1
out["small_mb"] = size / 1e6
c = cpu(); ids = [tok.encode(t) for t in small]; out["per_line"] = cpu() - c
fresh = load_tokenizer(vocab=vocab)
c = cpu(); res = batches(fresh.encode_batch, lines); out["batch"] = cpu() - c
out["same_as_per_line"] = [x for b in res for x in b][:len(small)] == ids
if hasattr(tok, "encode_batch_flat"):
    fresh = load_tokenizer(vocab=vocab)
    c = cpu(); batches(fresh.encode_batch_flat, lines); out["flat"] = cpu() - c
print(json.dumps(out))
""" % (BATCH, BATCH)


_SETUP = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
import numpy
c = time.process_time()
from zh_tokenizers import load_tokenizer
load_tokenizer(vocab=sys.argv[2]).encode_batch(["北京 Hello wörld 1,234"] * 8)
print(time.process_time() - c)
"""


def child(repo: Path, corpus: Path, hf_mb: float, repeat: int = 3) -> dict:
    res = subprocess.run([sys.executable, "-c", _CHILD, str(repo), str(corpus), str(hf_mb), str(VOCAB)],
                         capture_output=True, text=True, check=True)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    # Set-up on its own, in fresh processes (imports of our modules included, numpy's not): least of `repeat`.
    out["setup"] = min(float(subprocess.run([sys.executable, "-c", _SETUP, str(repo), str(VOCAB)], capture_output=True,
                                            text=True, check=True).stdout.split()[-1]) for _ in range(repeat))
    return out


def tree_cpu(cmd: list[str], cwd: Path, env: dict | None = None) -> float:
    """CPU-s of ``cmd`` and every process it starts (we are a child subreaper: orphans are reaped here)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    while True:  # wait for the forkserver / resource tracker, reparented to us when the command exits
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def shard_cpu(repo: Path, corpus: Path, out: Path, workers: int, repeat: int, env: dict | None = None,
              extra: tuple[str, ...] = ()) -> float:
    best = float("inf")
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        cmd = [sys.executable, "cli.py", "shard", str(corpus), "--out", str(out), "--vocab", str(VOCAB),
               "--seq-len", "512", "--processor", "mlm", "--workers", str(workers), *extra]
        best = min(best, tree_cpu(cmd, repo, env))
    shutil.rmtree(out, ignore_errors=True)
    return best


def shard_stages(corpus: Path) -> list[tuple[str, float]] | None:
    """Cumulative CPU of shard's mlm stages, in-process, as ``line_rows`` runs them: read texts, + tokenize
    (flat), + count content/[UNK] and the [UNK]-character tally, + pack rows (seq 512, uint16) and row stats."""
    try:
        import numpy as np

        from corpusprep.corpus_input import expand_corpus
        from corpusprep.instances.build import encode_groups
        from corpusprep.instances.masking import MaskIds
        from corpusprep.instances.processors import pack_documents
        from corpusprep.instances.sources import UnitTally, plan_units, read_texts
        from corpusprep.instances.stats import InstanceStats
        from zh_tokenizers import load_tokenizer
    except ImportError as exc:  # shard's internals moved: skip this table
        print(f"stage profile skipped: {exc}", file=sys.stderr)
        return None
    units = plan_units(expand_corpus([str(corpus)]), "lines", 4 << 20)

    def run(stage: int) -> float:
        tok = load_tokenizer(vocab=VOCAB)
        ids = MaskIds.from_tokenizer(tok)
        specials = (ids.cls, ids.sep, ids.pad)
        c = time.process_time()
        for unit in units:
            more = InstanceStats()
            texts = read_texts(unit, UnitTally())
            if stage < 1:
                for _ in texts:
                    pass
                continue
            for batch, whole, groups in encode_groups(texts, tok):  # tokenizer calls as line_rows makes them
                if stage < 2:
                    continue
                whole.count(ids.unk)
                more.texts(tok, batch)
                if stage < 3:
                    continue
                for enc in groups:
                    rows, lengths = pack_documents(enc, 512, ids, np.uint16)
                    more.rows("mlm", lengths, rows, specials)
            if stage >= 2:
                more.as_dict()
        return time.process_time() - c

    names = ["read texts (read, decode, split, empty-line check)", "+ encode_batch_flat (up to 16 x 256 lines a call)",
             "+ count [UNK] + [UNK]-character tally", "+ pack rows (numpy scatter) + row stats"]
    return [(name, min(run(i) for _ in range(2))) for i, name in enumerate(names)]


def read_decode(corpus: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        c = time.process_time()
        Path(corpus).read_bytes().decode("utf-8").splitlines()
        best = min(best, time.process_time() - c)
    return best


def hf_cpu(corpus: Path, hf_mb: float) -> tuple[float, list, list]:
    from tokenizers import BertWordPieceTokenizer

    hf = BertWordPieceTokenizer(str(VOCAB), lowercase=True)
    lines, size = [], 0
    for ln in open(corpus, encoding="utf-8").read().splitlines():
        if size >= hf_mb * 1e6:
            break
        lines.append(ln)
        size += len(ln.encode()) + 1
    c = time.process_time()
    ids = [e.ids for e in hf.encode_batch(lines, add_special_tokens=False)]
    return time.process_time() - c, ids, lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=24.0)
    ap.add_argument("--hf-mb", type=float, default=3.0)
    ap.add_argument("--workers-mb", type=float, default=96.0,
                    help="corpus size for the 1 vs 2 workers figure (fixed start-up costs need a big run)")
    ap.add_argument("--repeat", type=int, default=2, help="shard runs per figure (the least CPU is kept)")
    ap.add_argument("--baseline", type=Path, help="another checkout to measure side by side (the 'before')")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/results/fastpath.md")
    args = ap.parse_args()
    if hasattr(ctypes.CDLL(None), "prctl"):
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: count the whole process tree

    import tokenizers

    sys.path.insert(0, str(REPO))
    tmp = Path(tempfile.mkdtemp(prefix="bench_fastpath_"))
    try:
        corpus, tiny, big = tmp / "corpus.txt", tmp / "tiny.txt", tmp / "big.txt"
        mb = build_corpus(corpus, args.mb) / 1e6
        build_corpus(tiny, 0.001)
        big_mb = build_corpus(big, args.workers_mb) / 1e6 if args.workers_mb > args.mb else mb
        big = big if args.workers_mb > args.mb else corpus
        stages = shard_stages(corpus)
        read_s = read_decode(corpus, 3)
        hf_s, hf_ids, hf_lines = hf_cpu(corpus, args.hf_mb)
        from zh_tokenizers import load_tokenizer

        ours = load_tokenizer(vocab=VOCAB)
        same_hf = ours.encode_batch(hf_lines) == hf_ids and [ours.encode(t) for t in hf_lines] == hf_ids
        hf_mb = sum(len(t.encode()) + 1 for t in hf_lines) / 1e6

        repos = {"after": REPO}
        if args.baseline:
            repos = {"before": args.baseline.resolve(), **repos}
        tok, shard = {}, {}
        for name, repo in repos.items():
            print(f"[{name}] tokenizer ...", file=sys.stderr)
            tok[name] = child(repo, corpus, args.hf_mb)
            print(f"[{name}] shard ...", file=sys.stderr)
            force_pool = {"ZOOPREP_MIN_MB_PER_WORKER": "0"}
            shard[name] = {
                "tiny": shard_cpu(repo, tiny, tmp / "o", 1, args.repeat),
                "w1": shard_cpu(repo, corpus, tmp / "o", 1, args.repeat),
                "w2": shard_cpu(repo, corpus, tmp / "o", 2, args.repeat, force_pool),
                # --full-sentences: rows ~full, so the output (written, hashed, synced) is ~1/6 of the padded rows
                "w1_full": shard_cpu(repo, corpus, tmp / "o", 1, args.repeat, extra=("--full-sentences",)),
            }
            if big != corpus and name == "after":  # (the big run only for the current tree: time)
                shard[name]["big_w1"] = shard_cpu(repo, big, tmp / "o", 1, 1)
                shard[name]["big_w2"] = shard_cpu(repo, big, tmp / "o", 2, 1, force_pool)
            if name == "after":
                shard[name]["w2_default"] = shard_cpu(repo, corpus, tmp / "o", 2, 1)
                shard[name]["tiny_w2"] = shard_cpu(repo, tiny, tmp / "o", 2, 1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    a, s = tok["after"], shard["after"]
    fast_mbs, lists_mbs = mb / a["flat"], mb / a["batch"]
    shard_marginal = mb / max(s["w1"] - s["tiny"], 1e-9)  # start-up removed
    ratio = s.get("big_w2", s["w2"]) / s.get("big_w1", s["w1"])
    met = lambda ok: "**met**" if ok else "**not met**"  # noqa: E731
    lines = [
        f"# CJK fast path and worker cost ({datetime.date.today().isoformat()})",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} logical CPUs (shared with other jobs: CPU-seconds, "
        f"not wall time), Python {platform.python_version()}, tokenizers {tokenizers.__version__}",
        f"- command: `python benchmarks/bench_fastpath.py --mb {args.mb:g} --hf-mb {args.hf_mb:g} "
        f"--repeat {args.repeat}{' --baseline DIR' if args.baseline else ''}`"
        + (" (DIR: the commit before the fast path)" if args.baseline else ""),
        f"- text: the shared CLUECorpusSmall / zhwiki samples repeated to {mb:.1f} MB (one document per line); "
        f"vocab google_zh_vocab.txt; tokenizers on batches of {BATCH} lines, fresh tokenizer (cold word cache)",
        f"- ids: zooprep == HF tokenizers on the {hf_mb:.1f} MB HF sample: {'yes' if same_hf else 'NO'} "
        "(encode_batch and per-line encode)",
        f"- bare read + decode + split lines: **{mb / read_s:.0f} MB per CPU-s**; HF tokenizers "
        f"BertWordPieceTokenizer (1 thread): **{hf_mb / hf_s:.2f} MB per CPU-s** (on the first {hf_mb:.1f} MB)",
        "",
        "| measurement | " + " | ".join(repos) + " |",
        "|---|" + "---:|" * len(repos),
    ]

    def row(label, fn):
        vals = []
        for name in repos:
            try:
                vals.append(fn(name))
            except KeyError:
                vals.append("-")
        lines.append(f"| {label} | " + " | ".join(vals) + " |")

    row("zooprep per-line `encode` (regex path), MB per CPU-s",
        lambda n: f"{tok[n]['small_mb'] / tok[n]['per_line']:.1f}")
    row("zooprep `encode_batch` (lists), MB per CPU-s", lambda n: f"{mb / tok[n]['batch']:.1f}")
    row("zooprep `encode_batch_flat` (int32 array), MB per CPU-s", lambda n: f"{mb / tok[n]['flat']:.1f}")
    row("tokenizer set-up (imports + build + first batch), CPU-s per process, least of 3 processes",
        lambda n: f"{tok[n]['setup']:.3f}")
    row("`shard` of a 1 KB file, CPU-s", lambda n: f"{shard[n]['tiny']:.2f}")
    row(f"`shard` {mb:.0f} MB, 1 worker, CPU-s", lambda n: f"{shard[n]['w1']:.2f}")
    row(f"`shard` {mb:.0f} MB, 2 workers (pool forced), total CPU-s", lambda n: f"{shard[n]['w2']:.2f}")
    row("2 workers / 1 worker, total CPU", lambda n: f"{shard[n]['w2'] / shard[n]['w1']:.2f}")
    row("`shard` MB per CPU-s (whole run)", lambda n: f"{mb / shard[n]['w1']:.1f}")
    row("`shard` MB per CPU-s (1 KB run's start-up removed)",
        lambda n: f"{mb / max(shard[n]['w1'] - shard[n]['tiny'], 1e-9):.1f}")
    row(f"`shard --full-sentences` {mb:.0f} MB, 1 worker, CPU-s (little padding: ~1/6 of the bytes to write)",
        lambda n: f"{shard[n]['w1_full']:.2f}")
    row("`shard --full-sentences` MB per CPU-s (start-up removed)",
        lambda n: f"{mb / max(shard[n]['w1_full'] - shard[n]['tiny'], 1e-9):.1f}")
    if big != corpus:
        row(f"`shard` {big_mb:.0f} MB, 1 worker, CPU-s", lambda n: f"{shard[n]['big_w1']:.2f}")
        row(f"`shard` {big_mb:.0f} MB, 2 workers (pool forced), total CPU-s", lambda n: f"{shard[n]['big_w2']:.2f}")
        row(f"2 workers / 1 worker at {big_mb:.0f} MB, total CPU",
            lambda n: f"{shard[n]['big_w2'] / shard[n]['big_w1']:.2f}")
    row(f"extra CPU-s of a 2-worker pool at {mb:.0f} MB (2 workers - 1 worker)",
        lambda n: f"{shard[n]['w2'] - shard[n]['w1']:.2f}")
    row(f"`shard` {mb:.0f} MB, `--workers 2` as decided (small runs in-process), total CPU-s",
        lambda n: f"{shard[n]['w2_default']:.2f}")
    row("`shard` of a 1 KB file, `--workers 2` as decided, CPU-s", lambda n: f"{shard[n]['tiny_w2']:.2f}")
    lines += [
        "",
        "| target | figure | status |",
        "|---|---:|---|",
        f"| tokenizer >= {TARGETS['tokenizer']:g} MB per CPU-s (fast path, `encode_batch_flat`) | {fast_mbs:.1f} | "
        f"{met(fast_mbs >= TARGETS['tokenizer'])} |",
        f"| same, Python-list output (`encode_batch`) | {lists_mbs:.1f} | {met(lists_mbs >= TARGETS['tokenizer'])} |",
        f"| `shard --seq-len 512 --processor mlm` >= {TARGETS['shard']:g} MB per CPU-s (start-up removed) | "
        f"{shard_marginal:.1f} | {met(shard_marginal >= TARGETS['shard'])} |",
        f"| tokenizer set-up <= {TARGETS['setup']:g} CPU-s per process | {a['setup']:.3f} | "
        f"{met(a['setup'] <= TARGETS['setup'])} |",
        f"| 2 workers <= {TARGETS['workers']:g} x 1 worker, total CPU ({big_mb:.0f} MB) | {ratio:.2f} | "
        f"{met(ratio <= TARGETS['workers'])} |",
        f"| ids identical to HF | {'yes' if same_hf else 'NO'} | {met(same_hf)} |",
        "",
        f"Load-independent view (the targets were set on a quiet run where bare read + decode gave 375 MB per "
        f"CPU-s; here it gave {mb / read_s:.0f}): the fast path runs at {100 * fast_mbs * read_s / mb:.0f}% of bare "
        f"read speed (target 60/375 = 16%), list output at {100 * lists_mbs * read_s / mb:.0f}%, `shard` at "
        f"{100 * shard_marginal * read_s / mb:.1f}% (target 30/375 = 8%).",
        "",
    ]
    if stages:
        lines += ["Where `shard`'s CPU goes (after; in-process, the same text, cumulative stages, least of 2 runs):", "",
                  "| stage | CPU-s | MB per CPU-s |", "|---|---:|---:|"]
        lines += [f"| {name} | {t:.2f} | {mb / t:.1f} |" for name, t in stages]
        lines.append("")
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
