"""Ids back to text for every reader of a shard (inspect, the report, other outputs): the recorded
tokenizer found by content, and special ids shown by role, the same for every tokenizer."""
from __future__ import annotations

import os
from pathlib import Path

from corpusprep.errors import ZooprepError

ROLE_NAMES = {"cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]", "pad": "[PAD]", "unk": "[UNK]"}


def recorded_sha256(desc: dict) -> str | None:
    """The sha256 of the tokenizer file a shard was built with (vocab or sentencepiece model)."""
    sha = desc.get("vocab_sha256") or desc.get("model_sha256")
    return str(sha).lower() if sha else None


def find_tokenizer_file(meta: dict, shard_dir: Path | None = None, desc: dict | None = None) -> str | None:
    """The recorded tokenizer file, found by content: its absolute path, its path relative to the shard
    directory or to the folder holding it, or its name beside the shard; only a file whose sha256 is
    the recorded one (never a different vocabulary that happens to sit at the same relative path)."""
    from corpusprep.atomic import sha256_file

    desc = (meta.get("tokenizer", {}) or {}) if desc is None else desc
    path, sha = desc.get("path"), recorded_sha256(desc)
    if not path:
        return None
    from corpusprep import storage

    if storage.is_url(path):  # a tokenizer recorded by URL: there, if it still exists
        return path if storage.exists(path) else None
    names = [desc.get("abs_path"), path] if os.path.isabs(str(path)) else [desc.get("abs_path")]
    if shard_dir is not None:
        shard_dir = Path(shard_dir)
        names += [shard_dir / path, shard_dir.parent / path, shard_dir / Path(path).name,
                  shard_dir.parent / Path(path).name]
    if sha is None:
        names.append(path)  # a shard from before the checksum was recorded: as it was given
    for name in names:
        if name and Path(name).is_file():
            try:
                if sha is None or sha256_file(name) == sha:
                    return str(name)
            except OSError:
                continue
    return None


def tokenizer_from_meta(meta: dict, vocab: Path | None = None, spm: Path | None = None,
                        shard_dir: Path | None = None, desc: dict | None = None):
    """Rebuild the tokenizer recorded in zooprep.json (or the one given), None when unavailable.

    A tokenizer given by name must be the one the shard was built with (same sha256).
    ``desc``: another recorded tokenizer (mt's ``processor_options.tgt_tokenizer``)."""
    from zh_tokenizers import load_tokenizer

    if vocab is not None and spm is not None:
        raise ZooprepError("give at most one of --vocab or --spm")
    desc = (meta.get("tokenizer", {}) or {}) if desc is None else desc
    if vocab is not None or spm is not None:  # asked for by name: a bad file is the user's error to hear
        given = spm if spm is not None else vocab
        sha = recorded_sha256(desc)
        if sha is not None and Path(given).is_file():
            from corpusprep.atomic import sha256_file

            if sha256_file(given) != sha:
                raise ZooprepError(f"{given}: not the tokenizer this shard was built with (sha256 differs from "
                                   f"the recorded {desc.get('path')}); decoding with it would show other text")
        return load_tokenizer(spm=spm) if spm is not None else load_tokenizer(vocab=vocab)
    try:
        kind, opts = desc.get("kind"), desc.get("options", {})
        path = find_tokenizer_file(meta, shard_dir, desc)
        if path is None:
            return None
        if str(path).endswith(".model"):
            return load_tokenizer(spm=path)
        kwargs = {k: v for k, v in opts.items() if k in ("uer_compat", "do_lower_case")}
        return load_tokenizer(vocab=path, kind=kind if kind in ("bert", "char", "space") else "bert", **kwargs)
    except Exception:  # the recorded vocab moved or changed: show ids instead of failing the summary
        return None


class Renderer:
    """Ids -> text with special ids shown by role, the same for every tokenizer."""

    def __init__(self, tok, special_ids: dict):
        self.tok = tok
        self.role = {int(i): ROLE_NAMES[name] for name, i in special_ids.items()
                     if name in ROLE_NAMES and i is not None and int(i) >= 0}

    def text(self, ids: list[int]) -> str:
        parts, run = [], []
        for i in ids:
            if i in self.role:
                if run:
                    parts.append(self.tok.decode(run).strip())
                    run = []
                parts.append(self.role[i])
            else:
                run.append(i)
        if run:
            parts.append(self.tok.decode(run).strip())
        return " ".join(p for p in parts if p)

    def pieces(self, ids: list[int]) -> list[str]:
        return [self.role.get(i) or p for i, p in zip(ids, self.tok.convert_ids_to_tokens(ids))]
