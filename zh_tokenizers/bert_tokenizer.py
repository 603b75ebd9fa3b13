"""BERT char tokenizer: ids identical to HF ``BertTokenizer``/``tokenizers`` (default) or UER-py (``uer_compat``).

Speed comes from never looking at a character in Python when it can be avoided: ``encode_batch`` classifies
a whole batch with numpy look-up tables (batch_encode.py); ``encode`` works on the whole line with C-level
regexes (one deletes removed characters, one cuts raw tokens). Raw tokens map through a cache raw token ->
ids, so normalisation (lower-casing, accent stripping) and WordPiece run once per distinct word.
"""
from __future__ import annotations

import re
from itertools import chain

from zh_tokenizers.base import VocabTokenizer
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
        self._single = _TokenCache()  # char -> id for the all-single-char fast path
        self._single.compute = self._compute_single
        self.options["tables"] = self.tables.name
        self._batch_tables = None  # built on first encode_batch (5.6 MB of numpy tables)

    def _compute(self, raw: str) -> tuple[int, ...]:
        vocab, unk, limit = self._vocab_map, self.unk_id, self.max_chars
        out: list[int] = []
        for word in self.tables.normalize(raw):
            out.extend(wordpiece(word, vocab, unk, limit))
        return tuple(out)

    def _compute_single(self, ch: str) -> int | None:
        if self.tables.token.match(ch) is None:
            return None  # a separator
        (only,) = self._compute(ch)
        return only

    def _encode_plain(self, text: str) -> list[int]:
        guard = self.tables.needs_reference
        if guard is not None and guard.search(text):
            text = self.tables.reference_normalize(text)  # rare: see char_classes._reorder_guard
        text = self.tables.drop.sub("", text)
        if self.tables.single.fullmatch(text):
            # Pure CJK + punctuation + spaces: every character is one token (or a separator).
            ids = list(map(self._single.__getitem__, text))
            return [i for i in ids if i is not None] if None in ids else ids
        return list(chain.from_iterable(map(self._cache.__getitem__, self.tables.token.findall(text))))

    def encode_batch(self, texts) -> list[list[int]]:
        """Same ids as ``[encode(t) for t in texts]``, computed for the whole batch at once (batch_encode.py)."""
        from zh_tokenizers.batch_encode import BatchTables, encode_many

        texts = list(texts)
        if len(texts) < 4:
            return [self.encode(t) for t in texts]
        if self._batch_tables is None:
            self._batch_tables = BatchTables(self.tables, self._compute_single)
        special, guard = self._special_re, self.tables.needs_reference
        # Lines holding a literal special token (split out first) or needing the reference normaliser take
        # the per-line path.
        odd = []
        if special is not None:
            odd = [i for i, t in enumerate(texts) if "[" in t and special.search(t)]
        if guard is not None:
            odd = sorted(set(odd).union(i for i, t in enumerate(texts) if guard.search(t)))
        if not odd:
            return encode_many(texts, self._batch_tables, self._cache.__getitem__)
        plain = list(texts)
        for i in odd:
            plain[i] = ""
        out = encode_many(plain, self._batch_tables, self._cache.__getitem__)
        for i in odd:
            out[i] = self.encode(texts[i])
        return out

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
