"""Training sentences for build-spm: find inputs, cut them into work units, turn lines into sentences.

A work unit is a byte range of a text file (whole lines, lines belong to the range their first
byte lies in) or one Parquet file of a ``clean`` output directory. Units are processed by pure
functions, so any executor can run them; every sentence gets a sampling key hashed from
``(seed, file index, line offset, piece index)``, which does not depend on how the corpus was cut
into units or how many workers ran, so the bottom-k sample ("keep the N smallest keys") is the
same whatever the parallelism, and sorting it by key is a seeded shuffle.
"""
from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass, field
from pathlib import Path

import xxhash

from corpusprep.errors import InputError
from corpusprep.sentences import split_sentences

DEFAULT_CHUNK_BYTES = 64 << 20
# Word boundary marker for --pre-segment jieba (sentencepiece's pretokenization_delimiter):
# a private-use character, which nmt_nfkc keeps and real text almost never contains.
PRESEG_DELIMITER = "\ue000"
LONG_LINE_MODES = ("split", "skip")


@dataclass(frozen=True)
class InputFile:
    path: str
    kind: str  # "text" | "parquet"
    size: int


@dataclass(frozen=True)
class WorkUnit:
    file_index: int
    path: str
    kind: str
    start: int = 0
    end: int = 0  # exclusive; text units only


@dataclass(frozen=True)
class SentenceOptions:
    max_bytes: int  # the trainer's max_sentence_length: it skips longer lines
    long_lines: str = "split"  # split (sentences, packed) | skip (as UER's trainer did)
    sample_k: int = 0  # 0 = keep every sentence, in corpus order
    seed: int = 0
    pre_segment: str = "none"  # segment inside the unit (only when not sampling)


@dataclass
class Counts:
    """What happened to the corpus lines; ``lines == empty + invalid_utf8 + skipped_too_long + used``."""

    lines: int = 0
    empty: int = 0
    invalid_utf8: int = 0
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
    sample: list[tuple] = field(default_factory=list)  # (key, file_index, offset, k, sentence), sorted


# -- finding inputs ----------------------------------------------------------------------------
def _dir_files(d: Path) -> list[Path]:
    for pattern in ("train-*.parquet", "*.parquet", "train-*.txt", "*.txt"):
        found = sorted(p for p in d.glob(pattern) if p.is_file())
        if found:
            return found
    return []


def discover_inputs(paths: list[str]) -> list[InputFile]:
    """Expand CORPUS arguments: text files, or `clean` output dirs (train-* Parquet shards preferred)."""
    out: list[InputFile] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files = _dir_files(p)
            if not files:
                raise InputError(raw, "directory holds no .parquet or .txt corpus files")
        elif p.is_file():
            files = [p]
        else:
            raise InputError(raw, "no such file or directory")
        for f in files:
            kind = "parquet" if f.suffix == ".parquet" else "text"
            out.append(InputFile(str(f), kind, f.stat().st_size))
    return out


def plan_units(files: list[InputFile], chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> list[WorkUnit]:
    """Cut text files into byte ranges; one unit per Parquet file. Independent of the worker count."""
    units: list[WorkUnit] = []
    for i, f in enumerate(files):
        if f.kind == "parquet":
            units.append(WorkUnit(i, f.path, f.kind))
            continue
        start = 0
        while True:
            end = min(start + chunk_bytes, f.size)
            units.append(WorkUnit(i, f.path, f.kind, start, end))
            if end >= f.size:
                break
            start = end
    return units


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
def _text_lines(unit: WorkUnit, h) -> list[tuple[int, bytes]]:
    """(offset, raw line) for the lines whose first byte lies in [start, end); hashes exactly those bytes."""
    with open(unit.path, "rb") as fh:
        fh.seek(unit.start)
        block = fh.read(unit.end - unit.start)
        h.update(block)
        base = unit.start
        if unit.start > 0:
            fh.seek(unit.start - 1)
            if fh.read(1) != b"\n":  # we start mid-line: that line belongs to the previous unit
                cut = block.find(b"\n")
                if cut < 0:
                    return []
                block, base = block[cut + 1:], base + cut + 1
        if block and not block.endswith(b"\n"):
            fh.seek(unit.end)
            tail = fh.readline()  # finish the last line, which started inside this unit
            block += tail
    lines, pos = [], 0
    for raw in block.split(b"\n"):
        lines.append((base + pos, raw))
        pos += len(raw) + 1
    if lines and lines[-1][1] == b"":
        lines.pop()  # the empty remainder after the final newline
    return lines


def _parquet_lines(unit: WorkUnit, h) -> list[tuple[int, str]]:
    import pyarrow.parquet as pq

    with open(unit.path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    try:
        pf = pq.ParquetFile(unit.path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(unit.path, f"not a readable Parquet file ({exc})") from None
    if "text" not in pf.schema_arrow.names:
        raise InputError(unit.path, "Parquet file has no 'text' column")
    out: list[tuple[int, str]] = []
    row = 0
    for batch in pf.iter_batches(columns=["text"], batch_size=4096):
        for doc in batch.column(0).to_pylist():
            # A document's '\n'-separated lines are the trainer's sentences; the id packs row and line.
            for j, ln in enumerate((doc or "").split("\n")):
                out.append(((row << 20) | min(j, (1 << 20) - 1), ln))
            row += 1
    return out


def _key(seed: int, file_index: int, offset: int, k: int) -> int:
    return xxhash.xxh64_intdigest(f"{file_index}:{offset}:{k}".encode(), seed=seed)


def scan_unit(task: tuple[WorkUnit, SentenceOptions]) -> UnitResult:
    """Read one unit and return its training sentences (or its bottom-k sample) and counts. Pure."""
    unit, opts = task
    h = hashlib.sha256()
    counts = Counts()
    if unit.kind == "parquet":
        lines = _parquet_lines(unit, h)
    else:
        lines = _text_lines(unit, h)
    keep: list[str] = []
    heap: list[tuple] = []  # max-heap by key (negated) holding the k smallest keys
    for offset, raw in lines:
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                counts.lines += 1
                counts.invalid_utf8 += 1
                continue
        else:
            text = raw
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
            item = (-_key(opts.seed, unit.file_index, offset, k), -unit.file_index, -offset, -k, s)
            if len(heap) < opts.sample_k:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
    sample = sorted((-a, -b, -c, -d, s) for a, b, c, d, s in heap)
    return UnitResult(unit, counts, h.hexdigest(), keep, sample)


class BottomK:
    """Merge per-unit bottom-k samples into the corpus-wide one (memory: k sentences)."""

    def __init__(self, k: int):
        self.k = k
        self._heap: list[tuple] = []

    def add(self, items: list[tuple]) -> None:
        heap, k = self._heap, self.k
        for key, fi, off, j, s in items:
            item = (-key, -fi, -off, -j, s)
            if len(heap) < k:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
            else:
                break  # items are sorted by key: the rest cannot get in either

    def sentences(self) -> list[str]:
        """The sample in key order, i.e. shuffled with the seed."""
        return [s for *_, s in sorted((-a, -b, -c, -d, s) for a, b, c, d, s in self._heap)]


def segment_batch(task: tuple[list[str], int]) -> tuple[list[str], int, int]:
    """Executor entry point for pre-segmenting a batch of sampled sentences."""
    sentences, max_bytes = task
    return segment_sentences(sentences, max_bytes)
