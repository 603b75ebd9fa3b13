"""Read a BERT-style vocab file (one token per line, id = 0-based line number)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from corpusprep.errors import InputError

SPECIAL_TOKENS = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}


@dataclass(frozen=True)
class Vocab:
    path: str
    token_to_id: dict[str, int]
    id_to_token: list[str]
    sha256: str
    lines: tuple[str, ...] = ()  # the file's lines verbatim (for --extend, which must not change a byte)

    @property
    def size(self) -> int:
        """Number of ids (lines): the embedding size a model needs."""
        return len(self.id_to_token)

    def special_ids(self) -> dict[str, int | None]:
        return {name: self.token_to_id.get(tok) for name, tok in SPECIAL_TOKENS.items()}


def read_vocab(path: str | Path, style: str = "hf") -> Vocab:
    """Load ``path`` the way the reference loader does.

    ``style="hf"``: HF tokenizers' WordPiece.read_file (token = line with trailing whitespace trimmed; a
    repeated token maps to its last line). ``style="uer"``: UER-py's Vocab.load (first whitespace-separated
    field of the stripped line; an empty line becomes ``???<index>``).
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), "vocab file not found") from None
    except IsADirectoryError:
        raise InputError(str(path), "is a directory, expected a vocab .txt file") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(str(path), "vocab file is not valid UTF-8", line=line) from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # trailing newline
    id_to_token: list[str] = []
    for index, line in enumerate(lines):
        if style == "uer":
            fields = line.strip().split()
            tok = fields[0] if fields else f"???{index}"
        else:
            tok = line.rstrip()  # Rust trim_end: Unicode whitespace, incl. '\r'
        id_to_token.append(tok)
    token_to_id = {tok: i for i, tok in enumerate(id_to_token)}
    if not id_to_token:
        raise InputError(str(path), "vocab file is empty")
    return Vocab(str(path), token_to_id, id_to_token, hashlib.sha256(raw).hexdigest(), tuple(lines))
