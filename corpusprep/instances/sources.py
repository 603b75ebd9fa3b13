"""`shard`'s view of its corpus: units that start at a document, and the documents of each layout.

Files, units and reading are shared with build-vocab / build-spm (corpusprep.corpus_input). Here text
units are cut at document starts (next line for one-document-per-line, next line after a blank line for
the sentence-per-line layout), since a unit's first byte seeds its documents' random source; Parquet
units are runs of row groups of about ``unit_bytes``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from corpusprep.corpus_input import BLANK_LINE, LINE, PARQUET, CorpusFile, WorkUnit, parquet_texts, text_lines
from corpusprep.corpus_input import expand_corpus  # noqa: F401  (shard's corpus API, with plan_units below)
from corpusprep.corpus_input import plan_units as _plan_units

LINES = "lines"  # one document per line (mlm, lm)
SENTENCES = "sentences"  # one sentence per line, blank line between documents (bert, albert)


@dataclass(slots=True)
class Document:
    key: str  # stable identity within the plan, seeds the per-document random source
    text: str | None = None  # LINES layout
    sentences: list[str] | None = None  # SENTENCES layout


@dataclass(slots=True)
class UnitTally:
    rejected: int = 0
    empty: int = 0
    samples: list | None = None


def plan_units(files: list[CorpusFile], layout: str, unit_bytes: int) -> list[WorkUnit]:
    return _plan_units(files, unit_bytes, text_cut=LINE if layout == LINES else BLANK_LINE,
                       parquet_unit_bytes=unit_bytes)


def read_documents(unit: WorkUnit, layout: str, tally: UnitTally, sentence_splitter=None) -> Iterator[Document]:
    """The unit's documents in order; undecodable lines are counted rejects, empty documents skipped."""
    if unit.kind == PARQUET:
        yield from _parquet_documents(unit, layout, tally, sentence_splitter)
    elif layout == LINES:
        yield from _line_documents(unit, tally)
    else:
        yield from _sentence_documents(unit, tally)


def _lines(unit: WorkUnit, tally: UnitTally) -> Iterator[str | None]:
    """Each line of the unit decoded without its line break; None (a counted reject) if not UTF-8."""
    for at, raw in text_lines(unit.path, unit.start, unit.end):
        try:
            yield raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            tally.rejected += 1
            if tally.samples is None:
                tally.samples = []
            if len(tally.samples) < 5:
                tally.samples.append({"reason": "invalid_utf8", "source": unit.path, "byte": at,
                                      "detail": str(exc)[:120]})
            yield None


def _line_documents(unit: WorkUnit, tally: UnitTally) -> Iterator[Document]:
    n = 0
    for line in _lines(unit, tally):
        if line is None:
            continue
        if not line.strip():
            tally.empty += 1
            continue
        yield Document(f"{unit.file_index}:{unit.start}:{n}", text=line)
        n += 1


def _sentence_documents(unit: WorkUnit, tally: UnitTally) -> Iterator[Document]:
    n = 0
    sentences: list[str] = []
    for line in _lines(unit, tally):
        if line is None:
            continue
        if line.strip():
            sentences.append(line)
            continue
        if sentences:
            yield Document(f"{unit.file_index}:{unit.start}:{n}", sentences=sentences)
            n += 1
            sentences = []
    if sentences:
        yield Document(f"{unit.file_index}:{unit.start}:{n}", sentences=sentences)


def _parquet_documents(unit: WorkUnit, layout: str, tally: UnitTally, splitter) -> Iterator[Document]:
    if splitter is None:
        from corpusprep.sentences import split_sentences as splitter
    n = 0
    for text in parquet_texts(unit.path, unit.start, unit.end):
        if not text or not text.strip():
            tally.empty += 1
            continue
        key = f"{unit.file_index}:{unit.start}:{n}"
        n += 1
        if layout == LINES:
            yield Document(key, text=text)
        else:
            sentences = splitter(text)
            if sentences:
                yield Document(key, sentences=sentences)
            else:
                tally.empty += 1
