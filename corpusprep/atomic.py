"""Crash-safe file output: write to a temporary sibling, fsync, then rename into place.

A reader therefore sees either the complete previous file, the complete new one, or nothing;
never a half-written output that looks complete.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import IO, Iterator

_CHUNK = 1 << 20


def tmp_name(path: Path) -> Path:
    """The temporary sibling ``.<name>.<pid>.tmp`` an output is written under before its rename."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on success rename it to ``path``, on error delete it."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_name(final)
    try:
        yield tmp
        if tmp.is_file():
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            if tmp.is_dir():
                import shutil

                shutil.rmtree(tmp)
            else:
                tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file for writing; rename it to ``path`` only if the block succeeds."""
    if "b" in mode:
        encoding = None
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=encoding) as fh:
            yield fh


def write_json(path: str | os.PathLike, obj, indent: int = 2) -> None:
    """Atomically write ``obj`` as pretty, key-sorted UTF-8 JSON."""
    with atomic_open(path, "w") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=indent, sort_keys=True)
        fh.write("\n")


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def open_work_dir(work: str | os.PathLike, plan: dict) -> Path:
    """Reuse a killed run's work dir only if it was building exactly ``plan``; else start it afresh.

    ``plan`` (options, inputs, units) is compared after a JSON round trip, so tuples and lists match.
    """
    import shutil

    work = Path(work)
    plan = json.loads(json.dumps(plan, sort_keys=True))
    plan_file = work / "plan.json"
    if work.exists():
        try:
            same = json.loads(plan_file.read_text(encoding="utf-8")) == plan
        except (OSError, ValueError):
            same = False
        if not same:
            shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    if not plan_file.exists():
        write_json(plan_file, plan)
    return work
