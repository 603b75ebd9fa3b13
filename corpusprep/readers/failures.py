"""Per-file fault isolation: the one place that decides what a file that cannot be read does to a run.

Every command that reads corpora (clean, shard, build-vocab, build-spm) plans and reads its inputs
through ``FailureLog``: planning records a file it cannot open, list, sniff or map instead of
stopping, and ``read_unit_guarded`` turns an error while reading a unit into a ``Failure`` item.

``--on-error``:
  * ``continue`` (default): finish the run, list each failed file with its reason and bytes on stderr
    and in the report (``failed_files``), exit 3;
  * ``fail``: stop at the first failure with one ``error: FILE[:LINE]: why`` line, exit 2;
  * ``skip``: like continue, but exit 0.
"""
from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass

from corpusprep.errors import InputError, InputsFailed, ZooprepError

ON_ERROR = ("continue", "fail", "skip")


def check_on_error(value: str) -> str:
    if value not in ON_ERROR:
        raise ZooprepError(f"--on-error must be one of {', '.join(ON_ERROR)}, not {value!r}")
    return value


@dataclass(frozen=True)
class FailedFile:
    path: str
    reason: str
    bytes: int | None = None  # size on disk, when it can be known
    line: int | None = None  # where reading stopped, if it had started

    def as_dict(self) -> dict:
        return asdict(self)

    def message(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        size = f" ({self.bytes} bytes)" if self.bytes is not None else ""
        return f"{where}: {self.reason}{size}"


def file_size(path: str) -> int | None:
    from corpusprep import storage

    try:
        return storage.info(path)["size"] if storage.is_url(path) else os.stat(path).st_size
    except (OSError, ZooprepError):
        return None


def describe(exc: BaseException) -> tuple[str, int | None]:
    """(reason, line) of an error met while planning or reading one file."""
    if isinstance(exc, InputError):
        return exc.message, exc.line
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}", None
    if isinstance(exc, RecursionError):
        return "structure nested too deeply to read", None
    if isinstance(exc, MemoryError):
        return "does not fit in memory", None
    return f"reader error ({type(exc).__name__}: {str(exc)[:200]})", None


class FailureLog:
    """Failed files of one run, in the order met; ``add`` raises at once under ``--on-error fail``."""

    def __init__(self, on_error: str = "continue"):
        self.on_error = check_on_error(on_error)
        self.failed: list[FailedFile] = []
        self._seen: set[str] = set()

    def add(self, path: str, reason: str, line: int | None = None, nbytes: int | None = None) -> None:
        path = str(path)
        if self.on_error == "fail":
            raise InputError(path, reason, line)
        if path in self._seen:
            return
        self._seen.add(path)
        self.failed.append(FailedFile(path, reason, nbytes if nbytes is not None else file_size(path), line))

    def add_error(self, path: str, exc: BaseException) -> None:
        if isinstance(exc, ZooprepError) and not isinstance(exc, InputError):
            # a storage error (corpusprep.storage) names its URL first: the log names it once
            text, shown = str(exc), f"{path}: "
            exc = InputError(path, text[len(shown):] if text.startswith(shown) else text)
        reason, line = describe(exc)
        self.add(path, reason, line)

    def add_record(self, entry: dict) -> None:
        """A failure reported by a worker (``FailedFile.as_dict``)."""
        self.add(entry["path"], entry["reason"], entry.get("line"), entry.get("bytes"))

    def nothing_read(self, inputs) -> ZooprepError:
        """The error for a run where no input could be planned at all (raised by the caller)."""
        if len(self.failed) == 1:
            f = self.failed[0]
            return InputError(f.path, f.reason, f.line)
        if self.failed:
            return ZooprepError(f"none of the {len(self.failed)} input files could be read: "
                                + "; ".join(f.message() for f in self.failed[:5]))
        return ZooprepError(f"no input files matched: {' '.join(map(str, inputs))}")

    def as_list(self) -> list[dict]:
        return [f.as_dict() for f in self.failed]

    def finish(self, where: str, stream=None) -> None:
        """Name every failed file on stderr; under ``continue`` raise ``InputsFailed`` (exit 3).

        Call it after every output is written: the run's results stand, the exit code tells."""
        if not self.failed:
            return
        stream = stream or sys.stderr
        for f in self.failed:
            print(f"failed: {f.message()}", file=stream)
        if self.on_error == "continue":
            raise InputsFailed(len(self.failed), where)


def fail_fast(log: "FailureLog | None") -> FailureLog:
    """The log to use when a caller passed none: the old behaviour, stop at the first failure."""
    return log if log is not None else FailureLog("fail")
