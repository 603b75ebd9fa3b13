"""What a reader yields: a document to keep working on, a counted reject, or (from the guarded
reader) the failure that stopped reading a file."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Record:
    """One document. ``text`` uses '\\n' between its lines/sentences (poem lines, couplet halves)."""

    text: str
    source: str  # input file path as given by the user
    line: int  # 1-based physical line where the record starts in ``source``
    meta: dict = field(default_factory=dict)  # family metadata: label, title, author, ...


@dataclass(slots=True)
class Reject:
    """A record that could not be used, with the reason it is counted under in report.json."""

    reason: str
    source: str
    line: int
    raw: str = ""  # a prefix of the offending input, for DIR/rejects/


@dataclass(slots=True)
class Failure:
    """Reading ``source`` stopped here (unreadable, unknown layout, ...): the file is listed in the
    report's ``failed_files``; records read before it stay counted."""

    source: str
    reason: str
    line: int | None = None
