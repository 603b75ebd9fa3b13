"""How well a vocab covers a counted corpus: character coverage, exact [UNK] rate, missing characters."""
from __future__ import annotations

from collections import Counter

from zh_tokenizers.bert_tokenizer import HF_MAX_CHARS
from zh_tokenizers.vocab_build import CharStats
from zh_tokenizers.vocab_count import ranked
from zh_tokenizers.wordpiece import wordpiece

TOP_MISSING = 50


def coverage_report(counts: Counter, stats: CharStats, tokens: list[str], name: str) -> dict:
    """Exact for the HF-compatible tokenizer: the [UNK] rate is computed by WordPiece over every counted unit."""
    token_to_id = {t: i for i, t in enumerate(tokens)}
    unk = token_to_id.get("[UNK]", -1)
    n_tokens = n_unk = 0
    for word, n in counts.items():
        ids = wordpiece(word, token_to_id, unk, HF_MAX_CHARS)
        n_tokens += n * len(ids)
        n_unk += n * ids.count(unk)
    total = stats.total_chars
    missing = Counter({ch: n for ch, n in stats.chars.items() if ch not in token_to_id})
    missing_total = sum(missing.values())
    return {
        "vocab": name,
        "vocab_size": len(tokens),
        "char_coverage": round(1 - missing_total / total, 8) if total else 1.0,
        "distinct_chars_covered": len(stats.chars) - len(missing),
        "distinct_chars_missing": len(missing),
        "tokens": n_tokens,
        "unk_tokens": n_unk,
        "unk_rate": round(n_unk / n_tokens, 8) if n_tokens else 0.0,
        "top_missing_chars": [[ch, n] for ch, n in ranked(missing)[:TOP_MISSING]],
    }
