"""The sentencepiece word tokenizer, giving exactly the ids of UER-py's spm path.

UER-py (``BertTokenizer`` with ``--spm_model_path``) runs ``EncodeAsPieces`` and then the
XLNet/ALBERT post-fix: a piece that ends in "digit + ','" is encoded again without its comma and
the comma becomes a piece of its own. Under Python 3 UER's port of that fix never strips the
dummy-prefix "▁" from the re-encoded part (it compares a ``str`` with ``bytes``), so the re-split
can add a "▁" piece; ``digit_comma="uer"`` reproduces that, ``"xlnet"`` gives the intended
(Python 2 / HF v4 slow ``AlbertTokenizer``) behaviour, ``"none"`` plain sentencepiece.
Special ids are found the way UER finds them: by looking the strings up in the piece table.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable, Sequence

from corpusprep.errors import InputError
from zh_tokenizers.vocab_file import SPECIAL_TOKENS  # UER's special_tokens_map.json strings

SPIECE_UNDERLINE = "\u2581"
DIGIT_COMMA_MODES = ("uer", "xlnet", "none")


def _is_digit_comma(piece: str) -> bool:
    return len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit()


def resplit_digit_comma(sp, pieces: Sequence[str], mode: str = "uer") -> list[str]:
    """Apply the XLNet digit-comma post-fix to ``pieces`` the way ``mode`` says (pure w.r.t. ``sp``)."""
    if mode == "none":
        return list(pieces)
    out: list[str] = []
    for piece in pieces:
        if not _is_digit_comma(piece):
            out.append(piece)
            continue
        cur = sp.encode(piece[:-1].replace(SPIECE_UNDERLINE, ""), out_type=str)
        if mode == "xlnet" and piece[0] != SPIECE_UNDERLINE and cur and cur[0][0] == SPIECE_UNDERLINE:
            cur = cur[1:] if len(cur[0]) == 1 else [cur[0][1:], *cur[1:]]
        out.extend(cur)
        out.append(piece[-1])
    return out


class SpmTokenizer:
    """UER-py spm word tokenizer over a sentencepiece model (interface: docs/FORMATS.md section 3).

    ``kind="bert"`` (default) is UER's BertTokenizer spm path; ``"char"`` / ``"space"`` are UER's
    CharTokenizer / SpaceTokenizer with the vocabulary taken from the model, as UER does when
    ``--spm_model_path`` is given to them.
    """

    def __init__(self, path: str | Path, digit_comma: str = "uer", threads: int = 1, *, kind: str = "bert",
                 model_bytes: bytes | None = None):
        if digit_comma not in DIGIT_COMMA_MODES:
            raise ValueError(f"digit_comma must be one of {DIGIT_COMMA_MODES}, not {digit_comma!r}")
        if kind not in ("bert", "char", "space"):
            raise ValueError(f"kind must be bert, char or space, not {kind!r}")
        self.mode = kind
        self.path = str(path)
        self.digit_comma = digit_comma
        self.threads = threads  # encode_batch threads; 1 suits one-process-per-core executors
        if model_bytes is None:
            from zh_tokenizers.vocab_file import read_bounded

            model_bytes = read_bounded(path, "sentencepiece model", 1 << 30)
        self._model_bytes = model_bytes
        self._build()

    # -- construction / pickling -------------------------------------------------------------
    def _build(self) -> None:
        import sentencepiece as spm

        sp = spm.SentencePieceProcessor()
        try:
            sp.LoadFromSerializedProto(self._model_bytes)
        except (RuntimeError, OSError) as exc:
            raise InputError(self.path, f"not a sentencepiece model ({exc})") from None
        self._sp = sp
        n = sp.get_piece_size()
        self._pieces = [sp.id_to_piece(i) for i in range(n)]
        self._vocab = {p: i for i, p in enumerate(self._pieces)}
        self._unk_id = sp.unk_id()
        # Ids whose piece needs the digit-comma fix. An unknown piece (a run of unknown characters)
        # can only end in "digit," if "," itself is not a piece the encoder can produce.
        self._fix_ids = frozenset(i for i, p in enumerate(self._pieces) if _is_digit_comma(p))
        cid = self._vocab.get(",")
        self._comma_known = cid is not None and not (sp.is_unknown(cid) or sp.is_control(cid) or sp.is_unused(cid))
        self.special_ids = self._find_special_ids()

    def _find_special_ids(self) -> dict[str, int]:
        fallback = {"pad": self._sp.pad_id(), "unk": self._unk_id, "cls": self._sp.bos_id(),
                    "sep": self._sp.eos_id(), "mask": -1}
        # UER looks the strings up; a model without them falls back to its own control ids (-1 = none).
        return {name: self._vocab.get(tok, fallback[name]) for name, tok in SPECIAL_TOKENS.items()}

    def __getstate__(self) -> dict:
        return {"path": self.path, "digit_comma": self.digit_comma, "threads": self.threads,
                "mode": self.mode, "model_bytes": self._model_bytes}

    def __setstate__(self, state: dict) -> None:
        self.path, self.digit_comma, self.threads = state["path"], state["digit_comma"], state["threads"]
        self.mode = state["mode"]
        self._model_bytes = state["model_bytes"]
        self._build()

    # -- the interface ----------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return "spm" if self.mode == "bert" else f"spm-{self.mode}"

    @property
    def vocab_size(self) -> int:
        return len(self._pieces)

    @property
    def options(self) -> dict:
        return {"digit_comma": self.digit_comma} if self.mode == "bert" else {}

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256(self._model_bytes)
        h.update(json.dumps({"kind": self.kind, **self.options}, sort_keys=True).encode())
        return h.hexdigest()

    def describe(self) -> dict:
        return {"kind": self.kind, "path": self.path, "fingerprint": self.fingerprint,
                "vocab_size": self.vocab_size, "special_ids": dict(self.special_ids),
                "options": self.options, "model_sha256": hashlib.sha256(self._model_bytes).hexdigest()}

    def _needs_fix(self, ids: list[int]) -> bool:
        if self.digit_comma == "none":
            return False
        return not self._fix_ids.isdisjoint(ids) or (not self._comma_known and self._unk_id in ids)

    def _simple_tokens(self, text: str) -> list[str]:
        # UER CharTokenizer / SpaceTokenizer: strip, split, out-of-vocab -> "[UNK]".
        parts = list(text.strip()) if self.mode == "char" else text.strip().split(" ")
        vocab = self._vocab
        return [t if t in vocab else "[UNK]" for t in parts]

    def tokenize(self, text: str) -> list[str]:
        if self.mode != "bert":
            return self._simple_tokens(text)
        pieces = self._sp.encode(text, out_type=str)
        if self.digit_comma == "none":
            return pieces
        return resplit_digit_comma(self._sp, pieces, self.digit_comma)

    def _ids_of(self, text: str, ids: list[int]) -> list[int]:
        if not self._needs_fix(ids):
            return ids  # the common case: sentencepiece's own ids are UER's ids
        piece_to_id = self._sp.piece_to_id
        return [piece_to_id(p) for p in self.tokenize(text)]

    def encode(self, text: str) -> list[int]:
        if self.mode != "bert":
            return self.convert_tokens_to_ids(self._simple_tokens(text))
        return self._ids_of(text, self._sp.encode(text))

    def encode_batch(self, texts: Iterable[str]) -> list[list[int]]:
        texts = list(texts)
        if self.mode != "bert":
            return [self.encode(t) for t in texts]
        batch = self._sp.encode(texts, num_threads=self.threads)
        return [self._ids_of(t, ids) for t, ids in zip(texts, batch)]

    def convert_tokens_to_ids(self, tokens: Iterable[str]) -> list[int]:
        piece_to_id = self._sp.piece_to_id
        return [piece_to_id(t) for t in tokens]

    def convert_ids_to_tokens(self, ids: Iterable[int]) -> list[str]:
        pieces = self._pieces
        return [pieces[i] for i in ids]

    def decode(self, ids: Iterable[int]) -> str:
        return self._sp.decode(list(ids))

    def __repr__(self) -> str:
        return f"SpmTokenizer({self.path!r}, kind={self.mode!r}, vocab_size={self.vocab_size})"
