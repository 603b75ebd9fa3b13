"""Count the units a BERT tokenizer sees (one CJK char, one punctuation char, one normalised word)."""
from __future__ import annotations

from collections import Counter
from typing import Iterable

from zh_tokenizers.char_classes import hf_tables
from zh_tokenizers.corpus_units import CorpusUnit, iter_unit_texts
from zh_tokenizers.vocab_file import SPECIAL_TOKENS

_SPECIALS = tuple(SPECIAL_TOKENS.values())


def count_texts(texts: Iterable[str], lowercase: bool = True) -> Counter:
    """Normalised token -> count, cut exactly as ``BertCharTokenizer`` cuts text before WordPiece."""
    tables = hf_tables(lowercase)
    drop, findall = tables.drop.sub, tables.token.findall
    raw: Counter = Counter()
    for text in texts:
        if "[" in text:
            for special in _SPECIALS:
                text = text.replace(special, " ")  # atomic in the tokenizer; never part of a word
        raw.update(findall(drop("", text)))
    normalized: Counter = Counter()
    normalize = tables.normalize
    for token, n in raw.items():
        for word in normalize(token):
            normalized[word] += n
    return normalized


def count_unit(unit: CorpusUnit) -> tuple[Counter, int]:
    """(token counts, number of texts) of one work unit; runs in a worker process."""
    n = 0

    def texts():
        nonlocal n
        for text in iter_unit_texts(unit):
            n += 1
            yield text

    return count_texts(texts()), n


def merge_counts(parts: Iterable[Counter]) -> Counter:
    total: Counter = Counter()
    for part in parts:
        total.update(part)
    return total


def ranked(counts: Counter) -> list[tuple[str, int]]:
    """Most frequent first; ties by code points, so the order never depends on worker count or input order."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
