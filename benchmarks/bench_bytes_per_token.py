"""Bytes on disk per real token of `shard` output, for every processor, before and after format 2.

    python benchmarks/bench_bytes_per_token.py [--base /tmp/base14r] [--seq 128,512] [--check-export]

Bytes per token = the sum of the part files' sizes / the real tokens they hold (zooprep.json
counts.tokens); the Arrow framing, offsets and every stored column are in the numerator. "before" runs
the `cli.py` of another checkout (``--base``, e.g. ``git worktree add /tmp/base14r eb49ad3``: format 1,
fixed-size padded rows); "after" runs this checkout. Input: the shared CLUECorpusSmall sample in the
layout each processor reads (cls: ``i % 2<TAB>line``; prefixlm: ``first half<TAB>second half``).
``--check-export`` also exports every char-vocab pair at the first --seq to UER dataset.pt and HF Parquet and reports whether the
two checkouts' files are byte-identical. Writes benchmarks/results/bytes-per-token.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ZOOPREP_SHARED", REPO.parent / "shared"))
VOCAB = SHARED / "reference" / "vocab" / "google_zh_vocab.txt"
SENTINEL_VOCAB = SHARED / "reference" / "vocab" / "google_zh_with_sentinel_vocab.txt"
SPM = SHARED / "reference" / "vocab" / "cluecorpussmall_spm.model"
CLUE = SHARED / "corpora" / "cluecorpussmall" / "dbiir__UER-py" / "corpora"
TARGET = 2.1  # issue 14: bytes per real token, every processor and option

# name -> (processor, input layout, extra options)
CONFIGS = {
    "mlm": ("mlm", "lines", []),
    "mlm --full-sentences": ("mlm", "lines", ["--full-sentences"]),
    "mlm --static-masking": ("mlm", "lines", ["--static-masking"]),
    "mlm --whole-word": ("mlm", "lines", ["--whole-word"]),
    "bert": ("bert", "sents", []),
    "albert": ("albert", "sents", []),
    "lm": ("lm", "lines", []),
    "bilm": ("bilm", "lines", []),
    "t5": ("t5", "lines", []),
    "cls": ("cls", "cls", []),
    "cls_mlm": ("cls_mlm", "cls", []),
    "prefixlm": ("prefixlm", "pairs", []),
    "bart": ("bart", "sents", []),
    "gsg": ("gsg", "sents", []),
}
SPM_CONFIGS = ("mlm", "mlm --full-sentences", "mlm --static-masking", "lm")


def write_input(path: Path, layout: str) -> None:
    if layout == "sents":
        shutil.copyfile(CLUE / "CLUECorpusSmall_bert_sampled.txt", path)
        return
    lines = [ln.strip() for ln in (CLUE / "CLUECorpusSmall_sampled.txt").read_text(encoding="utf-8").splitlines()
             if ln.strip()]
    if layout == "cls":
        lines = [f"{i % 2}\t{ln}" for i, ln in enumerate(lines)]
    elif layout == "pairs":
        lines = [f"{ln[:len(ln) // 2]}\t{ln[len(ln) // 2:]}" for ln in lines if len(ln) >= 2]
    path.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_one(repo: Path, corpus: Path, out: Path, processor: str, seq: int, opts: list[str], tok: list[str],
            check_export: bool) -> dict:
    cmd = [sys.executable, "cli.py", "shard", str(corpus), "--out", str(out), "--seq-len", str(seq),
           "--processor", processor, "--workers", "1", *tok, *opts]
    subprocess.run(["nice", *cmd], check=True, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    meta = json.loads((out / "zooprep.json").read_text())
    size = sum((out / f["path"]).stat().st_size for f in meta["files"])
    row = {"bytes": size, "tokens": meta["counts"]["tokens"], "rows": meta["counts"]["instances"],
           "dtype": meta.get("dtype")}
    if check_export:
        for to, ext in (("uer", "pt"), ("hf", "parquet")):
            target = out.with_name(out.name + f".{ext}")
            subprocess.run(["nice", sys.executable, "cli.py", "export", str(out), "--to", to, "--out", str(target)],
                           check=True, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            row[to] = sha(target)
    shutil.rmtree(out)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, default=Path("/tmp/base14r"), help="checkout of format 1 (before)")
    ap.add_argument("--seq", default="128,512")
    ap.add_argument("--check-export", action="store_true")
    ap.add_argument("--configs", default="", help="comma-separated subset of the configs (default: all)")
    ap.add_argument("--no-spm", action="store_true", help="skip the 100k-piece sentencepiece runs")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "bytes-per-token.md")
    args = ap.parse_args()
    seqs = [int(s) for s in args.seq.split(",")]
    systems = [("before", args.base), ("after", REPO)] if (args.base / "cli.py").is_file() else [("after", REPO)]
    tmp = Path(tempfile.mkdtemp(prefix="bpt-"))
    results = []
    try:
        inputs = {}
        for layout in ("lines", "sents", "cls", "pairs"):
            inputs[layout] = tmp / f"{layout}.txt"
            write_input(inputs[layout], layout)
        wanted = set(args.configs.split(",")) if args.configs else set(CONFIGS)
        plan = [(name, "char", seq) for seq in seqs for name in CONFIGS if name in wanted]
        if not args.no_spm:
            plan += [(name, "spm", seq) for seq in seqs for name in SPM_CONFIGS if name in wanted]
        for name, tok_kind, seq in plan:
            processor, layout, opts = CONFIGS[name]
            if tok_kind == "spm":
                tok = ["--spm", str(SPM)]
            else:
                tok = ["--vocab", str(SENTINEL_VOCAB if processor == "t5" else VOCAB)]
            row = {"config": name, "tokenizer": tok_kind, "seq": seq}
            check = args.check_export and tok_kind == "char" and seq == seqs[0]  # exports cost more than shards
            row["checked"] = check
            for label, repo in systems:
                row[label] = run_one(repo, inputs[layout], tmp / f"{label}-out", processor, seq, opts, tok, check)
            results.append(row)
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_table(args.out, results, systems, args.check_export)


def write_table(path: Path, results: list[dict], systems, check_export: bool) -> None:
    have_before = any(s == "before" for s, _ in systems)
    lines = [
        "# Bytes on disk per real token (`shard` output)",
        "",
        f"Run {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC by `benchmarks/bench_bytes_per_token.py"
        + (" --check-export" if check_export else "") + "`. Input: the shared CLUECorpusSmall sample "
        "(`CLUECorpusSmall_sampled.txt`, 300 KB; bert/albert/bart/gsg read `CLUECorpusSmall_bert_sampled.txt`), "
        "`--workers 1`. Bytes = sum of the part files' sizes (Arrow framing, offsets and every column "
        "included) / real tokens (zooprep.json counts.tokens). *before* = format 1 (main at eb49ad3: "
        "fixed-size padded `input_ids` + `length` column, int32 ragged columns); *after* = format 2 "
        "(`list<uint16|uint32>` with offsets, no `length`, uint16 positions). "
        f"Target (issue 14): <= {TARGET} bytes per token.",
        "",
        "| tokenizer | seq | config | rows | tokens/row | id dtype | "
        + ("before B/token | " if have_before else "") + "after B/token | target met |"
        + (" UER export identical | HF export identical |" if check_export and have_before else ""),
        "|---|---:|---|---:|---:|---|" + ("---:|" if have_before else "") + "---:|---|"
        + ("---|---|" if check_export and have_before else ""),
    ]
    for r in results:
        after = r["after"]
        bpt = after["bytes"] / after["tokens"]
        cells = [r["tokenizer"], str(r["seq"]), f"`{r['config']}`", str(after["rows"]),
                 f"{after['tokens'] / after['rows']:.1f}", after["dtype"]]
        if have_before:
            cells.append(f"{r['before']['bytes'] / r['before']['tokens']:.2f}")
        cells += [f"{bpt:.2f}", "yes" if bpt <= TARGET else "**no**"]
        if check_export and have_before and r["checked"]:
            cells += ["yes" if r["before"]["uer"] == after["uer"] else "**NO**",
                      "yes" if r["before"]["hf"] == after["hf"] else "**NO**"]
        elif check_export and have_before:
            cells += ["-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
