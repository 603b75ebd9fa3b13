"""Crash-safe file output: write to a temporary sibling, fsync, then rename into place.

A reader therefore sees either the complete previous file, the complete new one, or nothing;
never a half-written output that looks complete. This is the only way zooprep writes a file:
``AtomicFile`` (open, write, ``commit`` or ``abort``) and the context managers built on it.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import IO, Iterator

_CHUNK = 1 << 20
TMP_SUFFIX = ".tmp"


def tmp_name(path: Path) -> Path:
    """The temporary sibling ``.<name>.<pid>.tmp`` an output is written under before its rename."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")


def is_tmp_name(name: str) -> bool:
    """True for names ``tmp_name`` makes (a killed run's leftovers)."""
    if not (name.startswith(".") and name.endswith(TMP_SUFFIX)):
        return False
    parts = name[1:-len(TMP_SUFFIX)].rsplit(".", 1)
    return len(parts) == 2 and parts[1].isdigit()


class AtomicFile:
    """One output file under its temporary name: ``commit`` renames it into place, ``abort`` deletes it.

    ``fsync=False`` is for work files whose checksums are recorded elsewhere (a torn file is then
    detected and redone), where fsyncing thousands of small files would be slow.
    """

    def __init__(self, path: str | os.PathLike, fsync: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = tmp_name(self.path)
        self.fsync = fsync

    def commit(self) -> Path:
        if self.fsync and self.tmp.is_file():
            with open(self.tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            if self.tmp.is_dir() and not self.tmp.is_symlink():
                shutil.rmtree(self.tmp)
            else:
                self.tmp.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path; on success rename it to ``path``, on error delete it."""
    out = AtomicFile(path, fsync)
    try:
        yield out.tmp
        out.commit()
    except BaseException:
        out.abort()
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8",
                fsync: bool = True) -> Iterator[IO]:
    """Open a temporary file for writing; rename it to ``path`` only if the block succeeds."""
    if "b" in mode:
        encoding = None
    with atomic_path(path, fsync) as tmp:
        with open(tmp, mode, encoding=encoding) as fh:
            yield fh


def json_bytes(obj, indent: int | None = 2) -> bytes:
    """Key-sorted UTF-8 JSON with a final newline (the one JSON layout zooprep writes)."""
    return (json.dumps(obj, ensure_ascii=False, indent=indent, sort_keys=True) + "\n").encode("utf-8")


def write_bytes(path: str | os.PathLike, data: bytes, fsync: bool = True) -> None:
    with atomic_open(path, "wb", fsync=fsync) as fh:
        fh.write(data)


def write_json(path: str | os.PathLike, obj, indent: int | None = 2, fsync: bool = True) -> None:
    """Atomically write ``obj`` as key-sorted UTF-8 JSON."""
    write_bytes(path, json_bytes(obj, indent), fsync)


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def range_chunks(fh, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The bytes [start, end) of an open binary file, in chunks (to its end when ``end`` is None)."""
    fh.seek(start)
    left = None if end is None else max(0, end - start)
    while left is None or left > 0:
        chunk = fh.read(_CHUNK if left is None else min(_CHUNK, left))
        if not chunk:
            return
        if left is not None:
            left -= len(chunk)
        yield chunk


def sha256_range(path: str | os.PathLike, start: int = 0, end: int | None = None) -> str:
    """Hex sha256 of the bytes [start, end) of a file (to its end when ``end`` is None)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in range_chunks(fh, start, end):
            h.update(chunk)
    return h.hexdigest()
