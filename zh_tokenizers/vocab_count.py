"""Count the units a BERT tokenizer sees (one CJK char, one punctuation char, one normalised word)."""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Iterator

from corpusprep.corpus_input import PARQUET, CorpusFile, UnitRecords, WorkUnit
from corpusprep.corpus_input import plan_units as _plan_units
from zh_tokenizers.char_classes import hf_tables
from zh_tokenizers.vocab_file import SPECIAL_TOKENS

_SPECIALS = tuple(SPECIAL_TOKENS.values())
CHUNK_BYTES = 32 << 20


def plan_units(files: list[CorpusFile], chunk_bytes: int = CHUNK_BYTES, failures=None) -> list[WorkUnit]:
    """Counting units: text files in byte ranges of ``chunk_bytes``, Parquet files one row group each."""
    return _plan_units(files, chunk_bytes, parquet_unit_bytes=0, failures=failures)


def unit_texts(unit: WorkUnit, records: UnitRecords | None = None) -> Iterator[str]:
    """Texts of one unit: its lines, or the non-empty ``text`` values of its row groups. Lines the
    reader rejects (not UTF-8, too long) are counted in ``records``; reading stops at a failure."""
    parquet = unit.kind == PARQUET
    for record in records if records is not None else UnitRecords(unit):
        if record.text or not parquet:
            yield record.text


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


def count_unit(unit: WorkUnit) -> tuple[Counter, int, dict]:
    """(token counts, number of texts, {"rejected": {reason: n}, "failed": entry | None}) of one work
    unit; runs in a worker process."""
    n = 0
    records = UnitRecords(unit)

    def texts():
        nonlocal n
        for text in unit_texts(unit, records):
            n += 1
            yield text

    counts = count_texts(texts())
    return counts, n, {"rejected": records.rejected, "failed": records.failed}


def merge_counts(parts: Iterable[Counter]) -> Counter:
    total: Counter = Counter()
    for part in parts:
        total.update(part)
    return total


def ranked(counts: Counter) -> list[tuple[str, int]]:
    """Most frequent first; ties by code points, so the order never depends on worker count or input order."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
