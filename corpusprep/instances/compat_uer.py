"""`--compat uer`: UER-py preprocess.py (--processes_num 1) instance for instance.

One process, one random stream seeded like UER's ``set_seed(seed)``, and UER's reading loops
replayed state for state, including their edge cases:
- the corpus is read in text mode (universal newlines) and exactly ``count(b"\\n")`` lines are
  taken, so an unterminated last line is ignored (and an empty file still yields one line);
- mlm/lm frame empty lines as ``[CLS] [SEP]``;
- bert never processes the file's last line, so the document it would close is dropped;
- albert and full-sentences mlm keep their leftover state across ``--dup-factor`` passes;
- whole-word static masking re-tokenizes jieba words (input ids can change, as in UER).
"""
from __future__ import annotations

import random

from corpusprep.atomic import sha256_file
from corpusprep.errors import InputError, ZooprepError
from corpusprep.instances.arrow_io import (PartWriter, RowBuffer, column_names, id_dtype,
                                           instance_schema)
from corpusprep.instances.build import FLUSH_ROWS
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.masking import (MaskIds, apply_masking, span_index_sets, token_index_sets)
from corpusprep.instances.processors import PairInstance, albert_instances, bert_instances
from corpusprep.instances.stats import InstanceStats
from corpusprep.instances.wordstarts import jieba_module, word_starts


def count_newlines(path) -> int:
    n = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            n += chunk.count(b"\n")
    return n


def uer_lines(path, n: int | None = None):
    """The lines UER's worker reads (processes_num 1), newline included, as ``(line_no, line)``.

    ``n`` is how many lines that is, ``max(1, count_newlines(path))``; counted here unless given.
    """
    if n is None:
        n = max(1, count_newlines(path))
    with open(path, mode="r", encoding="utf-8") as fh:
        for no in range(1, n + 1):
            try:
                line = fh.readline()
            except UnicodeDecodeError as exc:
                raise InputError(str(path), f"not UTF-8 ({exc.reason})", line=no) from None
            yield no, line


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
        sets, mode = token_index_sets(no_pad, ids), "token"
    full = no_pad + [ids.pad] * (len(src) - len(no_pad)) if len(no_pad) < len(src) else no_pad
    masked, positions, labels = apply_masking(full, sets, rng, ids, mode, unpadded_len=len(no_pad))
    return masked, positions, labels, full


class _Sink:
    def __init__(self, cfg: ShardConfig, tok, rows: RowBuffer, writer: PartWriter, rng):
        self.cfg, self.tok, self.rows, self.writer, self.rng = cfg, tok, rows, writer, rng
        self.ids = MaskIds.from_tokenizer(tok)
        self.instances = self.tokens = 0
        self.more = InstanceStats()

    def emit(self, src: list[int], **extra) -> None:
        self.more.rows(self.cfg.processor, [len(src)], [src], (self.ids.cls, self.ids.sep, self.ids.pad),
                       self.cfg.static_masking)
        if self.cfg.static_masking:
            src, positions, labels, plain = uer_mask_seq(src, self.rng, self.tok, self.ids, self.cfg)
            extra["masked_positions"], extra["masked_labels"] = positions, labels
            if self.cfg.processor == "mlm":
                self.more.masked(len(positions))
        else:
            plain = src
        if self.cfg.whole_word:
            extra["word_starts"] = word_starts(plain, self.tok)
        self.rows.add(src, **extra)
        self.instances += 1
        self.tokens += len(src)
        if self.rows.n >= FLUSH_ROWS:
            self.writer.write(self.rows.take_batch())

    def pieces(self, ids: list[int], width: int) -> None:
        for a in range(0, len(ids), width):
            self.emit(ids[a: a + width])

    def pair(self, inst: PairInstance) -> None:
        col = "nsp_label" if self.cfg.processor == "bert" else "sop_label"
        self.more.label(col, inst.label)
        self.emit(inst.src, seg_a_len=inst.seg_a_len, **{col: inst.label})


class _Counter:
    def __init__(self, unk: int):
        self.unk_id, self.documents, self.content, self.unk = unk, 0, 0, 0
        self.more = InstanceStats()

    def encode(self, tok, line: str, count: bool) -> list[int]:
        ids = tok.encode(line)
        if count:
            self.content += len(ids)
            self.unk += ids.count(self.unk_id)
            self.more.texts(tok, [line])
        return ids


