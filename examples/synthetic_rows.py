"""In-memory char rows for `examples/pretrain.py --synthetic`: demo text packed as UER does, read through
ShardReader's interface, so a device check needs neither a shard directory nor pyarrow."""
from __future__ import annotations

from pathlib import Path

import numpy as np


CHAR_SPECIALS = {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4}


def char_rows_from_texts(texts: list[str], processor: str = "mlm", seq_len: int = 64) -> tuple[dict, int]:
    """Pack documents as UER does without --full_sentences (``[CLS] chars [SEP]`` cut into pieces),
    with a character vocabulary built from ``texts``. Returns (columns, vocab_size); specials are
    :data:`CHAR_SPECIALS`. For device checks that must not depend on the `shard` stage."""
    if processor not in ("mlm", "lm"):
        raise ValueError("char_rows_from_texts builds mlm or lm rows")
    from collections import Counter

    counts = Counter(ch for t in texts for ch in t if not ch.isspace())
    vocab = {ch: i + len(CHAR_SPECIALS) for i, (ch, _) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))}
    row_len = seq_len + 1 if processor == "lm" else seq_len
    pieces = []
    for t in texts:
        doc = [CHAR_SPECIALS["cls"]] + [vocab[ch] for ch in t if not ch.isspace()] + [CHAR_SPECIALS["sep"]]
        pieces.extend(doc[i:i + row_len] for i in range(0, len(doc), row_len))
    ids = np.zeros((len(pieces), row_len), dtype=np.int64)
    for i, p in enumerate(pieces):
        ids[i, :len(p)] = p
    return {"input_ids": ids, "length": np.array([len(p) for p in pieces], dtype=np.int32)}, len(vocab) + len(CHAR_SPECIALS)


class InMemoryRows:
    """ShardReader's interface over columns held in memory (no pyarrow needed): for device checks
    on machines without pyarrow."""

    def __init__(self, cols: dict, processor: str, seq_len: int, vocab_size: int, specials: dict | None = None):
        from corpusprep.feed.shards import ShardMeta

        self.cols = cols
        row_len = cols["input_ids"].shape[1]
        self.meta = ShardMeta(processor, seq_len, row_len, dict(specials or CHAR_SPECIALS), vocab_size,
                              "masked_positions" in cols, "word_starts" in cols, ())
        self.row_len = row_len

    def __len__(self) -> int:
        return len(self.cols["length"])

    def take(self, indices, skip: frozenset = frozenset()) -> dict:
        idx = np.asarray(indices, dtype=np.int64)
        out = {}
        for k, v in self.cols.items():
            if k in skip:
                continue
            out[k] = [v[i] for i in idx] if isinstance(v, list) else np.asarray(v)[idx].astype(np.int64)
        return out


def demo_texts(limit_chars: int = 2_000_000) -> list[str]:
    """Documents from demo/cluecorpussmall/clue_sampled.txt when present, else generated sentences."""
    path = Path(__file__).resolve().parent.parent / "demo" / "cluecorpussmall" / "clue_sampled.txt"
    if path.is_file():
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        out, total = [], 0
        for ln in lines:
            out.append(ln)
            total += len(ln)
            if total >= limit_chars:
                break
        return out
    rng = np.random.default_rng(0)
    subjects, verbs, objects = ["我们", "老师", "学生", "工程师", "城市"], ["喜欢", "研究", "建设", "讨论"], ["数据", "语言", "模型", "春天", "道路"]
    return ["，".join(subjects[rng.integers(5)] + verbs[rng.integers(4)] + objects[rng.integers(5)]
                     for _ in range(int(rng.integers(3, 12)))) + "。" for _ in range(400)]
