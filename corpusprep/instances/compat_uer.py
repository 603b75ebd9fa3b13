"""`--compat uer`: UER-py preprocess.py instance for instance, including ``--processes_num N``.

UER (uer/utils/dataset.py, Dataset.build_and_save) counts the corpus's ``b"\\n"`` bytes (L), gives
worker i the lines ``[i*L//N, (i+1)*L//N)``, and every worker calls ``set_seed(seed)``, opens the
file in text mode (universal newlines), skips to its first line and runs its processor's loop;
the workers' files are concatenated in worker order. Here each worker is one task on the executor
(``--workers N`` = ``--processes_num N``) with its own ``random.Random(seed)`` (the same stream as
UER's reseeded global generator), writing one Arrow part. Each processor module restates its
worker loop (``compat``) on a :class:`CompatJob`; UER's shared BertDataset loop is here.

Quirks reproduced as UER has them (see docs/shard.md): a worker reads at least one line even when
its range is empty; an unterminated last line is never read (except where a loop reads past its
range); mlm/lm/t5 frame empty lines as ``[CLS] [SEP]``; sentence layouts never process the range's
last line; albert and full-sentences mlm keep leftover state across dup passes; whole-word static
masking re-tokenizes jieba words.
"""
from __future__ import annotations

import io
import random
from collections import deque
from dataclasses import dataclass
from functools import partial

from corpusprep.atomic import sha256_file
from corpusprep.errors import InputError, ZooprepError
from corpusprep.instances.arrow_io import PartWriter, RowBuffer, instance_schema
from corpusprep.instances.build import FLUSH_ROWS, LABEL_COLUMNS, part_paths
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.masking import MaskIds, apply_masking, span_index_sets, token_positions
from corpusprep.instances.stats import SHORT_ROW, InstanceStats
from corpusprep.instances.wordstarts import jieba_module, word_starts
from corpusprep.readers.rawio import open_input


def count_newlines(path) -> int:
    n = 0
    with open_input(str(path)) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            n += chunk.count(b"\n")
    return n