def _mlm(path, cfg, tok, sink: _Sink, cnt: _Counter) -> None:
    ids = sink.ids
    docs_buffer: list[list[int]] = []
    for dup in range(cfg.dup_factor):
        for _, line in uer_lines(path):
            document = [ids.cls] + cnt.encode(tok, line, dup == 0) + [ids.sep]
            cnt.documents += dup == 0
            if cfg.full_sentences:
                docs_buffer.append(document)
                if len(docs_buffer) == cfg.docs_buffer_size:
                    sink.pieces([t for d in docs_buffer for t in d], cfg.seq_len)
                    docs_buffer = []
            else:
                sink.pieces(document, cfg.seq_len)
        if cfg.full_sentences and docs_buffer:
            # UER flushes the leftover buffer at the end of a pass but does not empty it.
            sink.pieces([t for d in docs_buffer for t in d], cfg.seq_len)


def _lm(path, cfg, tok, sink: _Sink, cnt: _Counter) -> None:
    ids = sink.ids
    for _, line in uer_lines(path):
        cnt.documents += 1
        sink.pieces([ids.cls] + cnt.encode(tok, line, True) + [ids.sep], cfg.seq_len + 1)


def _bert(path, cfg, tok, sink: _Sink, cnt: _Counter) -> None:
    ids, rng = sink.ids, sink.rng

    def build(buffer):
        for _ in range(cfg.dup_factor):
            for i in range(len(buffer)):
                bert_instances(buffer, i, rng, cfg.seq_len, cfg.short_seq_prob, ids.cls, ids.sep, sink.pair)

    docs_buffer, document = [], []
    n = max(1, count_newlines(path))
    for no, line in uer_lines(path, n):
        if no >= n:  # UER stops on reaching the last line without processing it
            break
        if not line.strip():
            if document:
                docs_buffer.append(document)
                cnt.documents += 1
                cnt.more.documents([len(document)])
            document = []
            if len(docs_buffer) == cfg.docs_buffer_size:
                build(docs_buffer)
                docs_buffer = []
            continue
        sentence = cnt.encode(tok, line, True)
        if sentence:
            document.append(sentence)
    if docs_buffer:
        build(docs_buffer)


def _albert(path, cfg, tok, sink: _Sink, cnt: _Counter) -> None:
    ids, rng = sink.ids, sink.rng

    def build(document):
        albert_instances(document, rng, cfg.seq_len, cfg.short_seq_prob, ids.cls, ids.sep, sink.pair)

    document: list[list[int]] = []
    for dup in range(cfg.dup_factor):
        for no, line in uer_lines(path):
            if not line.strip():
                if document:
                    build(document)
                    cnt.documents += dup == 0
                    cnt.more.documents([len(document)] if dup == 0 else [])
                document = []
            sentence = cnt.encode(tok, line, dup == 0)
            if sentence:
                document.append(sentence)
        if document:  # UER builds the last document but keeps it for the next pass
            build(document)
            cnt.documents += dup == 0


def run_compat(cfg: ShardConfig, tok, sources, od):
    from corpusprep.instances.pipeline import ShardResult, assemble, source_identity, sources_with_checksums

    if len(sources) != 1 or sources[0].kind != "text":
        raise ZooprepError("--compat uer reads exactly one plain-text corpus file, as UER's --corpus_path")
    path = sources[0].path
    dtype = id_dtype(tok.vocab_size)
    schema = instance_schema(column_names(cfg.processor, cfg.static_masking, cfg.whole_word), dtype, cfg.row_len)
    plan = {"compat": "uer", "options": cfg.options(), "tokenizer": tok.fingerprint, "sources": source_identity(sources)}
    work = od.open_work(plan)
    (work / "parts").mkdir(exist_ok=True)
    part = work / "parts" / "part-000000.arrow"
    rng = random.Random(cfg.seed)  # same stream as UER's random.seed(seed) on the global generator
    cnt = _Counter(tok.special_ids["unk"])
    with PartWriter(part, schema) as writer:
        rows = RowBuffer(schema, cfg.row_len, tok.special_ids["pad"])
        sink = _Sink(cfg, tok, rows, writer, rng)
        sink.more = cnt.more  # one tally for the sink's rows and the counter's texts
        {"mlm": _mlm, "lm": _lm, "bert": _bert, "albert": _albert}[cfg.processor](path, cfg, tok, sink, cnt)
        writer.write(rows.take_batch())
    result = {"unit": 0, "part": part.name, "rows": writer.rows, "sha256": sha256_file(part),
              "stats": {"documents": cnt.documents, "instances": sink.instances, "tokens": sink.tokens,
                        "content_tokens": cnt.content, "unk": cnt.unk, "more": sink.more.as_dict()}}
    meta = assemble(work, od, cfg, tok, schema, dtype, [result], sources_with_checksums(sources), plan)
    return ShardResult(cfg.out, meta, 0, 1)
