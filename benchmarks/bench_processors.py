"""MB per CPU-second of `shard --processor P` for the processors added in issue 12, next to a
UER-style stand-in (UER's preprocess.py loop for P restated in tests/uer_restated.py, driven by
transformers' slow BertTokenizer, one pickle.dump per instance), on the same input.

    python benchmarks/bench_processors.py [--mb 2] [--uer-mb 1] [--processors cls,t5,...]

Each run is its own subprocess (CPU time of the process tree from os.wait4). Inputs are built in a
temp dir from the shared samples in the layout each processor reads. Writes
benchmarks/results/processors.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ZOOPREP_SHARED", REPO.parent / "shared"))
VOCAB = SHARED / "reference" / "vocab" / "google_zh_vocab.txt"
SENTINEL_VOCAB = SHARED / "reference" / "vocab" / "google_zh_with_sentinel_vocab.txt"
CLUE = SHARED / "corpora" / "cluecorpussmall" / "dbiir__UER-py" / "corpora"
COUPLETS = SHARED / "corpora" / "couplets" / "v-zich__couplet-clean-dataset" / "couplets" / "test"
REVIEWS = SHARED / "corpora" / "reviews" / "dbiir__UER-py" / "corpora" / "book_review_cls.txt"
SEQ_LEN = 128
# processor -> (input layout, zooprep options, UER-restated options)
PLAN = {
    "cls": ("cls", [], {}),
    "t5": ("lines", [], {}),
    "bilm": ("lines", [], {}),
    "cls_mlm": ("cls", [], {}),
    "prefixlm": ("pairs", [], {}),
    "bart": ("sents", [], {}),
    "gsg": ("sents", [], {}),
}


def layout_lines(layout: str) -> list[bytes]:
    if layout == "lines":
        return [ln + b"\n" for ln in (CLUE / "CLUECorpusSmall_sampled.txt").read_bytes().splitlines() if ln.strip()]
    if layout == "sents":
        return (CLUE / "CLUECorpusSmall_bert_sampled.txt").read_bytes().splitlines(keepends=True)
    if layout == "cls":
        return REVIEWS.read_bytes().splitlines(keepends=True)
    ins = (COUPLETS / "in.txt").read_bytes().splitlines()
    outs = (COUPLETS / "out.txt").read_bytes().splitlines()
    return [a.strip() + b"\t" + b.strip() + b"\n" for a, b in zip(ins, outs)]


def build_corpus(path: Path, layout: str, megabytes: float) -> float:
    lines, size, target = layout_lines(layout), 0, int(megabytes * 1e6)
    with open(path, "wb") as fh:
        while size < target:
            for ln in lines:
                fh.write(ln)
                size += len(ln)
                if size >= target and (layout != "sents" or not ln.strip()):  # end on a document border
                    break
    return size / 1e6


class SlowTokenizer:
    """transformers' pure-Python BertTokenizer behind the interface the restated UER code uses."""

    def __init__(self, vocab: Path):
        from transformers import BertTokenizer

        self.tok = BertTokenizer(str(vocab), do_lower_case=True)
        v = self.tok.vocab
        self.special_ids = {"pad": v["[PAD]"], "unk": v["[UNK]"], "cls": v["[CLS]"], "sep": v["[SEP]"],
                            "mask": v["[MASK]"]}
        self.vocab_size = len(v)

    def encode(self, text: str) -> list[int]:
        return self.tok.convert_tokens_to_ids(self.tok.tokenize(text))


def run_uer_style(processor: str, corpus: str, out: str) -> dict:
    sys.path.insert(0, str(REPO))
    from tests.uer_restated import UerPreprocess

    tok = SlowTokenizer(SENTINEL_VOCAB if processor == "t5" else VOCAB)
    instances = UerPreprocess(tok, processor, SEQ_LEN, **PLAN[processor][2]).run(corpus, 1)
    with open(out, "wb") as fh:
        for inst in instances:
            pickle.dump(inst, fh)
    return {"instances": len(instances)}