def worker_ranges(lines_num: int, workers: int) -> list[tuple[int, int]]:
    """UER's line ranges: worker i gets [i*L//N, (i+1)*L//N) (one worker: [0, L))."""
    return [(i * lines_num // workers, (i + 1) * lines_num // workers) for i in range(workers)]


READ_AHEAD_LINES, READ_AHEAD_CHARS = 2048, 1 << 20  # a block of lines tokenized at once (bounded memory)


class UerLines:
    """A UER worker's file handle: text mode, ``pos`` counts lines read (skipped ones included).

    Lines come from blocks read ahead; ``on_block`` sees each block first (the job tokenizes it in
    one batch). What a loop reads, and where a decoding error is reported, are as line by line."""

    def __init__(self, path: str, start: int, on_block=None):
        self.path = path
        self.fh = io.TextIOWrapper(open_input(path), encoding="utf-8")  # open(path, "r"): a URL too
        self.pos = 0
        self.on_block = on_block
        self._ahead: deque = deque()
        while self.pos < start:
            self._read_one()
            self.pos += 1

    def _read_one(self) -> str:
        try:
            return self.fh.readline()
        except UnicodeDecodeError as exc:
            raise InputError(self.path, f"not UTF-8 ({exc.reason}); UER's preprocess.py stops here too",
                             line=self.pos + 1) from None

    def _fill(self) -> None:
        block, chars = [], 0
        while len(block) < READ_AHEAD_LINES and chars < READ_AHEAD_CHARS:
            try:
                line = self.fh.readline()
            except UnicodeDecodeError as exc:  # raised when the loop reaches this line, as UER would
                block.append(exc)
                break
            block.append(line)
            chars += len(line)
            if not line:  # end of file: readline gives "" from here on
                break
        if self.on_block is not None:
            self.on_block([line for line in block if isinstance(line, str) and line])
        self._ahead.extend(block)

    def readline(self) -> str:
        if not self._ahead:
            self._fill()
        line = self._ahead.popleft()
        self.pos += 1
        if isinstance(line, UnicodeDecodeError):
            raise InputError(self.path, f"not UTF-8 ({line.reason}); UER's preprocess.py stops here too",
                             line=self.pos)
        return line

    def close(self) -> None:
        self.fh.close()


def uer_wwm_index(src: list[int], tok, ids: MaskIds) -> tuple[list[list[int]], list[int]]:
    """UER's whole-word create_index: jieba words of the decoded text, re-tokenized one by one."""
    src_length = len(src)
    has_cls = src[0] == ids.cls
    if has_cls:
        src = src[1:]
    has_sep = bool(src) and src[-1] == ids.sep
    if has_sep:
        src = src[:-1]
    sentence = "".join(tok.convert_ids_to_tokens(src)).replace("[UNK]", "").replace("##", "")
    out = [ids.cls] if has_cls else []
    sets = []
    for word in jieba_module().cut(sentence):
        at = len(out)
        out += tok.encode(word)
        if len(out) < src_length:
            sets.append([at, len(out) - at])
    if has_sep:
        out.append(ids.sep)
    return sets, out[:src_length]


def uer_mask_seq(src: list[int], rng, tok, ids: MaskIds, cfg: ShardConfig):
    """UER's mask_seq: returns (masked ids, positions, labels, unmasked ids after re-tokenizing)."""
    i = len(src) - 1
    while i > 0 and src[i] == ids.pad:
        i -= 1
    no_pad = src[: i + 1]
    if cfg.whole_word:
        sets, no_pad = uer_wwm_index(no_pad, tok, ids)
        mode = "word"
    elif cfg.span_masking:
        sets, mode = span_index_sets(no_pad, ids, rng, cfg.span_geo_prob, cfg.span_max_length), "span"
    else:
        sets, mode = token_positions(no_pad, ids), "token"
    full = no_pad + [ids.pad] * (len(src) - len(no_pad)) if len(no_pad) < len(src) else no_pad
    masked, positions, labels = apply_masking(full, sets, rng, ids, mode, unpadded_len=len(no_pad))
    return masked, positions, labels, full


@dataclass(frozen=True)
class CompatContext:
    cfg: ShardConfig
    tok: object
    schema: object
    parts_dir: str
    path: str
    lines_num: int
    tgt_tok: object = None  # mt: the target side's tokenizer (UER's args.tgt_tokenizer)


class CompatJob:
    """What a processor's restated UER worker loop works with: its range, random stream and sink."""

    def __init__(self, ctx: CompatContext, start: int, end: int, rows: RowBuffer, writer: PartWriter):
        from corpusprep.instances.data_processors import get

        self.cfg, self.tok, self.path, self.tgt_tok = ctx.cfg, ctx.tok, ctx.path, ctx.tgt_tok
        self.start, self.end, self.lines_num = start, end, ctx.lines_num
        self.proc = get(ctx.cfg.processor)
        self.rng = random.Random(ctx.cfg.seed)  # UER's set_seed(seed) in every worker
        self.ids = MaskIds.from_tokenizer(ctx.tok)
        self.rows, self.writer = rows, writer
        self.mask_now = ctx.cfg.static_masking and self.proc.masked_lm
        self.instances = self.tokens = self.documents = self.content = self.unk = 0
        self.more = InstanceStats()  # label balance, rows without a target, [UNK] characters
        self._file: UerLines | None = None
        self._encoded: dict = {}  # text -> ids of the block read ahead (tokenized in one batch)
        self._texts: list[str] = []  # counted texts not yet added to ``more`` (added in batches)
        self._lengths: list[int] = []  # rows not yet added to ``more``; the short ones kept by index
        self._short: dict[int, list[int]] = {}
        self._specials = (self.ids.cls, self.ids.sep, self.ids.pad)
        self._label_cols = LABEL_COLUMNS.intersection(self.proc.columns)

    def open(self, texts_of=None) -> UerLines:
        """A fresh pass over the range (UER re-opens the file for every dup pass). ``texts_of(line)``
        names the texts of a line the loop will ``encode`` (default: the line itself), so each block
        read ahead is tokenized at once."""
        self.close()
        prefetch = (lambda lines: self._prefetch(lines if texts_of is None else
                                                 [t for line in lines for t in texts_of(line)]))
        self._file = UerLines(self.path, self.start, prefetch)
        return self._file

    def _prefetch(self, texts: list[str]) -> None:
        self._encoded = dict(zip(texts, self.tok.encode_batch(texts)))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def encode(self, text: str, count: bool = True) -> list[int]:
        ids = self._encoded.get(text)
        ids = self.tok.encode(text) if ids is None else ids.copy()  # a copy: a caller may change its list
        if count:
            self.content += len(ids)
            self.unk += ids.count(self.ids.unk)
            self._texts.append(text)
            if len(self._texts) >= 4096:
                self.flush_stats()
        return ids

    def flush_stats(self) -> None:
        """Add the texts and rows seen since the last call to ``more`` (in batches: per line it was slow)."""
        if self._texts:
            self.more.texts(self.tok, self._texts)
            self._texts = []
        if self._lengths:
            self.more.rows(self.cfg.processor, self._lengths, self._short, self._specials, self.mask_now)
            self._lengths, self._short = [], {}

    def fail(self, line: int, why: str):
        raise InputError(self.path, why, line=line)

    def emit(self, src: list[int], **extra) -> None:
        src = list(src)
        n = len(src)
        if n <= SHORT_ROW:
            self._short[len(self._lengths)] = src
        self._lengths.append(n)
        for col in self._label_cols:
            if col in extra:
                self.more.label(col, extra[col])
        if self.mask_now:
            src, positions, labels, plain = uer_mask_seq(src, self.rng, self.tok, self.ids, self.cfg)
            extra["masked_positions"], extra["masked_labels"] = positions, labels
            if self.cfg.processor == "mlm":
                self.more.masked(len(positions))
        else:
            plain = src
        if self.cfg.whole_word and "word_starts" in self.rows.cols:
            extra["word_starts"] = word_starts(plain, self.tok)
        self.rows.add(src, **extra)
        self.instances += 1
        self.tokens += n
        if self.rows.n >= FLUSH_ROWS:
            self.writer.write(self.rows.take_batch())
            self.flush_stats()

    def pieces(self, ids: list[int], width: int) -> None:
        """UER's cut of a document into ``width`` pieces, the last one shorter (none if empty)."""
        for a in range(0, len(ids), width):
            self.emit(ids[a: a + width])


def bert_worker(job: CompatJob, build_instances) -> None:
    """UER BertDataset.worker (bert, bart, gsg): documents of sentences in a docs buffer; reaching
    the range's end builds the buffer *before* that line is processed, so the range's last line
    and the document it would close are dropped."""
    f = job.open()
    docs_buffer: list = []
    document: list = []
    while True:
        line = f.readline()
        if f.pos >= job.end:
            if docs_buffer:
                build_instances(docs_buffer)
            break
        if not line.strip():
            if document:
                docs_buffer.append(document)
                job.documents += 1
                job.more.documents([len(document)])
            document = []
            if len(docs_buffer) == job.cfg.docs_buffer_size:
                build_instances(docs_buffer)
                docs_buffer = []
            continue
        sentence = job.encode(line)
        if sentence:
            document.append(sentence)


def run_worker(ctx: CompatContext, task: tuple[int, int, int]) -> dict:
    """One UER worker (index, start, end) -> one Arrow part and its result."""
    index, start, end = task
    part, _ = part_paths(ctx.parts_dir, index)
    with PartWriter(part, ctx.schema) as writer:
        rows = RowBuffer(ctx.schema, ctx.cfg.row_len, ctx.tok.special_ids["pad"])
        job = CompatJob(ctx, start, end, rows, writer)
        try:
            job.proc.compat(job)
        finally:
            job.close()
        writer.write(rows.take_batch())
        job.flush_stats()
    return {"unit": index, "part": part.name, "rows": writer.rows, "sha256": sha256_file(part),
            "stats": {"documents": job.documents, "instances": job.instances, "tokens": job.tokens,
                      "content_tokens": job.content, "unk": job.unk, "more": job.more.as_dict()}}


def run_compat(cfg: ShardConfig, tok, sources, od, tgt_tok=None):
    from corpusprep import shipping
    from corpusprep.executors import make_executor
    from corpusprep.instances.data_processors import get
    from corpusprep.instances.shard_parts import (ShardResult, assemble, shard_dtype, source_identity,
                                               sources_with_checksums)

    if len(sources) != 1 or sources[0].kind != "text":
        raise ZooprepError("--compat uer reads exactly one plain-text corpus file, as UER's --corpus_path")
    path = sources[0].path
    proc = get(cfg.processor)
    workers = cfg.workers or 1  # = --processes_num; never "all cores": the output depends on it
    dtype = shard_dtype(tok, tgt_tok)
    schema = instance_schema(proc.column_names(cfg.static_masking, cfg.whole_word), dtype, cfg.row_len)
    plan = {"compat": "uer", "processes": workers, "options": cfg.options(), "tokenizer": tok.fingerprint,
            "sources": source_identity(sources)}
    if tgt_tok is not None:
        plan["tgt_tokenizer"] = tgt_tok.fingerprint
    work = od.open_work(plan)
    (work / "parts").mkdir(exist_ok=True)
    ctx = CompatContext(cfg, tok, schema, shipping.path(work / "parts"), shipping.path(path),
                        count_newlines(path), tgt_tok)
    tasks = [(i, s, e) for i, (s, e) in enumerate(worker_ranges(ctx.lines_num, workers))]
    from corpusprep.outdir.nodes import on_nodes

    with on_nodes(make_executor(cfg.executor, workers, cfg.ray_address), od) as executor:
        results = list(executor.map(partial(run_worker, ctx), tasks))
    meta = assemble(work, od, cfg, tok, schema, dtype, results, sources_with_checksums(sources), plan)
    return ShardResult(cfg.out, meta, 0, len(results))
