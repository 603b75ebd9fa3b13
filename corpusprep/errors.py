"""Errors a user sees: always naming the file (and line, where there is one)."""
from __future__ import annotations


class ZooprepError(Exception):
    """Base class; the CLI prints these as one clear line instead of a traceback."""


class InputError(ZooprepError):
    """An input that cannot be read at all (missing, unreadable, undecodable as a whole)."""

    def __init__(self, path: str, message: str, line: int | None = None):
        self.path, self.line, self.message = str(path), line, message
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")

    def __reduce__(self):
        # Rebuild from the constructor's arguments so the error survives the trip back from a worker.
        return (type(self), (self.path, self.message, self.line))


class InputsFailed(ZooprepError):
    """The run finished but some inputs could not be read (``--on-error continue``): exit code 3.

    Raised after every output is written; the failed files are already named on stderr and in the
    command's report."""

    exit_code = 3

    def __init__(self, count: int, where: str):
        self.count, self.where = count, where
        super().__init__(f"{count} input file(s) failed and were left out; see {where}")

    def __reduce__(self):
        return (type(self), (self.count, self.where))
