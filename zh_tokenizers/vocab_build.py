"""Pure vocab construction from token counts: the google layout, new vocabs and ``--extend``.

Rule (documented in docs/tokenizers.md):
* every character seen >= ``min_freq`` times (optionally only the most frequent ones reaching ``coverage`` of
  all character occurrences) gets an entry;
* every kept character seen >= ``min_freq`` times *inside* a non-CJK word (not first) gets a ``##`` entry, so
  any word made of kept characters tokenizes without [UNK];
* every multi-character word (letters, digits, ...) seen >= ``min_word_freq`` times, at most
  ``max_word_chars`` long, whose characters are all kept, gets a whole-word entry.
``max_size`` keeps characters first, then ``##`` entries, then words (each most frequent first).
Layout: header, characters, words, ``##`` entries, each block most frequent first.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from zh_tokenizers.vocab_count import ranked
from zh_tokenizers.vocab_file import SPECIAL_TOKENS

HEADER = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_SPECIALS = set(SPECIAL_TOKENS.values())


@dataclass(frozen=True)
class VocabRules:
    min_freq: int = 1
    max_size: int | None = None
    coverage: float | None = None
    min_word_freq: int = 100
    max_word_chars: int = 16


@dataclass(frozen=True)
class CharStats:
    chars: Counter  # every character occurrence
    inner: Counter  # occurrences at a non-initial position of a multi-character word
    words: Counter  # multi-character tokens

    @property
    def total_chars(self) -> int:
        return sum(self.chars.values())


def char_stats(counts: Counter) -> CharStats:
    chars, inner, words = Counter(), Counter(), Counter()
    for token, n in counts.items():
        if token in _SPECIALS:
            continue
        for ch in token:
            chars[ch] += n
        if len(token) > 1:
            words[token] += n
            for ch in token[1:]:
                inner[ch] += n
    return CharStats(chars, inner, words)


def _kept_chars(stats: CharStats, rules: VocabRules) -> list[str]:
    kept, covered, total = [], 0, stats.total_chars
    for ch, n in ranked(stats.chars):
        if n < rules.min_freq:
            break
        if rules.coverage is not None and total and covered / total >= rules.coverage:
            break
        kept.append(ch)
        covered += n
    return kept


def new_vocab(stats: CharStats, rules: VocabRules) -> list[str]:
    """A fresh vocab in the google layout, from the corpus's ``char_stats``."""
    chars = _kept_chars(stats, rules)
    kept = set(chars)
    cont = [f"##{ch}" for ch, n in ranked(stats.inner) if n >= rules.min_freq and ch in kept]
    words = [w for w, n in ranked(stats.words)
             if n >= rules.min_word_freq and len(w) <= rules.max_word_chars and kept.issuperset(w)]
    room = None if rules.max_size is None else max(0, rules.max_size - len(HEADER))
    if room is not None:
        chars = chars[:room]
        cont = cont[: max(0, room - len(chars))]
        words = words[: max(0, room - len(chars) - len(cont))]
        kept = set(chars)
        cont = [c for c in cont if c[2:] in kept]
    return HEADER + chars + words + cont


def extend_vocab(base: list[str], have: set[str], stats: CharStats, rules: VocabRules) -> list[str]:
    """``base`` lines unchanged, then characters with count >= min_freq not in ``have`` (most frequent first)."""
    new = [ch for ch in _kept_chars(stats, rules) if ch not in have]
    if rules.max_size is not None:
        new = new[: max(0, rules.max_size - len(base))]
    return list(base) + new
