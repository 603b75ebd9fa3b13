"""Greedy longest-match-first WordPiece, as in BERT / HF tokenizers / UER-py."""
from __future__ import annotations


def wordpiece(word: str, vocab: dict[str, int], unk_id: int, max_chars: int, prefix: str = "##") -> tuple[int, ...]:
    """Ids of ``word``; the whole word becomes one ``[UNK]`` if it is too long or any piece is missing.

    Length is counted in characters (code points), as both HF tokenizers and UER-py do.
    """
    whole = vocab.get(word)
    if whole is not None:
        return (whole,) if len(word) <= max_chars else (unk_id,)
    n = len(word)
    if n > max_chars:
        return (unk_id,)
    ids: list[int] = []
    start = 0
    while start < n:
        end = n
        found = None
        while start < end:
            piece = word[start:end] if start == 0 else prefix + word[start:end]
            found = vocab.get(piece)
            if found is not None:
                break
            end -= 1
        if found is None:
            return (unk_id,)
        ids.append(found)
        start = end
    return tuple(ids)
