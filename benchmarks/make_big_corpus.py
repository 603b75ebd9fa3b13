"""Build a multi-GB CLUECorpusSmall-style corpus (one document per line) for scale benchmarks.

Documents are recombined deterministically from a pool of sentences: the project's own demo
composer (default, original text) or the shared real samples (``--source shared``). Output is
streamed in batches, so memory stays flat whatever ``--size``; the same arguments give the same bytes.

    python benchmarks/make_big_corpus.py --size 1GB --out /data/big1g.txt
    python benchmarks/make_big_corpus.py --size 4GB --files 16 --out /data/big4g/   # 16 part files
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "M": 1 << 20, "MB": 1 << 20, "G": 1 << 30, "GB": 1 << 30,
          "T": 1 << 40, "TB": 1 << 40}


def parse_size(text: str) -> int:
    """'1GB', '500M', '4g', '12345' -> bytes (K/M/G are powers of 1024)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?B?|[KMGT]iB)?\s*", text, re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1GB, 500MB, 4G)")
    unit = (m.group(2) or "").upper().replace("IB", "B")
    return int(float(m.group(1)) * _UNITS[unit])


def demo_sentences(n: int, seed: int) -> list[str]:
    """Sentences from the demo composer's templates (original text written for the project)."""
    sys.path.insert(0, str(REPO / "demo"))
    import compose  # demo/compose.py

    c = compose.Composer(seed)
    out: list[str] = []
    makers = [c.sentence, c.weibo_post, lambda: c.review(compose.HOTEL_GOOD, compose.HOTEL_BAD)[1],
              lambda: "".join(c.clue_doc()[:2]), lambda: "".join(c.poem_lines(1)), c.ancient_para]
    weights = [6, 2, 1, 1, 1, 1]
    plan = [m for m, w in zip(makers, weights) for _ in range(w)]
    while len(out) < n:
        text = c.pick(plan)()
        out.append(c.maybe_dirty(text, 0.02))
    return out


def shared_sentences(root: Path) -> list[str]:
    """Sentences of the shared one-document-per-line samples (read at run time, never copied)."""
    from corpusprep.sentences import split_sentences

    files = [root / "cluecorpussmall/dbiir__UER-py/corpora/CLUECorpusSmall_sampled.txt",
             root / "cluecorpussmall/Tencent__TencentPretrain/corpora/zhwiki_sampled.txt",
             root / "reviews/dbiir__UER-py/corpora/chnsenticorp.txt"]
    out: list[str] = []
    for f in files:
        if not f.is_file():
            raise SystemExit(f"error: {f}: missing; use --source demo")
        for line in f.read_text(encoding="utf-8").splitlines():
            out += split_sentences(line)
    return out


def iter_documents(pool: list[str], seed: int, batch: int = 20_000):
    """Endless batches of documents (lists of strings): 1-12 random pool sentences each."""
    import numpy as np

    rng = np.random.default_rng(seed)
    while True:
        counts = rng.integers(1, 13, size=batch)
        idx = rng.integers(0, len(pool), size=int(counts.sum())).tolist()
        docs, pos = [], 0
        for k in counts.tolist():
            docs.append("".join([pool[i] for i in idx[pos:pos + k]]))
            pos += k
        yield docs


def write_corpus(out: Path, size: int, files: int = 1, source: str = "demo", seed: int = 1234,
                 pool_size: int = 60_000, shared_root: Path | None = None) -> list[Path]:
    """Write ``size`` bytes (to the line) of one-document-per-line UTF-8 text; return the paths."""
    from corpusprep.atomic import atomic_open

    pool = demo_sentences(pool_size, seed) if source == "demo" else shared_sentences(shared_root)
    pool = [s.replace("\n", " ").replace("\r", " ") for s in pool if s.strip()]
    paths = [out] if files == 1 else [out / f"part-{i:05d}.txt" for i in range(files)]
    docs = iter_documents(pool, seed)
    per_file = size // files
    for i, path in enumerate(paths):
        budget = per_file if i < files - 1 else size - per_file * (files - 1)
        written = 0
        with atomic_open(path, "wb") as fh:
            while written < budget:
                data = ("\n".join(next(docs)) + "\n").encode("utf-8")
                if written + len(data) > budget:  # trim to whole lines near the budget
                    cut = data.rfind(b"\n", 0, budget - written)
                    data = data[: cut + 1] if cut >= 0 else data[: data.find(b"\n") + 1]
                fh.write(data)
                written += len(data)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build a big one-document-per-line corpus for scale benchmarks.")
    ap.add_argument("--size", type=parse_size, required=True, help="total bytes, e.g. 1GB, 4GB, 200MB")
    ap.add_argument("--out", type=Path, required=True, help="output file (or folder with --files > 1)")
    ap.add_argument("--files", type=int, default=1, help="split into this many part files (default 1)")
    ap.add_argument("--source", choices=["demo", "shared"], default="demo",
                    help="sentence pool: the demo composer (default) or ../shared/corpora samples")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "corpora")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    paths = write_corpus(args.out, args.size, args.files, args.source, args.seed, shared_root=args.shared)
    total = sum(p.stat().st_size for p in paths)
    dt = time.perf_counter() - t0
    print(f"wrote {total:,} bytes in {len(paths)} file(s) to {args.out} in {dt:.1f}s ({total / dt / 1e6:.0f} MB/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
