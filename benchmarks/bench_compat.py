"""`shard --compat uer` next to UER-py's real preprocess.py (../shared/reference/trainers/UER-py,
commit 5743050) on the same text, 1 worker each, in CPU-seconds; and the outputs compared: our
shard exported with `export --to uer` must be byte-identical to UER's dataset.pt.

    python benchmarks/bench_compat.py [--mb 8] [--processors mlm,lm,bert]

Each run is its own process (CPU time of the process tree from os.wait4; both include their
start-up: UER's imports torch). Writes benchmarks/results/compat.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ZOOPREP_SHARED", REPO.parent / "shared"))
UER = SHARED / "reference" / "trainers" / "UER-py"
VOCAB = SHARED / "reference" / "vocab" / "google_zh_vocab.txt"
CLUE = SHARED / "corpora" / "cluecorpussmall" / "dbiir__UER-py" / "corpora"
SEQ_LEN = 128
TARGET = 10.0
# processor -> (layout, UER flags, zooprep flags): the zoo's settings (dynamic masking for mlm)
PLAN = {
    "mlm": ("lines", ["--dynamic_masking"], []),
    "lm": ("lines", [], []),
    "bert": ("sents", ["--dup_factor", "1"], ["--static-masking"]),
}


def build_corpus(path: Path, layout: str, megabytes: float) -> int:
    if layout == "lines":
        lines = [ln + b"\n" for ln in (CLUE / "CLUECorpusSmall_sampled.txt").read_bytes().splitlines() if ln.strip()]
    else:
        lines = (CLUE / "CLUECorpusSmall_bert_sampled.txt").read_bytes().splitlines(keepends=True)
    size, target, i = 0, int(megabytes * 1e6), 0
    with open(path, "wb") as fh:
        while size < target or (layout == "sents" and lines[(i - 1) % len(lines)].strip()):
            line = lines[i % len(lines)]
            fh.write(line)
            size += len(line)
            i += 1
    return size


def cpu_of(cmd: list[str], cwd: Path, cache: bool = False) -> float:
    """``cache``: bytecode may be written (ours, in this checkout; never into ../shared)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    if cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace")
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (status {status}): {err[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=8.0)
    ap.add_argument("--processors", default="mlm,lm,bert")
    args = ap.parse_args()
    if not (UER / "preprocess.py").is_file():
        raise SystemExit(f"{UER}/preprocess.py is absent: the anchor of this benchmark")
    tmp = Path(tempfile.mkdtemp(prefix="bench_compat_"))
    (tmp / "models").symlink_to(UER / "models")  # UER reads models/special_tokens_map.json from its cwd
    rows = []
    cpu_of([sys.executable, "-m", "compileall", "-q", str(REPO / "corpusprep"), str(REPO / "zh_tokenizers"),
            str(REPO / "cli.py")], tmp, cache=True)  # our bytecode caches, as an installed zooprep has them
    try:
        for proc in args.processors.split(","):
            layout, uer_flags, our_flags = PLAN[proc]
            corpus = tmp / f"{layout}.txt"
            size = build_corpus(corpus, layout, args.mb) if not corpus.exists() else corpus.stat().st_size
            uer_out, ours, ours_pt = tmp / f"{proc}.pt", tmp / f"{proc}_shard", tmp / f"{proc}_ours.pt"
            uer_cpu = cpu_of([sys.executable, str(UER / "preprocess.py"), "--corpus_path", str(corpus),
                              "--vocab_path", str(VOCAB), "--dataset_path", str(uer_out), "--data_processor", proc,
                              "--seq_length", str(SEQ_LEN), "--processes_num", "1", *uer_flags], tmp)
            our_cpu = cpu_of([sys.executable, str(REPO / "cli.py"), "shard", str(corpus), "--out", str(ours),
                              "--processor", proc, "--vocab", str(VOCAB), "--seq-len", str(SEQ_LEN), "--compat", "uer",
                              "--workers", "1", *our_flags], tmp, cache=True)
            subprocess.run([sys.executable, str(REPO / "cli.py"), "export", str(ours), "--to", "uer", "--out",
                            str(ours_pt)], check=True, capture_output=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
            same = sha(ours_pt) == sha(uer_out)
            rows.append((proc, " ".join(uer_flags), size / 1e6, uer_cpu, our_cpu, same))
            shutil.rmtree(ours, ignore_errors=True)
            for p in (uer_out, ours_pt):
                p.unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = ["# `shard --compat uer` vs UER-py preprocess.py", "",
             f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
             f"- machine: {platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, Python "
             f"{platform.python_version()})",
             f"- command: `python benchmarks/bench_compat.py --mb {args.mb:g} --processors {args.processors}`",
             "- anchor: UER-py 5743050 `preprocess.py` from ../shared/reference/trainers/UER-py, `--processes_num 1`, "
             f"seq_length {SEQ_LEN}, google_zh_vocab; ours: `shard --compat uer --workers 1` on the same file",
             "- CPU-s of each whole process (os.wait4), start-up included (UER imports torch); one run each, side by side; "
             "our bytecode cached, UER's compiled each run (nothing is written into ../shared)",
             f"- target (issue 24): >= {TARGET:g}x UER's CPU-seconds, outputs unchanged (our `export --to uer` "
             "byte-identical to UER's dataset.pt)", "",
             "| processor | UER flags | MB | UER CPU-s | zooprep CPU-s | speed-up | dataset.pt identical |",
             "|---|---|---|---|---|---|---|"]
    for proc, flags, mb, uer_cpu, our_cpu, same in rows:
        lines.append(f"| {proc} | `{flags}` | {mb:.1f} | {uer_cpu:.2f} | {our_cpu:.2f} | {uer_cpu / our_cpu:.1f}x | "
                     f"{'yes' if same else 'NO'} |")
    text = "\n".join(lines) + "\n"
    (REPO / "benchmarks" / "results" / "compat.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
