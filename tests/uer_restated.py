"""Test oracle: UER-py 5743050's preprocess.py (uer/utils/dataset.py, mask.py) and the tensor
construction of its dataloaders (uer/utils/dataloader.py), restated line by line in plain Python.

It shares nothing with corpusprep but the tokenizer (``tok.encode(x)`` is UER's
``convert_tokens_to_ids(tokenize(x))``, checked in the tokenizer tests). Random draws use the
module-level ``random`` generator reseeded per worker, as UER's ``set_seed``. Instances come back
as the tuples UER pickles into dataset.pt, in file order.
"""
from __future__ import annotations

import random


class UerPreprocess:
    def __init__(self, tok, processor, seq_length=128, dup_factor=1, dynamic_masking=True, span_masking=False,
                 whole_word_masking=False,
                 span_geo_prob=0.2, span_max_length=10, docs_buffer_size=100000, short_seq_prob=0.1,
                 full_sentences=False, seed=7, tgt_seq_length=128, strategy="lead", tgt_tok=None):
        self.tok, self.processor, self.seq_length = tok, processor, seq_length
        self.tgt_tok = tgt_tok  # mt: args.tgt_tokenizer
        self.dup_factor = 1 if dynamic_masking else dup_factor  # preprocess.py: dynamic -> dup 1
        self.dynamic_masking, self.span_masking = dynamic_masking, span_masking
        self.whole_word_masking = whole_word_masking
        self.span_geo_prob, self.span_max_length = span_geo_prob, span_max_length
        self.docs_buffer_size, self.short_seq_prob = docs_buffer_size, short_seq_prob
        self.full_sentences, self.seed = full_sentences, seed
        self.tgt_seq_length, self.strategy = tgt_seq_length, strategy
        s = tok.special_ids
        self.CLS, self.SEP, self.PAD, self.MASK = s["cls"], s["sep"], s["pad"], s["mask"]
        self.vocab_len = tok.vocab_size

    def ids(self, text):
        return list(self.tok.encode(text))

    # ------------------------------------------------------------ Dataset.build_and_save
    def run(self, path, workers=1):
        with open(path, "rb") as fh:
            lines_num = fh.read().count(b"\n")
        out = []
        for i in range(workers):
            if workers == 1:
                start, end = 0, lines_num
            else:
                start, end = i * lines_num // workers, (i + 1) * lines_num // workers
            random.seed(self.seed)
            out += getattr(self, "worker_" + {"t5": "mlm"}.get(self.processor, self.processor))(path, start, end)
        return out

    # ------------------------------------------------------------ mask.py
    def mask_seq(self, src):
        for i in range(len(src) - 1, -1, -1):
            if src[i] != self.PAD:
                break
        src_no_pad = src[:i + 1]
        tokens_index = []
        span_end = -1
        if self.whole_word_masking:
            tokens_index, src_no_pad = self.wwm_index(src_no_pad)
        for (i, token) in enumerate([] if self.whole_word_masking else src_no_pad):
            if token in (self.CLS, self.SEP, self.PAD):
                continue
            if not self.span_masking:
                tokens_index.append([i])
            else:
                if i < span_end:
                    continue
                span_len = self.get_span_len()
                span_end = i + span_len
                if span_end > len(src_no_pad):
                    span_len = len(src_no_pad) - i
                tokens_index.append([i, span_len])
        if len(src_no_pad) < len(src):
            src = src_no_pad + (len(src) - len(src_no_pad)) * [self.PAD]
        else:
            src = src_no_pad
        random.shuffle(tokens_index)
        num_to_predict = max(1, int(round(len(src_no_pad) * 0.15)))
        tgt = []
        for index_set in tokens_index:
            if len(tgt) >= num_to_predict:
                break
            if self.whole_word_masking:
                i, word_len = index_set
                if len(tgt) + word_len > num_to_predict:
                    continue
                for j in range(word_len):
                    tgt.append((i + j, src[i + j]))
                    prob = random.random()
                    if prob < 0.8:
                        src[i + j] = self.MASK
                    elif prob < 0.9:
                        src[i + j] = self.random_id()
            elif self.span_masking:
                i, span_len = index_set
                if len(tgt) + span_len > num_to_predict:
                    continue
                for j in range(span_len):
                    tgt.append((i + j, src[i + j]))
                prob = random.random()
                if prob < 0.8:
                    for j in range(span_len):
                        src[i + j] = self.MASK
                elif prob < 0.9:
                    for j in range(span_len):
                        src[i + j] = self.random_id()
            else:
                i = index_set[0]
                tgt.append((i, src[i]))
                prob = random.random()
                if prob < 0.8:
                    src[i] = self.MASK
                elif prob < 0.9:
                    src[i] = self.random_id()
        return src, sorted(tgt, key=lambda x: x[0])

    def wwm_index(self, src):
        """create_index with whole_word_masking: jieba words of the decoded text, re-tokenized."""
        import jieba

        length = len(src)
        has_cls = src[0] == self.CLS
        if has_cls:
            src = src[1:]
        has_sep = src[-1] == self.SEP
        if has_sep:
            src = src[:-1]
        text = "".join(self.tok.convert_ids_to_tokens(src)).replace("[UNK]", "").replace("##", "")
        out, index = ([self.CLS] if has_cls else []), []
        for word in jieba.cut(text):
            at = len(out)
            out += self.ids(word)
            if len(out) < length:
                index.append([at, len(out) - at])
        if has_sep:
            out.append(self.SEP)
        return index, out[:length] if len(out) > length else out

    def random_id(self):
        while True:
            rdi = random.randint(1, self.vocab_len - 1)
            if rdi not in (self.CLS, self.SEP, self.MASK, self.PAD):
                return rdi

    def get_span_len(self):
        cum, prob = [0.0], 1.0
        for i in range(1, self.span_max_length + 1):
            prob *= self.span_geo_prob if i == 1 else (1 - self.span_geo_prob)
            cum.append(cum[-1] + prob)
        draw = cum[-1] * random.random()
        for i in range(len(cum) - 1):
            if cum[i] <= draw < cum[i + 1]:
                length = i + 1
        return length

    # ------------------------------------------------------------ line loops
    @staticmethod
    def open_at(path, start):
        f = open(path, mode="r", encoding="utf-8")
        for _ in range(start):
            f.readline()
        return f

    def worker_mlm(self, path, start, end):
        out, docs_buffer = [], []
        for _ in range(self.dup_factor):
            pos = start
            with self.open_at(path, start) as f:
                while True:
                    line = f.readline()
                    pos += 1
                    document = [self.CLS] + self.ids(line) + [self.SEP]
                    if self.full_sentences:
                        docs_buffer.append(document)
                        if len(docs_buffer) == self.docs_buffer_size:
                            out += self.mlm_instances([t for d in docs_buffer for t in d])
                            docs_buffer = []
                        if pos >= end:
                            if docs_buffer:
                                out += self.mlm_instances([t for d in docs_buffer for t in d])
                            break
                    else:
                        out += self.mlm_instances(document)
                    if pos >= end:
                        break
        return out

    def mlm_instances(self, all_ids):
        out = []
        n = len(all_ids) // self.seq_length
        pieces = [(all_ids[i * self.seq_length:(i + 1) * self.seq_length], 0) for i in range(n)]
        rest = all_ids[n * self.seq_length:]
        if rest:
            pieces.append((rest, self.seq_length - len(rest)))
        for src, pad in pieces:
            seg_pos = [len(src)]
            if not self.dynamic_masking:
                src, tgt = self.mask_seq(src)
                out.append(((src, pad), tgt, seg_pos))
            else:
                out.append(((src, pad), seg_pos))
        return out

    def worker_lm(self, path, start, end):
        out, pos, w = [], start, self.seq_length + 1
        with self.open_at(path, start) as f:
            while True:
                line = f.readline()
                pos += 1
                document = [self.CLS] + self.ids(line) + [self.SEP]
                n = len(document) // w
                for i in range(n):
                    out.append(((document[i * w:(i + 1) * w], 0), [self.seq_length]))
                rest = document[n * w:]
                if rest:
                    out.append(((rest, w - len(rest)), [len(rest)]))
                if pos >= end:
                    break
        return out

    def worker_bilm(self, path, start, end):
        out, pos, L = [], start, self.seq_length
        with self.open_at(path, start) as f:
            while True:
                line = f.readline()
                pos += 1
                document = self.ids(line)
                n = len(document) // L
                for i in range(n):
                    src = document[i * L:(i + 1) * L]
                    out.append(((src, 0), src[1:] + [self.SEP], [self.CLS] + src[:-1], [L]))
                src = document[n * L:]
                if len(src) < 1:
                    assert line != "", "UER would loop forever here"
                    continue
                out.append(((src, L - len(src)), src[1:] + [self.SEP], [self.CLS] + src[:-1], [len(src)]))
                if pos >= end:
                    break
        return out

    def worker_cls(self, path, start, end, with_mlm=False):
        out, pos, L = [], start, self.seq_length
        with self.open_at(path, start) as f:
            while True:
                line = f.readline()
                pos += 1
                fields = line.strip().split("\t")
                if len(fields) == 2:
                    label = int(fields[0])
                    src = [self.CLS] + self.ids(fields[1]) + ([self.SEP] if with_mlm else [])
                    seg_pos = [len(src)]
                elif len(fields) == 3:
                    label = int(fields[0])
                    src_a = [self.CLS] + self.ids(fields[1]) + [self.SEP]
                    src_b = self.ids(fields[2]) + [self.SEP]
                    src = src_a + src_b
                    seg_pos = [len(src_a), len(src_b)]
                else:
                    if pos >= end:
                        break
                    continue
                if len(src) >= L:
                    src, pad = src[:L], 0
                    if len(seg_pos) == 1 or len(src_a) >= L:
                        seg_pos = [L]
                    else:
                        seg_pos = [len(src_a), L - len(src_a)]
                else:
                    pad = L - len(src)
                if with_mlm and not self.dynamic_masking:
                    src, tgt = self.mask_seq(src)
                    out.append(((src, pad), tgt, label, seg_pos))
                else:
                    out.append(((src, pad), label, seg_pos))
                if pos >= end:
                    break
        return out

    def worker_cls_mlm(self, path, start, end):
        return self.worker_cls(path, start, end, with_mlm=True)

    def worker_prefixlm(self, path, start, end):
        out, pos, L = [], start, self.seq_length
        with self.open_at(path, start) as f:
            while True:
                line = f.readline()
                pos += 1
                fields = line.strip().split("\t")
                if len(fields) != 2:
                    if pos >= end:
                        break
                    continue
                src = [self.CLS] + self.ids(fields[0]) + [self.SEP]
                tgt = self.ids(fields[1]) + [self.SEP]
                seg_pos = [len(src)]
                if seg_pos[0] >= L:
                    continue
                src = src + tgt
                tgt = [0] * (seg_pos[0] - 1) + tgt + [self.PAD]
                seg_pos.append(len(src))
                src, tgt = src[:L], tgt[:L]
                if seg_pos[1] > L:
                    seg_pos[1] = L
                out.append(((src, L - len(src)), tgt, seg_pos))
                if pos >= end:
                    break
        return out

    # ------------------------------------------------------------ MtDataset.worker
    def worker_mt(self, path, start, end):
        out, pos = [], start
        t = self.tgt_tok.special_ids
        with self.open_at(path, start) as f:
            while True:
                line = f.readline()
                pos += 1
                if len(line.strip().split("\t")) != 2:
                    if pos >= end:
                        break
                    continue
                document_src, document_tgt = line.strip().split("\t")
                src = self.ids(document_src)
                tgt = list(self.tgt_tok.encode(document_tgt))
                src = [self.CLS] + src + [self.SEP]
                tgt = [t["cls"]] + tgt + [t["sep"]]
                src, tgt = src[:self.seq_length], tgt[:self.tgt_seq_length + 1]
                seg_pos = [len(src)]
                pad_num = self.seq_length - len(src)
                src = (src, pad_num)
                pad_num = self.tgt_seq_length + 1 - len(tgt)
                tgt = (tgt, pad_num)
                out.append((src, tgt, seg_pos))
                if pos >= end:
                    break
        return out

    # ------------------------------------------------------------ BertDataset loop (bert, bart, gsg)
    def worker_bert(self, path, start, end):
        out, docs_buffer, document, pos = [], [], [], start
        with self.open_at(path, start) as f:
            while True:
                line = f.readline()
                pos += 1
                if pos >= end:
                    if docs_buffer:
                        out += self.buffer_instances(docs_buffer)
                    break
                if not line.strip():
                    if document:
                        docs_buffer.append(document)
                    document = []
                    if len(docs_buffer) == self.docs_buffer_size:
                        out += self.buffer_instances(docs_buffer)
                        docs_buffer = []
                    continue
                sentence = self.ids(line)
                if sentence:
                    document.append(sentence)
        return out

    worker_bart = worker_gsg = worker_bert

    def buffer_instances(self, docs):
        make = {"bert": self.bert_doc, "bart": self.bart_doc, "gsg": self.gsg_doc}[self.processor]
        out = []
        for _ in range(self.dup_factor):
            for i in range(len(docs)):
                out += make(docs, i)
        return out

    def truncate(self, a, b, max_num):
        while len(a) + len(b) > max_num:
            longer = a if len(a) > len(b) else b
            if random.random() < 0.5:
                del longer[0]
            else:
                longer.pop()

    def bert_doc(self, docs, index):
        document = docs[index]
        max_num = self.seq_length - 3
        target = max_num
        if random.random() < self.short_seq_prob:
            target = random.randint(2, max_num)
        out, chunk, length, i = [], [], 0, 0
        while i < len(document):
            chunk.append(document[i])
            length += len(document[i])
            if i == len(document) - 1 or length >= target:
                if chunk:
                    a_end = random.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
                    tokens_a = [t for s in chunk[:a_end] for t in s]
                    tokens_b = []
                    if len(chunk) == 1 or random.random() < 0.5:
                        is_random_next = 1
                        target_b = target - len(tokens_a)
                        for _ in range(10):
                            other = random.randint(0, len(docs) - 1)
                            if other != index:
                                break
                        other_doc = docs[other]
                        for j in range(random.randint(0, len(other_doc) - 1), len(other_doc)):
                            tokens_b.extend(other_doc[j])
                            if len(tokens_b) >= target_b:
                                break
                        i -= len(chunk) - a_end
                    else:
                        is_random_next = 0
                        for s in chunk[a_end:]:
                            tokens_b.extend(s)
                    self.truncate(tokens_a, tokens_b, max_num)
                    src = [self.CLS] + tokens_a + [self.SEP]
                    seg_pos = [len(src)]
                    src += tokens_b + [self.SEP]
                    seg_pos.append(len(src))
                    pad = self.seq_length - len(src)
                    if not self.dynamic_masking:
                        src, tgt = self.mask_seq(src)
                        out.append(((src, pad), tgt, is_random_next, seg_pos))
                    else:
                        out.append(((src, pad), is_random_next, seg_pos))
                chunk, length = [], 0
            i += 1
        return out

    def bart_doc(self, docs, index):
        document = docs[index]
        target = self.seq_length - 2
        out, chunk, length = [], [], 0

        def instance():
            shuffled = chunk.copy()
            random.shuffle(shuffled)
            src, tgt = [], []
            for k in range(len(chunk)):
                src = src + shuffled[k]
                tgt = tgt + chunk[k]
            src = [self.CLS] + src + [self.SEP]
            tgt = [self.CLS] + tgt + [self.SEP]
            pad = self.seq_length - len(src)
            return ((src, pad), (tgt, pad), [len(src)])

        for segment in document:
            if len(segment) > target:
                continue
            if length + len(segment) < target:
                chunk.append(segment)
                length += len(segment)
            else:
                out.append(instance())
                chunk, length = [segment], len(segment)
        if chunk:
            out.append(instance())
        return out

    def gsg_doc(self, docs, index):
        limit, tgt_limit = self.seq_length - 2, self.tgt_seq_length - 2
        document = [s for s in docs[index] if len(s) < limit and len(s) < tgt_limit]
        k = int(round(len(document) * 0.3, 0))
        chosen = random.sample(range(0, len(document) - 1), k) if self.strategy == "random" else list(range(k))
        out, src, tgt = [], [], []

        def instance(src, tgt):
            src = [self.CLS] + src + [self.SEP]
            tgt = [self.CLS] + tgt + [self.SEP]
            return ((src, self.seq_length - len(src)), (tgt, self.tgt_seq_length - len(tgt)), [len(src)])

        for i, segment in enumerate(document):
            if i in chosen and len(tgt) + len(segment) < tgt_limit and len(src) + 1 < limit:
                tgt = tgt + segment
                src = src + [self.MASK]
            elif i not in chosen and len(src) + len(segment) < limit:
                src = src + segment
            else:
                if tgt and src:
                    out.append(instance(src, tgt))
                if i in chosen:
                    tgt, src = segment, [self.MASK]
                else:
                    src, tgt = segment, []
        if tgt and src:
            out.append(instance(src, tgt))
        return out

    def worker_albert(self, path, start, end):
        out, document = [], []
        for _ in range(self.dup_factor):
            pos = start
            with self.open_at(path, start) as f:
                while True:
                    line = f.readline()
                    pos += 1
                    if not line.strip():
                        if document:
                            out += self.albert_doc(document)
                        document = []
                    sentence = self.ids(line)
                    if sentence:
                        document.append(sentence)
                    if pos >= end:
                        if document:
                            out += self.albert_doc(document)
                        break
        return out

    def albert_doc(self, document):
        max_num = self.seq_length - 3
        target = max_num
        if random.random() < self.short_seq_prob:
            target = random.randint(2, max_num)
        out, chunk, length = [], [], 0
        for i, segment in enumerate(document):
            chunk.append(segment)
            length += len(segment)
            if i == len(document) - 1 or length >= target:
                a_end = random.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
                tokens_a = [t for s in chunk[:a_end] for t in s]
                tokens_b = [t for s in chunk[a_end:] for t in s]
                is_wrong_order = 0
                if random.random() < 0.5:
                    is_wrong_order = 1
                    tokens_a, tokens_b = tokens_b, tokens_a
                self.truncate(tokens_a, tokens_b, max_num)
                src = [self.CLS] + tokens_a + [self.SEP]
                seg_pos = [len(src)]
                src += tokens_b + [self.SEP]
                seg_pos.append(len(src))
                pad = self.seq_length - len(src)
                if not self.dynamic_masking:
                    src, tgt = self.mask_seq(src)
                    out.append(((src, pad), tgt, is_wrong_order, seg_pos))
                else:
                    out.append(((src, pad), is_wrong_order, seg_pos))
                chunk, length = [], 0
        return out


