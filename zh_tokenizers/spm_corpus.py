"""Training sentences for build-spm: the corpus's work units (corpusprep.corpus_input) turned into sentences.

A work unit is a byte range of a text file (whole lines, lines belong to the range their first
byte lies in) or one Parquet file of a ``clean`` output directory, read by the corpus readers
(corpusprep.corpus_input). Units are processed by pure functions, so any executor can run them;
every sentence gets a sampling key hashed from ``(seed, file index, line number, piece index)``, which does not depend on how the corpus was cut
into units or how many workers ran, so the bottom-k sample ("keep the N smallest keys") is the
same whatever the parallelism, and sorting it by key is a seeded shuffle.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Iterator

import xxhash

from corpusprep.atomic import sha256_file
from corpusprep.corpus_input import PARQUET, CorpusFile, UnitRecords, WorkUnit, range_sha256
from corpusprep.corpus_input import plan_units as _plan_units
from corpusprep.sentences import split_sentences

DEFAULT_CHUNK_BYTES = 64 << 20
# Word boundary marker for --pre-segment jieba (sentencepiece's pretokenization_delimiter):
# a private-use character, which nmt_nfkc keeps and real text almost never contains.
PRESEG_DELIMITER = "\ue000"
LONG_LINE_MODES = ("split", "skip")


@dataclass(frozen=True)
class SentenceOptions:
    max_bytes: int  # the trainer's max_sentence_length: it skips longer lines
    long_lines: str = "split"  # split (sentences, packed) | skip (as UER's trainer did)
    sample_k: int = 0  # 0 = keep every sentence, in corpus order
    seed: int = 0
    pre_segment: str = "none"  # segment inside the unit (only when not sampling)


@dataclass
class Counts:
    """What happened to the corpus lines; ``lines == empty + invalid_utf8 + rejected + skipped_too_long + used``."""

    lines: int = 0
    empty: int = 0
    invalid_utf8: int = 0  # lines the reader rejected as undecodable
    rejected: int = 0  # lines the reader rejected for another reason (longer than 16 MB, ...)
    too_long: int = 0  # lines longer than max_sentence_length bytes (split or skipped)
    skipped_too_long: int = 0
    used: int = 0
    sentences: int = 0  # training sentences made from the used lines
    sentence_bytes: int = 0
    hard_cuts: int = 0  # single sentences still too long, cut at a character boundary
    delimiter_in_input: int = 0  # lines that already contained PRESEG_DELIMITER

    def add(self, other: "Counts") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class UnitResult:
    unit: WorkUnit
    counts: Counts
    sha256: str  # of the unit's bytes (whole file for Parquet)
    sentences: list[str] = field(default_factory=list)  # when not sampling
    sample: list[tuple] = field(default_factory=list)  # (key, file_index, line id, k, sentence), sorted
    failed: dict | None = None  # the unit's file stopped being readable (FailedFile.as_dict)


def plan_units(files: list[CorpusFile], chunk_bytes: int = DEFAULT_CHUNK_BYTES, failures=None) -> list[WorkUnit]:
    """Text files in byte ranges of ``chunk_bytes``; one unit per Parquet file (hashed whole)."""
    return _plan_units(files, chunk_bytes, parquet_unit_bytes=None, failures=failures)


# -- lines -> training sentences (pure) ----------------------------------------------------------
def hard_cut(text: str, max_bytes: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_bytes`` UTF-8 bytes at character boundaries."""
    out, buf, size = [], [], 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        if size + n > max_bytes and buf:
            out.append("".join(buf))
            buf, size = [], 0
        buf.append(ch)
        size += n
    if buf:
        out.append("".join(buf))
    return out


def pack_pieces(pieces: list[str], max_bytes: int, joiner: str = "") -> tuple[list[str], int]:
    """Greedily pack consecutive pieces into strings of at most ``max_bytes``; returns (strings, hard cuts)."""
    out: list[str] = []
    buf: list[str] = []
    size, cuts = 0, 0
    jb = len(joiner.encode("utf-8"))
    for piece in pieces:
        n = len(piece.encode("utf-8"))
        if n > max_bytes:
            if buf:
                out.append(joiner.join(buf))
                buf, size = [], 0
            out.extend(hard_cut(piece, max_bytes))
            cuts += 1
            continue
        extra = n + (jb if buf else 0)
        if buf and size + extra > max_bytes:
            out.append(joiner.join(buf))
            buf, size, extra = [], 0, n
        buf.append(piece)
        size += extra
    if buf:
        out.append(joiner.join(buf))
    return out, cuts


def line_to_sentences(line: str, opts: SentenceOptions, counts: Counts) -> list[str]:
    """One corpus line -> training sentences of at most ``opts.max_bytes`` bytes (counted in ``counts``)."""
    counts.lines += 1
    text = line.strip()
    if not text:
        counts.empty += 1
        return []
    nbytes = len(text.encode("utf-8"))
    if nbytes <= opts.max_bytes:
        out = [text]
    else:
        counts.too_long += 1
        if opts.long_lines == "skip":
            counts.skipped_too_long += 1
            return []
        out, cuts = pack_pieces(split_sentences(text), opts.max_bytes)
        counts.hard_cuts += cuts
    counts.used += 1
    return out


