"""``tokenize``: stdin lines -> one line of tokens or ids each, streamed."""
from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from corpusprep.errors import InputError, ZooprepError

BATCH = 4096


@dataclass(frozen=True)
class TokenizeConfig:
    vocab: Path | None = None
    spm: Path | None = None
    kind: str = "bert"
    uer_compat: bool = False
    ids: bool = False
    do_lower_case: bool = True


def run_tokenize(cfg: TokenizeConfig, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Returns the number of lines written."""
    from zh_tokenizers import load_tokenizer

    if (cfg.vocab is None) == (cfg.spm is None):
        raise ZooprepError("tokenize: give exactly one of --vocab or --spm")
    tok = load_tokenizer(vocab=cfg.vocab, spm=cfg.spm, kind=cfg.kind, uer_compat=cfg.uer_compat,
                         do_lower_case=cfg.do_lower_case)
    src = stdin or io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="strict", newline="\n")
    dst = stdout or sys.stdout
    lineno, written, batch = 0, 0, []

    def flush():
        nonlocal written
        out = []
        for ids in tok.encode_batch(batch):
            out.append(" ".join(map(str, ids)) if cfg.ids else " ".join(tok.convert_ids_to_tokens(ids)))
        dst.write("\n".join(out) + "\n")
        written += len(batch)
        batch.clear()

    try:
        for line in src:
            lineno += 1
            batch.append(line.rstrip("\n").rstrip("\r"))
            if len(batch) >= BATCH:
                flush()
    except UnicodeDecodeError:
        raise InputError("<stdin>", "not valid UTF-8", line=lineno + 1) from None
    if batch:
        flush()
    dst.flush()
    return written