def run_zooprep(processor: str, corpus: str, out: str) -> dict:
    vocab = SENTINEL_VOCAB if processor == "t5" else VOCAB
    cmd = [sys.executable, str(REPO / "cli.py"), "shard", corpus, "--out", out, "--seq-len", str(SEQ_LEN),
           "--processor", processor, "--vocab", str(vocab), "--workers", "1", *PLAN[processor][1]]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    meta = json.loads((Path(out) / "zooprep.json").read_text())
    return {"instances": meta["counts"]["instances"]}


def measured(system: str, processor: str, corpus: Path, out: Path) -> dict:
    result = out.parent / f"{out.name}.json"
    cmd = [sys.executable, __file__, "--child", system, "--processor", processor, "--corpus", str(corpus),
           "--out", str(out), "--result", str(result)]
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{system} {processor} failed (status {status})")
    res = json.loads(result.read_text())
    res["cpu_s"] = usage.ru_utime + usage.ru_stime
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=2.0)
    ap.add_argument("--uer-mb", type=float, default=1.0)
    ap.add_argument("--processors", default=",".join(PLAN))
    ap.add_argument("--child")
    ap.add_argument("--processor")
    ap.add_argument("--corpus")
    ap.add_argument("--out")
    ap.add_argument("--result")
    args = ap.parse_args()
    if args.child:
        run = run_uer_style if args.child == "uer" else run_zooprep
        Path(args.result).write_text(json.dumps(run(args.processor, args.corpus, args.out)))
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench_processors_"))
    lines = ["| processor | input | zooprep MB | zooprep CPU s | zooprep MB per CPU-s | UER-style MB | UER-style CPU s | "
             "UER-style MB per CPU-s | ratio | instances (zooprep / UER-style) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    try:
        for processor in args.processors.split(","):
            layout = PLAN[processor][0]
            mb = build_corpus(tmp / f"{processor}.txt", layout, args.mb)
            uer_mb = build_corpus(tmp / f"{processor}-uer.txt", layout, args.uer_mb)
            ours = measured("zooprep", processor, tmp / f"{processor}.txt", tmp / f"{processor}-out")
            theirs = measured("uer", processor, tmp / f"{processor}-uer.txt", tmp / f"{processor}.pt")
            a, b = mb / ours["cpu_s"], uer_mb / theirs["cpu_s"]
            lines.append(f"| {processor} | {layout} | {mb:.1f} | {ours['cpu_s']:.1f} | {a:.2f} | {uer_mb:.1f} | "
                         f"{theirs['cpu_s']:.1f} | {b:.2f} | {a / b:.1f}x | {ours['instances']} / {theirs['instances']} |")
            print(lines[-1], flush=True)
            shutil.rmtree(tmp / f"{processor}-out", ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    head = [f"# processors benchmark: `shard --processor P --seq-len {SEQ_LEN}` vs a UER-style stand-in", "",
            f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
            f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()} "
            "(shared and busy: CPU seconds, not wall time)",
            f"- command: `python benchmarks/bench_processors.py --mb {args.mb:g} --uer-mb {args.uer_mb:g}`",
            "- inputs: the shared samples in each processor's layout, repeated to size (lines: CLUECorpusSmall "
            "one document per line; sents: its sentence-per-line twin; cls: book_review_cls.txt; pairs: couplets "
            "in<TAB>out); google_zh_vocab (t5: the sentinel vocab); 1 worker; dynamic masking (UER's default dup "
            "factor 5 is not used on either side).",
            "- UER-style stand-in: tests/uer_restated.py (UER-py's preprocess loop for the processor, as the parity "
            "tests use it) with transformers' slow BertTokenizer and one pickle.dump per instance; UER-py itself "
            "is not installable here. MB per CPU-s includes start-up (interpreter, imports: ~1 CPU-s for zooprep).",
            "- instance counts differ only where the inputs differ in size (the stand-in reads `--uer-mb`).", ""]
    (REPO / "benchmarks" / "results" / "processors.md").write_text("\n".join(head + lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