def segment_sentences(sentences: list[str], max_bytes: int) -> tuple[list[str], int, int]:
    """Join jieba words with PRESEG_DELIMITER, re-packing at word boundaries to stay within ``max_bytes``.

    Returns (sentences, lines that already held the delimiter, hard cuts).
    """
    import jieba

    jieba.setLogLevel(60)
    out: list[str] = []
    collisions = cuts = 0
    for s in sentences:
        if PRESEG_DELIMITER in s:
            collisions += 1  # it acts as one more boundary and is dropped by the trainer
        words = [w for w in jieba.cut(s) if w]
        packed, c = pack_pieces(words, max_bytes, PRESEG_DELIMITER)
        cuts += c
        out.extend(packed)
    return out, collisions, cuts


# -- reading a unit --------------------------------------------------------------------------
def _unit_lines(unit: WorkUnit, records: UnitRecords) -> Iterator[tuple[int, str]]:
    """(line id, line): a text line's 1-based line number, or for Parquet (row << 20 | line within
    the document) for each line of a document."""
    if unit.kind != PARQUET:
        for record in records:
            yield record.line, record.text
        return
    for record in records:  # a document's '\n'-separated lines are the trainer's sentences
        row = record.line - 1
        for j, ln in enumerate(record.text.split("\n")):
            yield (row << 20) | min(j, (1 << 20) - 1), ln


def _key(seed: int, file_index: int, offset: int, k: int) -> int:
    return xxhash.xxh64_intdigest(f"{file_index}:{offset}:{k}".encode(), seed=seed)


def scan_unit(task: tuple[WorkUnit, SentenceOptions]) -> UnitResult:
    """Read one unit and return its training sentences (or its bottom-k sample) and counts. Pure."""
    unit, opts = task
    counts = Counts()
    keep: list[str] = []
    bottom = BottomK(opts.sample_k)
    records = UnitRecords(unit)
    for line_id, text in _unit_lines(unit, records):
        sents = line_to_sentences(text, opts, counts)
        if opts.pre_segment == "jieba" and not opts.sample_k and sents:
            sents, coll, cuts = segment_sentences(sents, opts.max_bytes)
            counts.delimiter_in_input += coll
            counts.hard_cuts += cuts
        counts.sentences += len(sents)
        for k, s in enumerate(sents):
            counts.sentence_bytes += len(s.encode("utf-8"))
            if not opts.sample_k:
                keep.append(s)
                continue
            bottom.push(_key(opts.seed, unit.file_index, line_id, k), unit.file_index, line_id, k, s)
    undecodable = records.rejected.get("undecodable", 0)
    counts.lines += records.rejected_total  # rejected lines are lines too
    counts.invalid_utf8 += undecodable
    # lines the reader skipped for their length (never held in memory) are reported as too long, like
    # the ones longer than max_sentence_length: one count for every line left out for its length
    long_lines = records.rejected.get("line_too_long", 0) + records.rejected.get("document_too_long", 0)
    counts.too_long += long_lines
    counts.skipped_too_long += long_lines
    counts.rejected += records.rejected_total - undecodable - long_lines
    if records.failed:
        return UnitResult(unit, counts, "", keep, bottom.items(), records.failed)
    digest = sha256_file(unit.path) if unit.kind == PARQUET else range_sha256(unit.path, unit.start, unit.end)
    return UnitResult(unit, counts, digest, keep, bottom.items())


class BottomK:
    """The ``k`` sentences with the smallest ``(key, file index, offset, piece)`` (memory: k sentences)."""

    def __init__(self, k: int):
        self.k = k
        self._heap: list[tuple] = []  # max-heap by key (negated) holding the k smallest keys

    def push(self, key: int, file_index: int, offset: int, k: int, sentence: str) -> bool:
        """Offer one sentence; False if it is not among the k smallest."""
        heap, item = self._heap, (-key, -file_index, -offset, -k, sentence)
        if len(heap) < self.k:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
        else:
            return False
        return True

    def add(self, items: list[tuple]) -> None:
        """Merge a per-unit sample (``items()`` of another BottomK)."""
        for item in items:
            if not self.push(*item):
                break  # items are sorted by key: the rest cannot get in either

    def items(self) -> list[tuple]:
        """(key, file_index, offset, k, sentence) in key order."""
        return sorted((-a, -b, -c, -d, s) for a, b, c, d, s in self._heap)

    def sentences(self) -> list[str]:
        """The sample in key order, i.e. shuffled with the seed."""
        return [s for *_, s in self.items()]


def segment_batch(task: tuple[list[str], int]) -> tuple[list[str], int, int]:
    """Executor entry point for pre-segmenting a batch of sampled sentences."""
    sentences, max_bytes = task
    return segment_sentences(sentences, max_bytes)
