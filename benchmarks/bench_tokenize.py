"""Char tokenization throughput: zooprep vs Hugging Face tokenizers (Rust, one thread), same text, same vocab.

Run: python benchmarks/bench_tokenize.py [--repeat 3] [--vocab PATH] [--corpora DIR]
Text: every line of every file under ../shared/corpora (UTF-8, else GB18030). Ids are checked identical.
MB/s are per core: both sides run single-threaded; CPU seconds (process time) are used for the ratio because
they are robust to other load on the machine; wall-clock MB/s are shown too.
"""
from __future__ import annotations

import os

os.environ["RAYON_RS_NUM_CPUS"] = "1"  # before tokenizers is imported
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import datetime  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("ZOOPREP_SHARED", REPO.parent / "shared"))


def load_lines(corpora: Path) -> list[str]:
    lines: list[str] = []
    for path in sorted(corpora.rglob("*")):
        if path.is_file():
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("gb18030")
            lines.extend(text.splitlines())
    return lines


def timed(fn, repeat: int, setup=None):
    """Median (cpu_s, wall_s) over ``repeat`` runs of ``fn(setup())`` (setup untimed) and the last result."""
    cpu, wall, out = [], [], None
    for _ in range(repeat):
        arg = setup() if setup else None
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn(arg) if setup else fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(cpu), statistics.median(wall), out


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--vocab", type=Path, default=SHARED / "reference/vocab/google_zh_vocab.txt")
    ap.add_argument("--corpora", type=Path, default=SHARED / "corpora")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/results/tokenize.md")
    args = ap.parse_args()

    import tokenizers
    from tokenizers import BertWordPieceTokenizer

    from zh_tokenizers import load_tokenizer

    lines = load_lines(args.corpora)
    mb = sum(len(s.encode("utf-8")) for s in lines) / 1e6
    hf = BertWordPieceTokenizer(str(args.vocab), lowercase=True)

    def run_hf():
        return [e.ids for e in hf.encode_batch(lines, add_special_tokens=False)]

    def fresh(**kw):
        # A new tokenizer per run (built untimed): its caches start empty, so this is the first-pass speed.
        return lambda: load_tokenizer(vocab=args.vocab, **kw)

    c0 = time.process_time()
    warm_tok = load_tokenizer(vocab=args.vocab)
    warm_tok.encode_batch(lines[:8])
    build_s = time.process_time() - c0
    warm_tok.encode_batch(lines)

    rows = []
    hf_cpu, hf_wall, ref = timed(run_hf, args.repeat)
    rows.append(("HF tokenizers BertWordPieceTokenizer (Rust, 1 thread)", hf_cpu, hf_wall, True))
    batch = lambda tok: tok.encode_batch(lines)  # noqa: E731
    for name, fn, setup in [
        ("zooprep bert (HF-identical), cold cache", batch, fresh()),
        ("zooprep bert (HF-identical), warm cache", lambda: warm_tok.encode_batch(lines), None),
        ("zooprep bert (HF-identical), per-line encode(), warm", lambda: [warm_tok.encode(t) for t in lines], None),
        ("zooprep bert --uer (UER-py identical), cold cache", batch, fresh(uer_compat=True)),
        ("zooprep char (UER CharTokenizer)", batch, fresh(kind="char")),
    ]:
        c, w, ids = timed(fn, args.repeat, setup)
        same = ids == ref if "HF-identical" in name else None
        rows.append((name, c, w, same))

    if not all(r[3] for r in rows if r[3] is not None):
        raise SystemExit("ids differ from HF tokenizers: benchmark invalid")
    cold_ratio = hf_cpu / rows[1][1]
    table = [
        f"# Char tokenization throughput ({datetime.date.today().isoformat()})",
        "",
        f"- machine: {cpu_name()}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, tokenizers {tokenizers.__version__}",
        f"- command: `python benchmarks/bench_tokenize.py --repeat {args.repeat}`",
        f"- text: {len(lines):,} lines, {mb:.2f} MB UTF-8 (every line of ../shared/corpora); vocab "
        f"{args.vocab.name}; median of {args.repeat} runs; single thread each",
        "",
        "| tokenizer | MB/s per core (CPU time) | MB/s (wall) | x HF (CPU) | ids == HF |",
        "|---|---:|---:|---:|---|",
    ]
    for name, c, w, same in rows:
        table.append(f"| {name} | {mb / c:.2f} | {mb / w:.2f} | {hf_cpu / c:.2f} | "
                     f"{'' if same is None else ('yes' if same else 'NO')} |")
    table += ["", f"Cold-cache speed-up over HF tokenizers with identical ids: **{cold_ratio:.2f}x** "
              f"(CPU time, encode_batch). One-off construction of our tokenizer (vocab + tables): "
              f"{build_s:.2f} CPU s, not included.", ""]
    text = "\n".join(table)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
