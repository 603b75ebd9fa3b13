"""Turn the user's INPUT arguments (files, folders, globs) into a sorted, de-duplicated file list."""
from __future__ import annotations

import glob
import os

from corpusprep.errors import InputError

_GLOB_CHARS = set("*?[")
_SKIP_NAMES = {".DS_Store", "Thumbs.db"}
# Corpus folders often carry their own README/licence/scripts (demo/, shared/corpora/): walking a
# folder leaves those out rather than cleaning them as text. A file named explicitly is still read.
_SKIP_PREFIXES = ("README", "LICENSE", "LICENCE", "COPYING")
_SKIP_SUFFIXES = (".md", ".py", ".sh")


def expand_inputs(inputs: list[str]) -> list[str]:
    """Files in a deterministic order: each argument in turn, folders walked recursively, sorted.

    Hidden files and folders (``.git``, ``.cache``...) and documentation/code files (README*,
    LICENSE*, *.md, *.py, *.sh) inside a folder are skipped; a file named explicitly is always taken. The same file named twice is read once.
    """
    if not inputs:
        raise InputError("INPUT", "no input given")
    out: list[str] = []
    seen: set[str] = set()
    for item in inputs:
        for path in _expand_one(item):
            key = os.path.realpath(path)
            if key not in seen:
                seen.add(key)
                out.append(path)
    return out


def _expand_one(item: str) -> list[str]:
    if os.path.isfile(item):
        if not os.access(item, os.R_OK):
            raise InputError(item, "file is not readable (permission denied)")
        return [item]
    if os.path.isdir(item):
        files = _walk(item)
        if not files:
            raise InputError(item, "folder holds no files")
        return files
    if _GLOB_CHARS & set(item):
        matched = sorted(glob.glob(item, recursive=True))
        files: list[str] = []
        for m in matched:
            files.extend(_walk(m) if os.path.isdir(m) else [m])
        if not files:
            raise InputError(item, "pattern matched no files")
        return files
    raise InputError(item, "no such file or folder")


def _walk(folder: str) -> list[str]:
    found: list[str] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if not _skipped(name):
                found.append(os.path.join(root, name))
    # sort on path components so "a/b" < "a-b/c" does not depend on the separator's code point
    return sorted(found, key=lambda p: os.path.relpath(p, folder).split(os.sep))


def _skipped(name: str) -> bool:
    return (name.startswith(".") or name in _SKIP_NAMES or name.upper().startswith(_SKIP_PREFIXES)
            or name.lower().endswith(_SKIP_SUFFIXES))
