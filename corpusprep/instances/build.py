"""One work unit -> one Arrow part: read documents, tokenize in batches, pack, mask, write.

Runs inside executor workers; everything it needs travels in ``UnitContext`` (picklable).
What a unit holds is up to its processor (``ctx.processor.build``, see data_processors/); the
line and sentence-document helpers below are shared by them. Random choices use a
``random.Random`` per document (sentence layouts, labelled lines) or per row (line layouts),
seeded from the run seed and the position in the plan, never from the worker, so any worker count
gives the same bytes.
"""
from __future__ import annotations

import random
from array import array
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa

from corpusprep.atomic import sha256_file
from corpusprep.histogram import Histogram
from corpusprep.instances.arrow_io import PartWriter, RowBuffer
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.masking import MaskIds, mask_instance
from corpusprep.instances.processors import FullSentencePacker, cut_flat
from corpusprep.instances.sources import SENTENCES, UnitTally, WorkUnit, read_documents, read_texts
from corpusprep.instances.stats import InstanceStats
from corpusprep.instances.wordstarts import word_starts
from corpusprep.outdir import read_done, unit_identity, write_done
from corpusprep.outdir.done import parquet_span
from zh_tokenizers.batch_encode import Encoded, encode_flat

ENCODE_BATCH_DOCS = 256  # documents per block of rows (static masks are seeded per block: part of the output)
ENCODE_GROUPS, ENCODE_CHARS = 16, 1 << 20  # line layouts tokenize up to 16 blocks or ~1M characters at once
LABEL_COLUMNS = frozenset({"nsp_label", "sop_label", "label"})  # counted for the label balance
FLUSH_ROWS = 4096


@dataclass(frozen=True)
class UnitContext:
    cfg: ShardConfig
    tok: object
    schema: pa.Schema
    parts_dir: str
    holdout: object = None  # holdout.Holdout: build one split of a --validation-* run
    tgt_tok: object = None  # mt: the target side's tokenizer

    @property
    def processor(self):
        from corpusprep.instances.data_processors import get

        return get(self.cfg.processor)


def part_paths(parts_dir: str | Path, index: int) -> tuple[Path, Path]:
    d = Path(parts_dir)
    return d / f"part-{index:06d}.arrow", d / f"part-{index:06d}.done.json"


def batched(items: Iterable, n: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, n)):
        yield batch


