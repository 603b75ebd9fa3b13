"""`shard`'s view of its corpus: units that start at a document, and the documents of each layout.

Files, units and reading are those of every corpus command (corpusprep.corpus_input over the corpus
readers: the same repairs, reject reasons and per-file fault isolation as ``clean``). Here text
units are cut at document starts (next line for one-document-per-line, next line after a blank line for
the sentence-per-line layout), since a unit's first byte seeds its documents' random source; Parquet
units are runs of row groups of about ``unit_bytes``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from corpusprep.corpus_input import BLANK_LINE, LINE, PARQUET, CorpusFile, UnitRecords, WorkUnit
from corpusprep.corpus_input import expand_corpus  # noqa: F401  (shard's corpus API, with plan_units below)
from corpusprep.corpus_input import plan_units as _plan_units

LINES = "lines"  # one document per line (mlm, lm)
SENTENCES = "sentences"  # one sentence per line, blank line between documents (bert, albert)
_SAMPLES = 5


@dataclass(slots=True)
class Document:
    key: str  # stable identity within the plan, seeds the per-document random source
    text: str | None = None  # LINES layout
    sentences: list[str] | None = None  # SENTENCES layout


@dataclass(slots=True)
class UnitTally:
    rejected: int = 0
    reasons: dict = field(default_factory=dict)  # reject reason -> count (adds up to ``rejected``)
    empty: int = 0
    samples: list | None = None
    failed: dict | None = None  # the unit's file stopped being readable (FailedFile.as_dict)
    fail_fast: bool = False  # --on-error fail: raise instead of recording the failure
    holdout: object = None  # a holdout.Holdout: read only the documents of one split


def plan_units(files: list[CorpusFile], layout: str, unit_bytes: int, failures=None) -> list[WorkUnit]:
    """Units cut at lines (LINES, and ``tab_lines``: label<TAB>text rows) or at blank lines (SENTENCES)."""
    return _plan_units(files, unit_bytes, text_cut=BLANK_LINE if layout == SENTENCES else LINE,
                       parquet_unit_bytes=unit_bytes, failures=failures, tab_rows=layout == "tab_lines")


def read_texts(unit: WorkUnit, tally: UnitTally) -> Iterator[str]:
    """The unit's non-empty record texts in order (what ``read_documents`` wraps); reader rejects
    (undecodable, too long...) are counted and sampled, empty documents counted and skipped, a file
    that stops being readable recorded. One-document-per-line packers use it directly (no per-document
    object: they never need a document's key)."""
    records = UnitRecords(unit, fail_fast=tally.fail_fast, samples=_SAMPLES)
    holdout = tally.holdout
    try:
        for record in records:
            text = record.text
            if not text or text.isspace():  # the same test as ``not text.strip()``, without a copy
                tally.empty += 1
                continue
            if holdout is not None and not holdout.keeps(text):
                continue
            yield text
    finally:
        tally.rejected += records.rejected_total
        for reason, n in records.rejected.items():
            tally.reasons[reason] = tally.reasons.get(reason, 0) + n
        if records.samples:
            tally.samples = (tally.samples or []) + records.samples[: _SAMPLES - len(tally.samples or [])]
        tally.failed = tally.failed or records.failed


def read_documents(unit: WorkUnit, layout: str, tally: UnitTally, sentence_splitter=None) -> Iterator[Document]:
    """The unit's documents in order, keyed by their position (``read_texts`` counts what is skipped)."""
    if sentence_splitter is None and unit.kind == PARQUET and layout == SENTENCES:
        from corpusprep.sentences import split_sentences as sentence_splitter
    n = 0
    prefix = f"{unit.file_index}:{unit.start}:"
    for text in read_texts(unit, tally):
        key = f"{prefix}{n}"
        if layout == LINES:
            doc = Document(key, text=text)
        elif unit.kind == PARQUET:
            sentences = sentence_splitter(text)
            if not sentences:
                tally.empty += 1
                continue
            doc = Document(key, sentences=sentences)
        else:  # a blank-line document: its lines are the sentences
            doc = Document(key, sentences=text.split("\n"))
        n += 1
        yield doc
