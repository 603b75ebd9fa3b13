"""INPUT arguments (files, folders, globs) -> the ordered, de-duplicated list of files to read.

One expander for every command that reads corpora (``clean`` and, through
``corpusprep.corpus_input``, ``shard`` / ``build-vocab`` / ``build-spm``). Order: the arguments in
the order given; inside a folder or a glob, files sorted by path. A file that cannot be taken
(missing, not a regular file, an unreadable sub-folder, a name that is not UTF-8) is named in the
``FailureLog``; without one, the first such problem stops the run.
"""
from __future__ import annotations

import glob
import os
import stat

from corpusprep import storage
from corpusprep.errors import InputError, ZooprepError
from corpusprep.readers.failures import FailureLog, fail_fast

_GLOB_CHARS = set("*?[")
_SKIP_NAMES = {".DS_Store", "Thumbs.db"}
# Corpus folders often carry their own README/licence/scripts (demo/, shared/corpora/): walking a
# folder leaves those out rather than cleaning them as text. A file named explicitly is still read.
_SKIP_PREFIXES = ("README", "LICENSE", "LICENCE", "COPYING")
_SKIP_SUFFIXES = (".md", ".py", ".sh")


def shown(path: str) -> str:
    """A path as it can be printed and written to UTF-8 reports (undecodable name bytes escaped)."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


def expand_inputs(inputs: list[str], failures: FailureLog | None = None, *, skip_docs: bool = True) -> list[str]:
    """Files in a deterministic order: each argument in turn; folders walked recursively and globs
    expanded, each sorted by path. Hidden files and folders (``.git``, ``.work``...) and, with
    ``skip_docs``, documentation/code files (README*, LICENSE*, *.md, *.py, *.sh) inside a folder
    are skipped; a file named explicitly is always taken. The same file named twice is read once.
    URLs (``s3://bucket/prefix``, any fsspec protocol) follow the same rules: a prefix is a folder,
    glob characters in a URL are expanded by its filesystem.
    """
    log = fail_fast(failures)
    if not inputs:
        raise InputError("INPUT", "no input given")
    out: list[str] = []
    seen: set[str] = set()
    for item in map(str, inputs):
        try:
            found = _expand_one(item, log, skip_docs)
        except InputError as exc:
            log.add(exc.path, exc.message, exc.line)
            continue
        for path in found:
            key = input_key(path)
            if key not in seen:
                seen.add(key)
                out.append(path)
    return out


def input_key(path: str) -> str:
    """What makes two names one file: the resolved path, or the normalised URL."""
    return storage.absolute(path) if storage.is_url(path) else os.path.realpath(path)


def _expand_one(item: str, log: FailureLog, skip_docs: bool) -> list[str]:
    if item[:7].lower() == "file://":
        item = storage.absolute(item)  # a local path in URL form
    if storage.is_url(item):
        if not storage.split_credentials(item)[1]:
            item = storage.absolute(item)  # S3://b//k -> s3://b/k (credentials stay where they are)
        return _expand_url(item, log, skip_docs)
    if os.path.isdir(item):
        files = walk(item, log, skip_docs)
        if not files:
            raise InputError(item, "folder holds no files")
        return files
    if os.path.lexists(item) and not _glob_like(item):
        return [f for f in [item] if _usable(item, log)]
    if _glob_like(item):
        matched = sorted(glob.glob(item, recursive=True))
        files: list[str] = []
        for m in matched:
            files.extend(walk(m, log, skip_docs) if os.path.isdir(m) else [m] if _usable(m, log) else [])
        if not matched:
            raise InputError(item, "pattern matched no files")
        return files
    raise InputError(item, "no such file or folder")


def _glob_like(item: str) -> bool:
    return bool(_GLOB_CHARS & set(item)) and not os.path.lexists(item)


def _usable(path: str, log: FailureLog) -> bool:
    """A regular, readable file with a printable name; anything else is named in the log."""
    name = shown(path)
    if name != path:
        log.add(name, "file name is not valid UTF-8; rename the file (e.g. convmv -f GBK -t UTF-8)")
        return False
    try:
        st = os.stat(path)
    except FileNotFoundError:
        log.add(path, "dangling symbolic link" if os.path.islink(path) else "no such file")
        return False
    except OSError as exc:
        log.add(path, f"cannot read: {exc.strerror or exc}")
        return False
    if not stat.S_ISREG(st.st_mode):
        kind = "FIFO" if stat.S_ISFIFO(st.st_mode) else "device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(
            st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode) else "special file"
        log.add(path, f"not a regular file ({kind}); give a file or a folder", nbytes=0)
        return False
    if not os.access(path, os.R_OK):
        log.add(path, "file is not readable (permission denied)")
        return False
    return True


def _expand_url(item: str, log: FailureLog, skip_docs: bool) -> list[str]:
    """``_expand_one`` for a URL: an object, a prefix (walked) or a glob; storage errors (bad
    credentials, unknown protocol, refused request) name the URL."""
    try:
        if storage.isdir(item):
            files = walk(item, log, skip_docs)
            if not files:
                raise InputError(storage.display(item), "prefix holds no objects")
            return files
        if storage.exists(item):
            return [item]
        if bool(_GLOB_CHARS & set(item.split("://", 1)[1])):
            matched = storage.glob(item)
            if not matched:
                raise InputError(storage.display(item), "pattern matched no objects")
            files = []
            for m in matched:
                files.extend(walk(m, log, skip_docs) if storage.isdir(m) else [m])
            return files
    except ZooprepError as exc:
        if isinstance(exc, InputError):
            raise
        text, shown_ = str(exc), storage.display(item) + ": "
        raise InputError(storage.display(item), text[len(shown_):] if text.startswith(shown_) else text) from None
    raise InputError(storage.display(item), "no such object or prefix")


def _walk_url(folder: str, skip_docs: bool) -> list[str]:
    """``walk`` for a URL prefix: the same skip rules on every part of each object's relative name,
    sorted by path components (``storage.list_files``)."""
    base = storage.absolute(folder).rstrip("/")
    out = []
    for target in storage.list_files(folder):
        parts = target[len(base) + 1:].split("/")
        if any(p.startswith(".") for p in parts[:-1]) or _skipped(parts[-1], skip_docs):
            continue
        out.append(target)
    return out


def walk(folder: str, log: FailureLog, skip_docs: bool = True) -> list[str]:
    """Usable files under ``folder`` sorted by path; a sub-folder that cannot be listed is named."""
    if storage.is_url(folder):
        return _walk_url(folder, skip_docs)
    found: list[str] = []

    def unreadable(exc: OSError) -> None:
        log.add(shown(exc.filename or folder), f"cannot list folder: {exc.strerror or exc}; its files were not read",
                nbytes=0)

    visited: set[str] = set()
    # symbolic links to folders are followed (a corpus assembled from links is common); a folder
    # reached twice (a link loop, or two links to one folder) is walked once
    for root, dirs, names in os.walk(folder, onerror=unreadable, followlinks=True):
        real = os.path.realpath(root)
        if real in visited:
            dirs[:] = []
            continue
        visited.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if not _skipped(name, skip_docs):
                path = os.path.join(root, name)
                if _usable(path, log):
                    found.append(path)
    # sort on path components so "a/b" < "a-b/c" does not depend on the separator's code point
    return sorted(found, key=lambda p: os.path.relpath(p, folder).split(os.sep))


def _skipped(name: str, skip_docs: bool) -> bool:
    if name.startswith(".") or name in _SKIP_NAMES:
        return True
    return skip_docs and (name.upper().startswith(_SKIP_PREFIXES) or name.lower().endswith(_SKIP_SUFFIXES))
