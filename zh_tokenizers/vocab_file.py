"""Read a BERT-style vocab file (one token per line, id = 0-based line number)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from corpusprep.errors import InputError, ZooprepError

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


MAX_VOCAB_BYTES = 256 << 20  # the largest zoo vocab is ~1 MB; a bigger "vocab" is not one


def read_bounded(path: str | Path, what: str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; a FIFO, device (``/dev/zero``),
    folder or bigger file is refused with one line instead of hanging or filling memory."""
    import os
    import stat

    from corpusprep import storage

    if storage.is_url(path):  # fetched once into the verified local cache (corpusprep.storage.local_copy)
        try:
            path_here = storage.local_copy(str(path), limit)
        except ZooprepError as exc:
            text, shown = str(exc), storage.display(path) + ": "
            raise InputError(storage.display(path), f"cannot read {what} file: "
                             + (text[len(shown):] if text.startswith(shown) else text)) from None
        with open(path_here, "rb") as fh:
            return fh.read()
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(str(path), f"{what} file not found") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read {what} file: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(str(path), f"is a directory, expected a {what} file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(str(path), f"not a regular file (FIFO, device...), expected a {what} file")
    if st.st_size > limit:
        raise InputError(str(path), f"{st.st_size} bytes: too big for a {what} file (limit {limit})")
    with open(path, "rb") as fh:
        raw = fh.read(limit + 1)
    if len(raw) > limit:
        raise InputError(str(path), f"too big for a {what} file (limit {limit} bytes)")
    return raw


def read_vocab(path: str | Path, style: str = "hf", data: bytes | None = None) -> Vocab:
    """Load ``path`` the way the reference loader does.

    ``style="hf"``: HF tokenizers' WordPiece.read_file (token = line with trailing whitespace trimmed; a
    repeated token maps to its last line). ``style="uer"``: UER-py's Vocab.load (first whitespace-separated
    field of the stripped line; an empty line becomes ``???<index>``).
    ``data``: the file's bytes, already read (a worker gets them with the tokenizer: see base.py).
    """
    raw = read_bounded(path, "vocab", MAX_VOCAB_BYTES) if data is None else data  # data: shipped to a worker
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
