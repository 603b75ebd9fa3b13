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


def target_ids(out: Path, meta: dict) -> int:
    """Ids stored in ``target_ids`` (bart, gsg: the decoder side, not in counts.tokens)."""
    import pyarrow as pa

    total = 0
    for f in meta["files"]:
        table = pa.ipc.open_stream(str(out / f["path"])).read_all()
        if "target_ids" in table.column_names:
            total += sum(len(c.values) for c in table.column("target_ids").chunks)
    return total


def run_one(repo: Path, corpus: Path, out: Path, processor: str, seq: int, opts: list[str], tok: list[str],
            check_export: bool) -> dict:
    cmd = [sys.executable, "cli.py", "shard", str(corpus), "--out", str(out), "--seq-len", str(seq),
           "--processor", processor, "--workers", "1", *tok, *opts]
    subprocess.run(["nice", *cmd], check=True, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    meta = json.loads((out / "zooprep.json").read_text())
    size = sum((out / f["path"]).stat().st_size for f in meta["files"])
    row = {"bytes": size, "tokens": meta["counts"]["tokens"], "rows": meta["counts"]["instances"],
           "dtype": meta.get("dtype"), "target_ids": target_ids(out, meta)}
    if check_export:
        for to, ext in (("uer", "pt"), ("hf", "parquet")):
            target = out.with_name(out.name + f".{ext}")
            subprocess.run(["nice", sys.executable, "cli.py", "export", str(out), "--to", to, "--out", str(target)],
                           check=True, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            row[to] = sha(target)
    shutil.rmtree(out)
    return row


READER_TIMING = r"""
import sys, time, numpy as np
from corpusprep.feed.shards import ShardReader
r = ShardReader(sys.argv[1])
rng = np.random.default_rng(0)
res = []
for size, reps in ((32, 300), (1024, 20)):
    t = time.process_time()
    for _ in range(reps):
        r.take(rng.integers(0, len(r), size))
    res.append((time.process_time() - t) / reps / size * 1e6)
t = time.process_time()
for lo in range(0, len(r), 4096):
    r.take(np.arange(lo, min(len(r), lo + 4096)))
res.append((time.process_time() - t) / len(r) * 1e6)
print(" ".join(f"{x:.2f}" for x in res))
"""


def reader_speed(tmp: Path, base: Path | None, rows: int = 20000, seq: int = 512) -> list[tuple[str, str]]:
    """CPU microseconds per row of ShardReader.take (random 32, random 1024, sequential 4096), for a
    synthetic mlm shard written in format 1 and in format 2, read by this checkout and by ``base``."""
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "tests"))  # tests/shard_writer.py: a synthetic shard in either format version
    from shard_writer import synthetic_rows, write_shard

    cols = synthetic_rows(rows, "mlm", seq_len=seq, seed=1)
    dirs = {v: write_shard(tmp / f"reader-v{v}", cols, "mlm", num_files=2, format_version=v) for v in (1, 2)}
    runs = [("this checkout, format 2", REPO, dirs[2]), ("this checkout, format 1", REPO, dirs[1])]
    if base is not None:
        runs.append(("base checkout, format 1", base, dirs[1]))
    out = []
    for label, repo, d in runs:
        r = subprocess.run(["nice", sys.executable, "-c", READER_TIMING, str(d)], cwd=repo, check=True,
                           capture_output=True, text=True)
        out.append((label, r.stdout.strip()))
        print(label, r.stdout.strip(), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, default=Path("/tmp/base14r"), help="checkout of format 1 (before)")
    ap.add_argument("--seq", default="128,512")
    ap.add_argument("--check-export", action="store_true")
    ap.add_argument("--configs", default="", help="comma-separated subset of the configs (default: all)")
    ap.add_argument("--no-spm", action="store_true", help="skip the 100k-piece sentencepiece runs")
    ap.add_argument("--reader-only", action="store_true", help="only the ShardReader.take timing")
    ap.add_argument("--from-log", type=Path, help="take the shard rows from the JSON lines a run printed; "
                                                   "measure only the reader timing")
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
        speed = reader_speed(tmp, args.base if len(systems) == 2 else None)
        if args.reader_only:
            return
        if args.from_log:
            results = [json.loads(ln) for ln in args.from_log.read_text().splitlines() if ln.startswith("{")]
            write_table(args.out, results, systems, args.check_export, speed)
            return
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
    write_table(args.out, results, systems, args.check_export, speed)


def write_table(path: Path, results: list[dict], systems, check_export: bool, speed) -> None:
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
        "| tokenizer | seq | config | rows | tokens/row | target ids/row | id dtype | "
        + ("before B/token | " if have_before else "") + "after B/token | target met | after + a length column | after B per stored id (input + target) |"
        + (" UER export identical | HF export identical |" if check_export and have_before else ""),
        "|---|---:|---|---:|---:|---:|---|" + ("---:|" if have_before else "") + "---:|---|---:|---:|"
        + ("---|---|" if check_export and have_before else ""),
    ]
    for r in results:
        after = r["after"]
        bpt = after["bytes"] / after["tokens"]
        cells = [r["tokenizer"], str(r["seq"]), f"`{r['config']}`", str(after["rows"]),
                 f"{after['tokens'] / after['rows']:.1f}", f"{after.get('target_ids', 0) / after['rows']:.1f}",
                 after["dtype"]]
        if have_before:
            cells.append(f"{r['before']['bytes'] / r['before']['tokens']:.3f}")
        ids = after["tokens"] + after.get("target_ids", 0)
        cells += [f"{bpt:.3f}", "yes" if bpt <= TARGET else "**no**",
                  f"{(after['bytes'] + 4 * after['rows']) / after['tokens']:.3f}",  # an int32 per row
                  f"{after['bytes'] / ids:.3f}"]
        if check_export and have_before and r["checked"]:
            cells += ["yes" if r["before"]["uer"] == after["uer"] else "**NO**",
                      "yes" if r["before"]["hf"] == after["hf"] else "**NO**"]
        elif check_export and have_before:
            cells += ["-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "`ShardReader.take` (it pads each batch from the offsets): CPU microseconds per row, synthetic "
              "mlm shard, 20,000 rows of seq 512 (half full, half shorter), noisy shared machine:", "",
              "| reader, files | random batches of 32 | random batches of 1024 | sequential batches of 4096 |",
              "|---|---:|---:|---:|"]
    lines += [f"| {label} | " + " | ".join(t.split()) + " |" for label, t in speed]
    lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