class Stats:
    """Per-unit counts that add up to the report in zooprep.json."""

    def __init__(self):
        self.documents = self.instances = self.tokens = self.content_tokens = self.unk = 0
        self.more = InstanceStats()  # labels, rows without a target, [UNK] characters
        # length distributions (zooprep.json counts.lengths): documents as read, rows as written
        self.doc_chars, self.doc_tokens, self.row_tokens = Histogram(), Histogram(), Histogram()
        self.one_rows = array("q")  # lengths of rows built one at a time, binned in as_dict

    def read(self, texts: list[str], doc_tokens) -> None:
        """Documents read (first pass only; one per line): characters and content tokens of each."""
        self.doc_chars.add(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
        self.doc_tokens.add(doc_tokens)

    def as_dict(self) -> dict:
        self.row_tokens.add(np.frombuffer(self.one_rows, dtype=np.int64))
        self.one_rows = array("q")
        return dict(documents=self.documents, instances=self.instances, tokens=self.tokens,
                    content_tokens=self.content_tokens, unk=self.unk, more=self.more.as_dict(),
                    lengths={"chars_per_document": self.doc_chars.as_dict(),
                             "tokens_per_document": self.doc_tokens.as_dict(),
                             "tokens_per_row": self.row_tokens.as_dict()})


class Emitter:
    """Turns finished instances into rows: optional word starts, optional static masking."""

    def __init__(self, ctx: UnitContext, rows: RowBuffer, writer: PartWriter, stats: Stats):
        self.cfg, self.tok, self.rows, self.writer, self.stats = ctx.cfg, ctx.tok, rows, writer, stats
        self.ids = MaskIds.from_tokenizer(ctx.tok)
        self.spec = ctx.cfg.masking
        self.mask_now = self.cfg.static_masking
        self.per_row = self.cfg.static_masking or self.cfg.whole_word

    def block(self, ids2d: np.ndarray, lengths: np.ndarray, rng_key: str) -> None:
        """Padded rows from the line packers; ``rng_key`` + row number seeds each row's masking."""
        self._rows_out(ids2d, lengths, rng_key, lambda: self.rows.add_block(ids2d, lengths))

    def flat(self, values: np.ndarray, lengths: np.ndarray, rng_key: str) -> None:
        """Rows given unpadded, back to back (``cut_flat``); otherwise as ``block``."""
        self._rows_out(_FlatRows(values, lengths), lengths, rng_key, lambda: self.rows.add_flat(values, lengths))

    def _rows_out(self, rows, lengths: np.ndarray, rng_key: str, add_all) -> None:
        self.stats.instances += len(lengths)
        self.stats.tokens += int(lengths.sum())
        self.stats.row_tokens.add(lengths)
        self.stats.more.rows(self.cfg.processor, lengths, rows, (self.ids.cls, self.ids.sep, self.ids.pad),
                             self.cfg.static_masking)
        if not self.per_row:
            add_all()
        else:
            for i in range(len(lengths)):
                src = rows[i][: lengths[i]].tolist()
                self._add(src, random.Random(f"{rng_key}:{i}"), {})
        self._maybe_flush()

    def one(self, src: list[int], rng, **extra) -> None:
        """One instance with its processor columns; ``rng`` draws its static masks."""
        self.stats.instances += 1
        self.stats.tokens += len(src)
        self.stats.one_rows.append(len(src))
        for col in LABEL_COLUMNS.intersection(extra):
            self.stats.more.label(col, extra[col])
        self._add(src, rng, extra)
        self._maybe_flush()

    def _add(self, src: list[int], rng, extra: dict) -> None:
        ws = word_starts(src, self.tok) if self.cfg.whole_word else None
        if ws is not None:
            extra["word_starts"] = ws
        if self.mask_now:
            src, positions, labels = mask_instance(src, rng, self.ids, self.spec, ws)
            extra["masked_positions"], extra["masked_labels"] = positions, labels
            self.stats.more.masked_tokens += len(positions)
            if self.cfg.processor == "mlm":
                self.stats.more.masked(len(positions))
        self.rows.add(src, **extra)

    def _maybe_flush(self, force: bool = False) -> None:
        if force or self.rows.n >= FLUSH_ROWS:
            self.writer.write(self.rows.take_batch())

    def close(self) -> None:
        self._maybe_flush(force=True)


class _FlatRows:
    """Row i of rows stored back to back: ``rows[i]`` is its ids (what ``InstanceStats.rows`` and masking read)."""

    def __init__(self, values: np.ndarray, lengths: np.ndarray):
        self.values = values
        self.ends = np.cumsum(lengths, dtype=np.int64)
        self.starts = self.ends - lengths

    def __getitem__(self, i: int) -> np.ndarray:
        return self.values[self.starts[i]: self.ends[i]]


def count_content(enc, stats: Stats, unk: int) -> None:
    """Content tokens and [UNK]s of a batch (``Encoded`` or lists of ids)."""
    if isinstance(enc, Encoded):
        stats.content_tokens += len(enc.ids)
        stats.unk += enc.count(unk)
        return
    for ids in enc:
        stats.content_tokens += len(ids)
        stats.unk += ids.count(unk) if isinstance(ids, list) else int(np.count_nonzero(np.asarray(ids) == unk))


def encode_groups(texts: Iterable[str], tok) -> Iterator[tuple[list[str], Encoded, list[Encoded]]]:
    """``ENCODE_BATCH_DOCS``-document groups, tokenized several at once (fewer, larger tokenizer calls: its cost per
    call is fixed numpy work) up to ``ENCODE_GROUPS`` groups or ``ENCODE_CHARS`` characters; each group comes back as
    its own ``Encoded``. Rows are built per group, so output bytes do not depend on the tokenizer batch."""
    groups: list[list[str]] = []
    chars = 0
    for group in batched(texts, ENCODE_BATCH_DOCS):
        groups.append(group)
        chars += sum(map(len, group))
        if len(groups) == ENCODE_GROUPS or chars >= ENCODE_CHARS:
            yield _encode_groups(groups, tok)
            groups, chars = [], 0
    if groups:
        yield _encode_groups(groups, tok)


def _encode_groups(groups: list[list[str]], tok) -> tuple[list[str], Encoded, list[Encoded]]:
    texts = [t for g in groups for t in g]
    enc = encode_flat(tok, texts)
    bounds = np.cumsum([0] + [len(g) for g in groups]).tolist()
    return texts, enc, [enc.slice(a, b) for a, b in zip(bounds, bounds[1:])]


def line_rows(ctx: UnitContext, unit: WorkUnit, emit: Emitter, stats: Stats, tally: UnitTally,
              width: int, framed: bool = True) -> None:
    """One document per line, each cut into ``width`` pieces (mlm, lm, t5, bilm); with
    ``--full-sentences`` framed documents are packed across borders within a docs buffer.
    Batches stay flat numpy arrays from the tokenizer to the rows (``encode_flat``)."""
    cfg, tok, ids = ctx.cfg, ctx.tok, emit.ids
    dtype = emit.rows.np_dtype
    for dup in range(cfg.dup_factor):
        key = f"{cfg.seed}:{dup}:{unit.file_index}:{unit.start}"
        first = dup == 0
        packer = FullSentencePacker(width, ids, dtype) if cfg.full_sentences else None
        in_buffer = 0
        block_no = 0
        for texts, whole, groups in encode_groups(read_texts(unit, tally if first else UnitTally()), tok):
            if first:
                stats.documents += len(texts)
                stats.read(texts, np.diff(whole.offsets))
                count_content(whole, stats, ids.unk)
                stats.more.texts(tok, texts)
            for enc in groups:
                if packer is None:
                    emit.flat(*cut_flat(enc, width, ids, dtype, framed), f"{key}:b{block_no}")
                    block_no += 1
                    continue
                at = 0
                while at < len(enc):  # split the batch where UER's docs buffer would be flushed
                    take = min(len(enc) - at, cfg.docs_buffer_size - in_buffer)
                    emit.block(*packer.add(enc.slice(at, at + take)), f"{key}:b{block_no}")
                    block_no += 1
                    at, in_buffer = at + take, in_buffer + take
                    if in_buffer == cfg.docs_buffer_size:
                        emit.block(*packer.finish(), f"{key}:b{block_no}")
                        block_no += 1
                        in_buffer = 0
        if packer is not None and in_buffer:
            emit.block(*packer.finish(), f"{key}:b{block_no}")


def tokenized_documents(ctx: UnitContext, unit: WorkUnit, stats: Stats, tally: UnitTally) -> Iterator[tuple[str, list]]:
    """(key, sentences as id arrays) per document; sentences with no tokens dropped, like UER.
    A batch's ids go from the tokenizer's flat array into one ``array`` in C, sliced per sentence."""
    tok, unk = ctx.tok, ctx.tok.special_ids["unk"]
    uint16 = ctx.schema.field("input_ids").type.value_type == pa.uint16()
    typecode, dtype = ("H", np.uint16) if uint16 else ("I", np.uint32)
    docs = read_documents(unit, SENTENCES, tally)
    for batch in batched(docs, ENCODE_BATCH_DOCS):
        flat = [s for d in batch for s in d.sentences]
        enc = encode_flat(tok, flat)
        count_content(enc, stats, unk)
        stats.more.texts(tok, flat)
        ids = array(typecode, enc.ids.astype(dtype).tobytes())
        bounds = enc.offsets.tolist()
        kept_chars, kept_tokens = [], []
        at = 0
        for d in batch:
            n = len(d.sentences)
            sentences = [ids[a:b] for a, b in zip(bounds[at:at + n], bounds[at + 1:at + n + 1]) if b > a]
            at += n
            if sentences:
                stats.documents += 1
                stats.more.documents([len(sentences)])
                kept_chars.append(sum(map(len, d.sentences)))
                kept_tokens.append(sum(map(len, sentences)))
                yield d.key, sentences
            else:
                tally.empty += 1
        stats.doc_chars.add(kept_chars)
        stats.doc_tokens.add(kept_tokens)


def document_buffers(ctx: UnitContext, unit: WorkUnit, stats: Stats, tally: UnitTally, make, emit: Emitter) -> None:
    """Sentence-layout processors (bert, albert, bart, gsg): documents in buffers of
    ``--docs-buffer-size``; each buffer is processed ``--dup-factor`` times, as UER does.
    ``make(documents, i, rng, finish)`` builds document i's instances, calling ``finish(src, **cols)``."""
    cfg = ctx.cfg
    for buffer in batched(tokenized_documents(ctx, unit, stats, tally), cfg.docs_buffer_size):
        documents = [s for _, s in buffer]
        for dup in range(cfg.dup_factor):
            for i, (key, _) in enumerate(buffer):
                rng = random.Random(f"{cfg.seed}:{dup}:{key}")
                make(documents, i, rng, lambda src, rng=rng, **cols: emit.one(src, rng, **cols))


def unit_key(unit: WorkUnit) -> list:
    return [unit.index, unit.file_index, unit.path, unit.kind, unit.start, unit.end]


def unit_inputs(unit: WorkUnit) -> list[dict]:
    """Content identity of the bytes a unit reads (a Parquet unit: the byte span of its row groups)."""
    if unit.kind == "parquet":
        return unit_identity([(unit.path, *parquet_span(unit.path, unit.start, unit.end))])
    return unit_identity([(unit.path, unit.start, unit.end)])


def process_unit(ctx: UnitContext, unit: WorkUnit) -> dict:
    """Build the unit's Arrow part and its done-marker; return the marker's result."""
    part, marker = part_paths(ctx.parts_dir, unit.index)
    inputs = unit_inputs(unit)  # identity of the bytes about to be read
    stats, tally = Stats(), UnitTally(fail_fast=ctx.cfg.on_error == "fail", holdout=ctx.holdout)
    pad = ctx.tok.special_ids["pad"]
    with PartWriter(part, ctx.schema) as writer:
        rows = RowBuffer(ctx.schema, ctx.cfg.row_len, pad)
        emit = Emitter(ctx, rows, writer, stats)
        ctx.processor.build(ctx, unit, emit, stats, tally)
        emit.close()
    result = {"unit": unit.index, "part": part.name, "rows": writer.rows, "sha256": sha256_file(part),
              "stats": stats.as_dict(), "rejected": tally.rejected,
              "rejected_reasons": tally.reasons, "empty_documents": tally.empty,
              "reject_samples": tally.samples or [], "failed": tally.failed}
    write_done(marker, unit_key(unit), inputs, {part: result["sha256"]}, result)
    return result


def load_marker(parts_dir: str | Path, unit: WorkUnit, why: list | None = None) -> dict | None:
    """A finished unit's result while its inputs are unchanged and its part intact, else None."""
    _, marker = part_paths(parts_dir, unit.index)
    return read_done(marker, unit_key(unit), why)
