"""Whole-word boundaries: which token positions begin a jieba word of the decoded text."""
from __future__ import annotations

from zh_tokenizers.vocab_file import SPECIAL_TOKENS

_BREAKERS = set(SPECIAL_TOKENS.values())  # [PAD] [UNK] [CLS] [SEP] [MASK]


def jieba_module():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict" chatter on stderr
    return jieba


def _surface(token: str) -> str:
    if token.startswith("##"):
        return token[2:]
    return token.replace("\u2581", "")  # sentencepiece word-boundary mark


def word_starts_from_tokens(tokens: list[str], cut=None) -> list[int]:
    """Positions whose token starts a word; special tokens and [UNK] are words of their own.

    Text between special tokens is segmented with jieba; a token whose first character falls
    inside a jieba word continues that word.
    """
    cut = cut or jieba_module().lcut
    starts: list[int] = []
    seg: list[tuple[int, str]] = []

    def close_segment() -> None:
        if not seg:
            return
        text = "".join(s for _, s in seg)
        bounds, at = set(), 0
        for word in cut(text):
            bounds.add(at)
            at += len(word)
        at = 0
        for j, (pos, s) in enumerate(seg):
            if j == 0 or not s or at in bounds:
                starts.append(pos)
            at += len(s)
        seg.clear()

    for pos, tok in enumerate(tokens):
        if tok in _BREAKERS:
            close_segment()
            starts.append(pos)
        else:
            seg.append((pos, _surface(tok)))
    close_segment()
    return starts


def word_starts(ids: list[int], tok) -> list[int]:
    return word_starts_from_tokens(tok.convert_ids_to_tokens(list(ids)))
