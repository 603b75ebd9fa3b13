"""build-spm time / peak memory with and without --sample-sentences, a --preset uer --vocab-size 100000
attempt, and spm word-tokenizer throughput against plain sentencepiece, in one run.

    python benchmarks/bench_spm.py [--size 16MB] [--vocab 16000] [--sample 5000]

Corpus: one document per line, recombined from the shared real samples by
benchmarks/make_big_corpus.py (--source shared) into a temp dir. The 100k run uses every text line of
../shared/corpora (the most varied text at hand); sentencepiece says how many pieces that text
supports, and the largest size that trains is then trained and timed. Each build-spm runs as a
subprocess (`python cli.py build-spm ...`); peak RSS is the child's ru_maxrss from wait4.
Throughput: every line of ../shared/corpora, one thread, CPU time (robust to machine load).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
SHARED = Path(os.environ.get("ZOOPREP_SHARED", REPO.parent / "shared"))
RESULTS = REPO / "benchmarks" / "results" / "spm.md"
CLUE_SPM = SHARED / "reference" / "vocab" / "cluecorpussmall_spm.model"


def run_build_spm(args: list[str]) -> dict:
    """Run `cli.py build-spm` as a child; wall time, the child's peak RSS, its card (or its error line)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "cli.py", "build-spm", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    prefix = args[args.index("--out-prefix") + 1]
    card_path = Path(prefix + ".card.json")
    card = json.loads(card_path.read_text(encoding="utf-8")) if proc.returncode == 0 and card_path.exists() else None
    last = err.strip().splitlines()[-1] if err.strip() else ""
    return {"rc": proc.returncode, "wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "card": card, "error": last}


def all_shared_lines() -> list[str]:
    lines = []
    for path in sorted((SHARED / "corpora").rglob("*")):
        if path.is_file() and path.name != "README.md" and path.suffix in {".txt", ".csv", ".tsv", ".json", ""}:
            lines.extend(ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip())
    return lines


def tokenizer_throughput(lines: list[str], repeat: int) -> list[tuple[str, float, float]]:
    """(name, MB/s by CPU time, MB/s by wall time) for each way of encoding the same lines."""
    import sentencepiece as spm

    from zh_tokenizers.spm_tokenizer import SpmTokenizer

    tok = SpmTokenizer(CLUE_SPM)
    sp = spm.SentencePieceProcessor(model_file=str(CLUE_SPM))
    mb = sum(len(ln.encode("utf-8")) for ln in lines) / 1e6
    cases = [
        ("sentencepiece EncodeAsPieces (plain, no UER fix)", lambda: [sp.EncodeAsPieces(t) for t in lines]),
        ("sentencepiece encode -> ids (plain, no UER fix)", lambda: [sp.encode(t) for t in lines]),
        ("UER-py way: EncodeAsPieces + fix + PieceToId", lambda: [[sp.PieceToId(p) for p in tok.tokenize(t)] for t in lines]),
        ("zooprep SpmTokenizer.encode (UER ids)", lambda: [tok.encode(t) for t in lines]),
        ("zooprep SpmTokenizer.encode_batch, 1 thread", lambda: tok.encode_batch(lines)),
    ]
    out = []
    for name, fn in cases:
        best_cpu = best_wall = float("inf")
        for _ in range(repeat):
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            best_cpu = min(best_cpu, time.process_time() - c0)
            best_wall = min(best_wall, time.perf_counter() - w0)
        out.append((name, mb / best_cpu, mb / best_wall))
    return out


def main(argv: list[str] | None = None) -> int:
    from make_big_corpus import parse_size, write_corpus

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=parse_size, default=parse_size("16MB"))
    ap.add_argument("--vocab", type=int, default=16000, help="vocab for the with/without sampling pair")
    ap.add_argument("--sample", type=int, default=5000, help="--sample-sentences for the sampled run")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    if not (SHARED / "corpora").is_dir():
        print(f"error: {SHARED / 'corpora'} is absent", file=sys.stderr)
        return 2
    rows, notes = [], []
    with tempfile.TemporaryDirectory(prefix="bench_spm_") as tmp:
        tmp = Path(tmp)
        corpus = tmp / "corpus.txt"
        write_corpus(corpus, args.size, source="shared", shared_root=SHARED / "corpora")
        size_mb = corpus.stat().st_size / 1e6
        common = [str(corpus), "--preset", "uer", "--vocab-size", str(args.vocab)]
        for label, extra in (("all sentences", []), (f"--sample-sentences {args.sample}", ["--sample-sentences", str(args.sample)])):
            r = run_build_spm([*common, "--out-prefix", str(tmp / re.sub(r"\W", "", label)), *extra])
            s = r["card"]["sentences"] if r["card"] else {}
            rows.append((f"build-spm --preset uer --vocab-size {args.vocab}, {label}", f"{size_mb:.1f} MB",
                         s.get("fed_to_trainer", "-"), r["wall_s"], r["peak_rss_mb"], "ok" if r["rc"] == 0 else r["error"]))
        varied = tmp / "shared_all.txt"
        varied.write_text("\n".join(all_shared_lines()) + "\n", encoding="utf-8")
        vmb = varied.stat().st_size / 1e6
        r = run_build_spm([str(varied), "--preset", "uer", "--out-prefix", str(tmp / "uer100k")])
        rows.append(("build-spm --preset uer --vocab-size 100000", f"{vmb:.1f} MB (all shared text)",
                     r["card"]["sentences"]["fed_to_trainer"] if r["card"] else "-", r["wall_s"], r["peak_rss_mb"],
                     "ok" if r["rc"] == 0 else r["error"]))
        m = re.search(r"value <= (\d+)", r["error"])
        if r["rc"] != 0 and m:
            largest = int(m.group(1))
            notes.append(f"The shared text supports at most {largest} pieces (sentencepiece's own message); "
                         f"100,000 needs a larger corpus, e.g. a real CLUECorpusSmall download.")
            r2 = run_build_spm([str(varied), "--preset", "uer", "--vocab-size", str(largest),
                                "--out-prefix", str(tmp / "uermax")])
            rows.append((f"build-spm --preset uer --vocab-size {largest} (largest that trains)", f"{vmb:.1f} MB",
                         r2["card"]["sentences"]["fed_to_trainer"] if r2["card"] else "-", r2["wall_s"],
                         r2["peak_rss_mb"], "ok" if r2["rc"] == 0 else r2["error"]))
        lines = all_shared_lines()
    tput = tokenizer_throughput(lines, args.repeat)
    text_mb = sum(len(ln.encode("utf-8")) for ln in lines) / 1e6

    cmd = "python benchmarks/bench_spm.py " + " ".join(argv if argv is not None else sys.argv[1:])
    out = ["# build-spm and spm tokenizer benchmark", "",
           f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}",
           f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
           f"{platform.platform()}",
           f"- command: `{cmd.strip()}`", "",
           "## build-spm (subprocess; peak RSS = the build-spm process, ru_maxrss)", "",
           "| run | corpus | sentences fed | wall s | peak RSS MB | result |", "|---|---|---:|---:|---:|---|"]
    out += [f"| {a} | {b} | {c} | {d:.1f} | {e:.0f} | {f} |" for a, b, c, d, e, f in rows]
    out += [""] + [f"- {n}" for n in notes]
    out += ["", f"## spm word tokenizer throughput ({text_mb:.1f} MB: every line of ../shared/corpora, "
                f"cluecorpussmall_spm.model, one thread, best of {args.repeat})", "",
            "| encoder | MB/s (CPU time) | MB/s (wall) |", "|---|---:|---:|"]
    out += [f"| {n} | {c:.2f} | {w:.2f} |" for n, c, w in tput]
    text = "\n".join(out) + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    from corpusprep.atomic import atomic_open

    with atomic_open(RESULTS) as fh:
        fh.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
