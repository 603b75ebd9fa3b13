"""What every zooprep tokenizer shares: vocab access, specials, fingerprint, describe(), pickling."""
from __future__ import annotations

import hashlib
import json
import os
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
        # Workers rebuild from path + options (cheap; tables are cached per process) instead of shipping caches.
        from zh_tokenizers import load_tokenizer

        return (_rebuild, (load_tokenizer, self.vocab.path, self.kind, self.options))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab={self.vocab.path!r}, size={self.vocab_size}, options={self.options})"


_REBUILT: dict = {}


def _rebuild(factory, path, kind, options):
    # A pool worker unpickles the tokenizer with every task: keep one per process and vocab file, so
    # its tables and word cache are built once per worker, not once per work unit.
    kw = {k: v for k, v in options.items() if k in ("uer_compat", "do_lower_case")}
    from corpusprep import storage

    try:
        # a URL's local copy is verified by storage.local_copy when the factory reads it
        stamp = (0, 0) if storage.is_url(path) else (os.stat(path).st_size, os.stat(path).st_mtime_ns)
    except OSError:
        return factory(vocab=path, kind=kind, **kw)  # let the factory name the missing file
    key = (path, *stamp, kind, tuple(sorted(kw.items())))
    tok = _REBUILT.get(key)
    if tok is None:
        tok = _REBUILT[key] = factory(vocab=path, kind=kind, **kw)
    return tok