# ---------------------------------------------------------------- dataloader.py tensors --------------

def uer_batch(processor, instances, vocab_len, specials, sentinel=None):
    """The tensors (as nested lists) UER's str2dataloader[processor] yields for these instances
    (static instances for t5; no random draws for the others)."""
    PAD, CLS, SEP, MASK = specials["pad"], specials["cls"], specials["sep"], specials["mask"]
    if processor == "cls":
        src, tgt, seg = [], [], []
        for (s, pad), label, seg_pos in instances:
            one = [1] * seg_pos[0] if len(seg_pos) == 1 else [1] * seg_pos[0] + [2] * seg_pos[1]
            src.append(s + [PAD] * pad)
            tgt.append(label)
            seg.append(one + [0] * pad)
        return {"src": src, "tgt": tgt, "seg": seg}
    if processor == "bilm":
        out = {"src": [], "tgt_forward": [], "tgt_backward": [], "seg": []}
        for (s, pad), fwd, bwd, seg_pos in instances:
            out["src"].append(s + [PAD] * pad)
            out["tgt_forward"].append(fwd + [PAD] * pad)
            out["tgt_backward"].append(bwd + [PAD] * pad)
            out["seg"].append([1] * seg_pos[0] + [0] * (len(s) + pad - seg_pos[0]))
        return out
    if processor == "prefixlm":
        out = {"src": [], "tgt": [], "seg": []}
        for (s, pad), t, seg_pos in instances:
            full = s + [PAD] * pad
            out["src"].append(full)
            out["tgt"].append(t + [PAD] * pad)
            out["seg"].append([1] * seg_pos[0] + [2] * (seg_pos[1] - seg_pos[0]) + [0] * (len(full) - seg_pos[1]))
        return out
    if processor in ("gsg", "mt"):  # UER's GsgDataloader is MtDataloader
        out = {"src": [], "tgt_out": [], "seg": [], "tgt_in": [], "tgt_seg": []}
        for (s, pad), (t, tpad), seg_pos in instances:
            s = s + [PAD] * pad
            t = t + [PAD] * tpad
            out["src"].append(s)
            out["tgt_in"].append(t[:-1])
            out["tgt_out"].append(t[1:])
            out["seg"].append([1] * seg_pos[0] + [0] * (len(s) - seg_pos[0]))
            keep = max(tpad - 1, 0)
            out["tgt_seg"].append([1] * (len(t) - 1 - keep) + [0] * keep)
        return out
    if processor == "t5":
        out = {"src": [], "tgt_out": [], "seg": [], "tgt_in": [], "tgt_seg": []}
        longest = 0
        for (s, pad), masked, seg_pos in instances:
            s = s + [PAD] * pad
            out["seg"].append([1] * seg_pos[0] + [0] * pad)
            for i, _ in masked:
                if s[i] != MASK:
                    s[i] = MASK
            sid = sentinel
            tgt_in = [CLS]
            k = 0
            with_sentinel = []
            for t in s:
                if t == MASK:
                    if not (with_sentinel and with_sentinel[-1] == sid - 1):
                        with_sentinel.append(sid)
                        tgt_in.append(sid)
                        if sid < vocab_len - 1:
                            sid += 1
                    tgt_in.append(masked[k][1])
                    k += 1
                else:
                    with_sentinel.append(t)
            tgt_in += [sid, SEP]
            longest = max(longest, len(tgt_in))
            with_sentinel += [PAD] * (len(s) - len(with_sentinel))
            out["src"].append(with_sentinel)
            out["tgt_in"].append(tgt_in)
            out["tgt_seg"].append([1] * len(tgt_in))
            out["tgt_out"].append(tgt_in[1:] + [PAD])
        for i in range(len(out["tgt_in"])):
            while len(out["tgt_in"][i]) != longest:
                out["tgt_in"][i].append(PAD)
                out["tgt_out"][i].append(PAD)
                out["tgt_seg"][i].append(0)
        return out
    raise ValueError(processor)
