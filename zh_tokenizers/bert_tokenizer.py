"""BERT char tokenizer: ids identical to HF ``BertTokenizer``/``tokenizers`` (default) or UER-py (``uer_compat``).

Two paths, checked against each other and against the reference by the parity tests:

* ``encode_batch`` (the fast path, batch_encode.py): the whole batch becomes one code point array; numpy
  look-ups classify every character and map single CJK/punctuation characters straight to ids; only word runs
  (Latin, digits, ...) go through normalisation + WordPiece, once per distinct word (a cache).
* ``encode`` (per line): C-level regexes delete removed characters and cut raw tokens, which map through
  the same word cache. Lines holding a literal special token or two RISKY marks (see char_classes) always
  take this path.
"""
from __future__ import annotations

import re
from itertools import chain

import numpy as np

from zh_tokenizers.base import VocabTokenizer
from zh_tokenizers.batch_encode import BatchTables, Encoded, WordTable, encode_chunks
from zh_tokenizers.char_classes import CharTables, hf_tables, uer_tables
from zh_tokenizers.vocab_file import SPECIAL_TOKENS, Vocab
from zh_tokenizers.wordpiece import wordpiece

HF_MAX_CHARS = 100  # tokenizers WordPiece / transformers BertTokenizer max_input_chars_per_word
UER_MAX_CHARS = 200  # UER-py WordpieceTokenizer
_CACHE_LIMIT = 1 << 20


class _TokenCache(dict):
    """raw token -> tuple of ids; computes and remembers misses."""

    __slots__ = ("compute",)

    def __missing__(self, raw: str) -> tuple[int, ...]:
        ids = self.compute(raw)
        if len(self) >= _CACHE_LIMIT:
            self.clear()  # bounded memory; results do not depend on what is cached
        self[raw] = ids
        return ids


class BertCharTokenizer(VocabTokenizer):
    kind = "bert"

    def __init__(self, vocab: Vocab, uer_compat: bool = False, do_lower_case: bool = True):
        max_chars = UER_MAX_CHARS if uer_compat else HF_MAX_CHARS
        super().__init__(vocab, {"uer_compat": uer_compat, "do_lower_case": do_lower_case,
                                 "max_input_chars_per_word": max_chars})
        self.tables: CharTables = uer_tables(do_lower_case) if uer_compat else hf_tables(do_lower_case)
        self.max_chars = max_chars
        self._vocab_map = vocab.token_to_id
        # HF treats the special tokens present in the vocab as atomic added tokens, matched in the raw text
        # before normalisation; UER-py lower-cases and splits them like any text.
        specials = [t for t in SPECIAL_TOKENS.values() if t in vocab.token_to_id] if not uer_compat else []
        self._special_re = re.compile("(" + "|".join(map(re.escape, specials)) + ")") if specials else None
        self._cache = _TokenCache()
        self._cache.compute = self._compute
        self._single = _TokenCache()  # char -> id for the all-single-char per-line path
        self._single.compute = self._compute_single
        self.options["tables"] = self.tables.name
        self._batch = BatchTables(self.tables, self._vocab_map, self.unk_id, self._only_id,
                                  self.tables.changed_singles)
        self._words = WordTable(self._compute, _CACHE_LIMIT)

    def _compute(self, raw: str) -> tuple[int, ...]:
        vocab, unk, limit = self._vocab_map, self.unk_id, self.max_chars
        out: list[int] = []
        for word in self.tables.normalize(raw):
            out.extend(wordpiece(word, vocab, unk, limit))
        return tuple(out)

    def _only_id(self, ch: str) -> int:
        ids = self._compute(ch)
        if len(ids) != 1:
            raise RuntimeError(f"{self.tables.name}: single character U+{ord(ch):04X} gives {len(ids)} ids")
        return ids[0]

    def _compute_single(self, ch: str) -> int | None:
        if self.tables.token.match(ch) is None:
            return None  # a separator
        return self._only_id(ch)

    # -- per line ------------------------------------------------------------------------------------------
    def _encode_plain(self, text: str) -> list[int]:
        tables = self.tables
        if tables.has_risky and tables.needs_reference.search(text):
            reference = tables.reference_normalize
            if reference is not None:  # rare: see char_classes.CharTables.needs_reference
                text = reference(text)
        text = tables.drop.sub("", text)
        if tables.single.fullmatch(text):
            # Pure CJK + punctuation + spaces: every character is one token (or a separator).
            ids = list(map(self._single.__getitem__, text))
            return [i for i in ids if i is not None] if None in ids else ids
        return list(chain.from_iterable(map(self._cache.__getitem__, tables.token.findall(text))))

    def encode(self, text: str) -> list[int]:
        if self._special_re is not None and "[" in text:
            out: list[int] = []
            for i, part in enumerate(self._special_re.split(text)):
                if i % 2:
                    out.append(self._vocab_map[part])
                elif part:
                    out.extend(self._encode_plain(part))
            return out
        return self._encode_plain(text)

    # -- whole batches (fast path) -------------------------------------------------------------------------
    def _chunks(self, texts: list[str]):
        special = self._special_re
        special_line = (lambda t: special.search(t) is not None) if special is not None else None
        return encode_chunks(texts, self._batch, self._words, special_line)

    def encode_batch(self, texts) -> list[list[int]]:
        """Same ids as ``[encode(t) for t in texts]``, computed for the whole batch at once."""
        texts = texts if isinstance(texts, list) else list(texts)
        out: list[list[int]] = []
        for first, enc in self._chunks(texts):
            lists = enc.lists(self._batch.int_objects)
            for i in enc.odd:
                lists[i] = self.encode(texts[first + i])
            out.extend(lists)
        return out

    def encode_batch_flat(self, texts) -> Encoded:
        """The ids of ``encode_batch(texts)`` as one int32 array plus line offsets (no per-token Python objects)."""
        texts = texts if isinstance(texts, list) else list(texts)
        parts = list(self._chunks(texts))
        if len(parts) == 1 and not parts[0][1].odd:
            return parts[0][1]
        pieces = []
        for first, enc in parts:
            if enc.odd:  # rare: splice in the lines the per-line path encodes
                lines = enc.lists()
                for i in enc.odd:
                    lines[i] = self.encode(texts[first + i])
                enc = Encoded.from_lists(lines)
            pieces.append(enc)
        lens = np.concatenate([np.diff(e.offsets) for e in pieces])
        return Encoded(np.concatenate([e.ids for e in pieces]).astype(np.int32, copy=False),
                       np.concatenate(([0], np.cumsum(lens))), [])
