"""What every zooprep tokenizer shares: vocab access, specials, fingerprint, describe(), pickling."""
from __future__ import annotations

import hashlib
import json
import re
from typing import Iterable

from corpusprep.errors import InputError
from zh_tokenizers.vocab_file import Vocab

_CJK_GAP = re.compile(r"(?<=[\u3000-\u9fff\uf900-\ufaff\uff00-\uffef]) | (?=[\u3000-\u9fff\uf900-\ufaff\uff00-\uffef])")


class VocabTokenizer:
    """Base for tokenizers driven by a vocab file; subclasses implement ``encode``."""

    kind = "base"

    def __init__(self, vocab: Vocab, options: dict):
        self.vocab = vocab
        self.options = dict(options)
        self._id_to_token = vocab.id_to_token
        self.special_ids = vocab.special_ids()
        if self.special_ids["unk"] is None:
            raise InputError(vocab.path, "vocab has no [UNK] entry")
        self.unk_id: int = self.special_ids["unk"]

    # -- interface of docs/FORMATS.md section 3 --------------------------------------------------------------
    def encode(self, text: str) -> list[int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def encode_batch(self, texts: Iterable[str]) -> list[list[int]]:
        encode = self.encode
        return [encode(t) for t in texts]

    def tokenize(self, text: str) -> list[str]:
        return self.convert_ids_to_tokens(self.encode(text))

    def convert_ids_to_tokens(self, ids: Iterable[int]) -> list[str]:
        table = self._id_to_token
        return [table[i] for i in ids]

    def convert_tokens_to_ids(self, tokens: Iterable[str]) -> list[int]:
        get, unk = self.vocab.token_to_id.get, self.unk_id
        return [get(t, unk) for t in tokens]

    def decode(self, ids: Iterable[int]) -> str:
        """Readable text: tokens joined by spaces, ``##`` pieces glued on, no spaces around CJK characters."""
        text = " ".join(self.convert_ids_to_tokens(ids)).replace(" ##", "")
        return _CJK_GAP.sub("", text)

    @property
    def vocab_size(self) -> int:
        return self.vocab.size

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256()
        h.update(self.vocab.sha256.encode())
        h.update(json.dumps({"kind": self.kind, **self.options}, sort_keys=True).encode())
        return h.hexdigest()

    def describe(self) -> dict:
        return {
            "kind": self.kind,
            "path": self.vocab.path,
            "fingerprint": self.fingerprint,
            "vocab_size": self.vocab_size,
            "special_ids": dict(self.special_ids),
            "options": dict(self.options),
            "vocab_sha256": self.vocab.sha256,
        }

    def __reduce__(self):
        # Workers rebuild from the vocab's bytes + options (cheap; tables are cached per process) instead of
        # shipping caches. The bytes travel, not just the path: a Ray node shares no file system with the
        # driver, and a relative path would name a file in the node's own folder.
        return (_rebuild, (FACTORY, self.vocab.path, self.kind, self.options, self.vocab.sha256,
                           _vocab_bytes(self.vocab)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab={self.vocab.path!r}, size={self.vocab_size}, options={self.options})"


_REBUILT: dict = {}
# zh_tokenizers.load_tokenizer, set by the package when it loads (this module imports nothing above it)
FACTORY = None


_BYTES: dict = {}  # vocab sha256 -> the file's bytes (rebuilt once per process from the parsed lines)


def _vocab_bytes(vocab: Vocab) -> bytes:
    """The vocab file's bytes, from its verbatim lines (checked against its sha256)."""
    raw = _BYTES.get(vocab.sha256)
    if raw is None:
        text = "\n".join(vocab.lines)
        for candidate in ((text + "\n").encode("utf-8"), text.encode("utf-8")):  # with or without a final newline
            if hashlib.sha256(candidate).hexdigest() == vocab.sha256:
                raw = _BYTES[vocab.sha256] = candidate
                break
        else:  # pragma: no cover - read_vocab keeps every line verbatim
            raise InputError(vocab.path, "vocab bytes cannot be rebuilt from its lines")
    return raw


def _rebuild(factory, path, kind, options, sha256, data):
    # A pool worker unpickles the tokenizer with every task: keep one per process and vocab content, so
    # its tables and word cache are built once per worker, not once per work unit.
    kw = {k: v for k, v in options.items() if k in ("uer_compat", "do_lower_case")}
    key = (sha256, kind, tuple(sorted(kw.items())))
    tok = _REBUILT.get(key)
    if tok is None:
        tok = _REBUILT[key] = factory(vocab=path, kind=kind, vocab_data=data, **kw)
    return tok
