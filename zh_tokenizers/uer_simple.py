"""UER-py's ``char`` and ``space`` tokenizers (no normalisation at all)."""
from __future__ import annotations

from zh_tokenizers.base import VocabTokenizer
from zh_tokenizers.vocab_file import Vocab


class UerCharTokenizer(VocabTokenizer):
    """Strip the line (Python ``str.strip``), then every character is a token; OOV -> [UNK]."""

    kind = "char"

    def __init__(self, vocab: Vocab, **_):
        super().__init__(vocab, {})

    def encode(self, text: str) -> list[int]:
        get, unk = self.vocab.token_to_id.get, self.unk_id
        return [get(c, unk) for c in text.strip()]


class UerSpaceTokenizer(VocabTokenizer):
    """Strip the line, split on single ``' '`` (so double spaces give empty tokens -> [UNK]); OOV -> [UNK]."""

    kind = "space"

    def __init__(self, vocab: Vocab, **_):
        super().__init__(vocab, {})

    def encode(self, text: str) -> list[int]:
        get, unk = self.vocab.token_to_id.get, self.unk_id
        return [get(t, unk) for t in text.strip().split(" ")]
