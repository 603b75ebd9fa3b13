"""What `shard` tells a user to judge its instances: label balance, rows without a target, the
characters behind [UNK], and hints (padding, unbalanced labels).

``InstanceStats`` is fed plain values where rows are built (row lengths and ids, pair/class labels,
sentences per document, the texts read); its ``as_dict`` is JSON in each unit's done-marker, and ``merge_stats``
adds the units up for ``zooprep.json`` ``counts``. Nothing here knows how rows are packed.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np

TOP_UNK_CHARS = 20  # [UNK] characters listed in zooprep.json and the summary
UNIT_UNK_CHARS = 500  # distinct [UNK] characters a unit keeps (its most frequent) for the merge
PADDING_HINT_ABOVE = 0.5
LABEL_HINT_ABOVE = 0.6  # share of the most frequent pair label that earns a hint
SHORT_ROW = 2  # rows of at most this many tokens are counted as short
T2S_HINT_ABOVE = 0.3  # share of the top [UNK] occurrences that are traditional characters
WORD_LEVEL_KINDS = ("space", "spm-space")  # [UNK] is a whole word there, not a character

# What each label value means, for the summary.
LABEL_MEANINGS = {
    "nsp_label": {"0": "B is the next sentence", "1": "B is random"},
    "sop_label": {"0": "A B in order", "1": "swapped"},
}


class InstanceStats:
    """One work unit's tallies; every method takes plain Python / numpy values."""

    def __init__(self):
        self.labels: dict[str, Counter] = {}
        self.rows_without_target = 0
        self.short_rows = 0
        self.single_sentence_documents = 0
        self.masked_tokens = 0  # positions masked at shard time (--static-masking); 0 with dynamic masking
        self._codes = np.zeros(0, dtype=np.int64)  # occurrences per code point
        self._tok = None

    # -- hooks ---------------------------------------------------------------------------------
    def label(self, name: str, value: int) -> None:
        """One instance's pair (nsp/sop) or class label."""
        self.labels.setdefault(name, Counter())[str(int(value))] += 1

    def rows(self, processor: str, lengths, rows, specials: Iterable[int], static: bool = False) -> None:
        """Rows as built (``rows[i][:lengths[i]]`` are row i's ids), before static masking.

        Without a target: lm rows of one token (nothing follows it); mlm rows of special tokens only
        ([SEP] alone at the end of a cut document), or with ``static`` masking rows given no masked
        position (``masked``). Pairs always carry their nsp/sop target.
        """
        lengths = np.asarray(lengths)
        short = np.flatnonzero(lengths <= SHORT_ROW)
        self.short_rows += int(short.size)
        if processor == "lm":
            self.rows_without_target += int(np.count_nonzero(lengths < 2))
        elif processor == "mlm" and short.size and not static:
            special = set(int(s) for s in specials)
            self.rows_without_target += sum(
                all(int(t) in special for t in rows[i][: int(lengths[i])]) for i in short)

    def masked(self, n_positions: int) -> None:
        """One statically masked mlm row: with no masked position it has nothing to predict."""
        self.rows_without_target += n_positions == 0

    def documents(self, sentence_counts: Sequence[int]) -> None:
        """Sentences per document (bert/albert): a one-sentence document always gets a random B."""
        self.single_sentence_documents += sum(1 for n in sentence_counts if n == 1)

    def texts(self, tok, texts: Sequence[str]) -> None:
        """Count the texts' characters (in C: a bincount of code points); which of them encode to [UNK]
        on their own is decided once per unit, in ``as_dict``. Word-level (space) tokenizers: skipped."""
        if tok.kind in WORD_LEVEL_KINDS:
            return
        self._tok = tok
        codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        if not codes.size:
            return
        counts = np.bincount(codes)
        if counts.size > self._codes.size:
            self._codes = np.concatenate([self._codes, np.zeros(counts.size - self._codes.size, np.int64)])
        self._codes[: counts.size] += counts

    def _unk_chars(self) -> Counter:
        """Characters of the texts that encode to [UNK] alone, with their number of occurrences."""
        out: Counter = Counter()
        if self._tok is None:
            return out
        tok, unk = self._tok, self._tok.special_ids["unk"]
        present = np.flatnonzero(self._codes)
        chars = [chr(c) for c in present.tolist()]
        # A character that is a vocabulary entry itself is known; only the others need encoding.
        odd = [i for i, t in enumerate(tok.convert_tokens_to_ids(chars)) if t == unk]
        for i, ids in zip(odd, tok.encode_batch([chars[i] for i in odd])):
            if _has(ids, unk):
                out[chars[i]] += int(self._codes[present[i]])
        return out

    def as_dict(self) -> dict:
        return {"labels": {k: dict(v) for k, v in self.labels.items()},
                "rows_without_target": self.rows_without_target, "short_rows": self.short_rows,
                "single_sentence_documents": self.single_sentence_documents, "masked_tokens": self.masked_tokens,
                "unk_chars": self._unk_chars().most_common(UNIT_UNK_CHARS)}


def _has(ids, value: int) -> bool:
    return value in ids if isinstance(ids, list) else bool(np.any(np.asarray(ids) == value))


def merge_stats(parts: Iterable[dict | None]) -> dict:
    """Units' ``as_dict`` results added up (units that recorded none are skipped)."""
    labels: dict[str, Counter] = {}
    unk: Counter = Counter()
    out = {"rows_without_target": 0, "short_rows": 0, "single_sentence_documents": 0, "masked_tokens": 0}
    for part in parts:
        if not part:
            continue
        for name, counts in part.get("labels", {}).items():
            labels.setdefault(name, Counter()).update({k: int(v) for k, v in counts.items()})
        for key in out:
            out[key] += int(part.get(key, 0))
        unk.update({ch: int(n) for ch, n in part.get("unk_chars", [])})
    out["labels"] = {name: dict(sorted(c.items())) for name, c in sorted(labels.items())}
    out["unk_chars"] = [[ch, n] for ch, n in sorted(unk.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_UNK_CHARS]]
    return out


def label_shares(counts: dict) -> dict[str, dict[str, float]]:
    return {name: {k: v / max(1, sum(c.values())) for k, v in c.items()} for name, c in counts.get("labels", {}).items()}


def hints(counts: dict, processor: str, full_sentences: bool) -> list[str]:
    """Advice the numbers call for; empty when the data looks as intended."""
    out = []
    share = counts.get("padding_share", 0.0)
    if share > PADDING_HINT_ABOVE:
        if processor == "mlm" and not full_sentences:
            out.append(f"padding is {share:.1%} of every row: --full-sentences packs consecutive documents "
                       "into full rows (RoBERTa's FULL-SENTENCES), or use a smaller --seq-len")
        else:
            out.append(f"padding is {share:.1%} of every row: the documents are short for this --seq-len")
    for name, shares in label_shares(counts).items():
        value, top = max(shares.items(), key=lambda kv: kv[1])
        if top > LABEL_HINT_ABOVE:
            why = ""
            if name == "nsp_label" and value == "1" and counts.get("single_sentence_documents"):
                why = (f": {counts['single_sentence_documents']} document(s) have one sentence and always get "
                       "a random B (drop short documents before `shard`, or train mlm / albert)")
            out.append(f"{name} is {value} in {top:.1%} of instances{why}")
    if processor in ("cls", "cls_mlm") and len(counts.get("labels", {}).get("label", {})) == 1:
        (value,) = counts["labels"]["label"]
        out.append(f"every instance has label {value}: a classifier learns nothing from one class (check "
                   "--label-field and the label column)")
    if counts.get("documents") == 1 and counts.get("tokens", 0) > 0:
        out.append("the whole corpus is one document: its lines were read as one text (lyrics or chapters "
                   "without blank-line separators?); check the input layout or `clean --format`")
    traditional = traditional_share(counts.get("unk_chars", []))
    if traditional > T2S_HINT_ABOVE:
        out.append(f"{traditional:.0%} of the top [UNK] characters are traditional Chinese: `clean --t2s` "
                   "converts them to simplified ones the vocab knows")
    if counts.get("rows_without_target"):
        out.append(f"{counts['rows_without_target']} row(s) have nothing to predict (kept, as UER-py keeps them; "
                   "they add no loss)")
    return out


def traditional_share(unk_chars: list) -> float:
    """Share of the listed [UNK] occurrences whose character OpenCC t2s changes (a traditional character)."""
    total = sum(int(n) for _, n in unk_chars)
    if not total:
        return 0.0
    try:
        import opencc
    except ImportError:  # pragma: no cover - opencc is a declared dependency
        return 0.0
    t2s = opencc.OpenCC("t2s").convert
    return sum(int(n) for ch, n in unk_chars if t2s(ch) != ch) / total


def summary_lines(counts: dict, processor: str, indent: str = "  ", width: int = 15) -> list[str]:
    """The statistics as aligned lines for the `shard` summary and `inspect`."""
    lines = []
    label = lambda name: f"{indent}{name:<{width}}"  # noqa: E731
    for name, shares in label_shares(counts).items():
        meaning = LABEL_MEANINGS.get(name, {})
        parts = [f"{k} ({meaning[k]}) {counts['labels'][name][k]} = {v:.1%}" if k in meaning
                 else f"{k}: {counts['labels'][name][k]} = {v:.1%}" for k, v in shares.items()]
        lines.append(label(name) + ", ".join(parts))
    if processor in ("bert", "albert") and "single_sentence_documents" in counts:
        lines.append(label("1-sent. docs") + str(counts["single_sentence_documents"]))
    if processor in ("mlm", "lm") and "rows_without_target" in counts:
        lines.append(label("no-target rows") + f"{counts['rows_without_target']} (kept, as UER-py keeps them, "
                     f"and counted; rows of <= {SHORT_ROW} tokens: {counts.get('short_rows', 0)})")
    if counts.get("unk_chars"):
        lines.append(label("[UNK] chars") + ", ".join(f"{_show(ch)} {n}" for ch, n in counts["unk_chars"][:10]))
    for hint in counts.get("hints", []):
        lines.append(f"{indent}hint: {hint}")
    return lines


def _show(ch: str) -> str:
    """A character as the summary shows it: invisible ones by code point."""
    return ch if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"
