"""Physical lines of a work unit, decoded in bulk: the layer every family reader stands on.

Bytes are read in large blocks, cut at the last newline, decoded with one ``bytes.decode`` call and
split with one ``str.split`` call, so there is no per-character Python work. Repairs and rejects:

* CRLF -> LF (a ``\\r`` right before a newline or at end of file is dropped); a lone ``\\r`` is kept.
* NUL bytes are removed.
* A UTF-8 BOM at the start of the file is dropped; a BOM anywhere else is left to the cleaning ops.
* A line that does not decode under the file's encoding becomes ``BadLine("undecodable")``.
* A line longer than ``max_line`` bytes becomes ``BadLine("line_too_long")``; it is skipped while
  reading, never held whole in memory.
* A truncated or corrupt compressed file: every complete line before the damage is kept, then one
  ``BadLine("truncated_input" | "corrupt_input")`` holding the cut-off partial line.
* Every line of a compressed member that failed its integrity check (``Suspect`` bytes) is a
  ``BadLine("corrupt_input")``: its records are counted rejects, never kept.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Union

from corpusprep.records import Reject
from corpusprep.readers.rawio import BLOCK, DamagedInput, Suspect, iter_decompressed, iter_plain, open_input
from corpusprep.readers.units import DEFAULT_MAX_LINE_BYTES, WorkUnit

RAW_PREFIX = 200  # characters of offending input kept in a Reject
_SCAN = 1 << 20


@dataclass(slots=True)
class BadLine:
    """A physical line that could not be used; ``raw`` is its text decoded with replacement characters."""

    reason: str
    raw: str = ""

    def reject(self, source: str, line: int) -> Reject:
        return Reject(self.reason, source, line, self.raw[:RAW_PREFIX])


class MixedLines(list):
    """A block's lines when some of them are ``BadLine``. A block of type ``list`` holds only str,
    which lets readers take a bulk fast path with one type check per block."""


Item = Union[str, BadLine]
LineBlock = tuple[int, list[Item]]  # (1-based number of the first line, consecutive lines)


def first_line_start(fh, start: int) -> int | None:
    """Offset of the first line that starts at or after ``start`` (None: no line starts there)."""
    if start == 0:
        return 0
    fh.seek(start - 1)
    pos = start - 1
    while True:
        data = fh.read(_SCAN)
        if not data:
            return None
        nl = data.find(b"\n")
        if nl >= 0:
            return pos + nl + 1
        pos += len(data)


def owned_chunks(path: str, start: int, end: int | None, block: int = BLOCK) -> Iterator[bytes]:
    """Bytes of exactly the lines that START in [start, end) of a plain file.

    The line that begins before ``start`` belongs to the previous unit; the last owned line is read
    past ``end`` up to its newline.
    """
    with open_input(path) as fh:
        pos = first_line_start(fh, start)
        if pos is None or (end is not None and pos >= end):
            return
        fh.seek(pos)
        last = b""
        while end is None or pos < end:
            data = fh.read(block if end is None else min(block, end - pos))
            if not data:
                return
            pos += len(data)
            last = data
            yield data
        if last.endswith(b"\n"):
            return  # the line starting exactly at ``end`` is the next unit's
        while True:
            data = fh.read(_SCAN)
            if not data:
                return
            nl = data.find(b"\n")
            if nl >= 0:
                yield data[: nl + 1]
                return
            yield data


def line_before_is_blank(path: str, start: int, encoding: str, max_line: int = DEFAULT_MAX_LINE_BYTES) -> bool:
    """Whether the line just before the first line starting at/after ``start`` is blank (or absent).

    Decided exactly as the line reader would decide it (NULs removed, ``\\r`` dropped, decoded,
    whitespace-only); an over-long or undecodable line is not blank.
    """
    with open_input(path) as fh:
        p0 = first_line_start(fh, start)
        if p0 is None or p0 == 0:
            return True
        stop = p0 - 1  # the previous line's newline
        pos, tail = stop, b""
        while pos > 0 and len(tail) <= max_line:
            step = min(_SCAN, pos)
            fh.seek(pos - step)
            data = fh.read(step)
            pos -= step
            nl = data.rfind(b"\n")
            if nl >= 0:
                tail = data[nl + 1:] + tail
                break
            tail = data + tail
        if len(tail) > max_line:
            return False
    at_file_start = stop - len(tail) == 0  # the previous line is the file's first: BOM rule applies
    item = decode_lines(tail, _first_encoding(encoding, at_file_start), max_line)[0]
    return item.__class__ is str and not item.strip()


def unit_chunks(unit: WorkUnit) -> Iterator[bytes]:
    """The (decompressed) bytes a unit owns."""
    if unit.compression:
        return iter_decompressed(unit.path, unit.compression)
    if unit.start == 0 and unit.end is None:
        return iter_plain(unit.path)
    return owned_chunks(unit.path, unit.start, unit.end)


def unit_line_blocks(unit: WorkUnit) -> Iterator[LineBlock]:
    """Blocks of decoded physical lines of a unit, numbered from the unit's first line."""
    return iter_line_blocks(
        unit_chunks(unit),
        unit.encoding,
        first_line=unit.option("first_line", 1),
        max_line=unit.option("max_line_bytes", DEFAULT_MAX_LINE_BYTES),
        at_file_start=unit.start == 0,
    )


def iter_line_blocks(chunks: Iterable[bytes], encoding: str, first_line: int = 1,
                     max_line: int = DEFAULT_MAX_LINE_BYTES, at_file_start: bool = True) -> Iterator[LineBlock]:
    """Split byte chunks into decoded lines (see the module docstring for the repair rules)."""
    lineno = first_line
    carry = b""
    skipping: bytes | None = None  # prefix of an over-long line being discarded
    tainted: Suspect | None = None  # the line in ``carry`` began in bytes that failed their check
    enc = _first_encoding(encoding, at_file_start)
    body_enc = _body_encoding(encoding)
    try:
        for chunk in chunks:
            if chunk.__class__ is not bytes:  # Suspect: every line it touches is rejected
                buf = carry + chunk
                cut = buf.rfind(b"\n")
                if cut >= 0:
                    bad = [BadLine(chunk.reason, _show(b, body_enc)) for b in buf[:cut].split(b"\n")]
                    yield lineno, MixedLines(bad)
                    lineno += len(bad)
                    carry = buf[cut + 1:]
                else:
                    carry = buf
                tainted, skipping, enc = (chunk if carry else None), None, body_enc
                if len(carry) > max_line:
                    yield lineno, MixedLines([BadLine(chunk.reason, _show(carry, body_enc))])
                    lineno += 1
                    carry = b""
                continue
            if tainted is not None:
                nl = chunk.find(b"\n")
                if nl < 0:
                    carry += chunk
                    if len(carry) > max_line:
                        carry = carry[:_long_shown(max_line)]
                    continue
                yield lineno, MixedLines([BadLine(tainted.reason, _show(carry + chunk[:nl], body_enc))])
                lineno += 1
                carry, tainted = b"", None
                chunk = chunk[nl + 1:]
            if skipping is not None:
                nl = chunk.find(b"\n")
                if nl < 0:
                    continue
                yield lineno, MixedLines([BadLine("line_too_long", _show(skipping, body_enc))])
                lineno += 1
                skipping = None
                enc = body_enc
                chunk = chunk[nl + 1:]
            buf = carry + chunk if carry else chunk
            cut = buf.rfind(b"\n")
            if cut < 0:
                carry = buf
            else:
                carry = buf[cut + 1:]
                items = decode_lines(buf[:cut], enc, max_line)
                enc = body_enc
                yield lineno, items
                lineno += len(items)
            if len(carry) > max_line:
                skipping, carry = carry[:_long_shown(max_line)], b""
        if tainted is not None and carry:
            yield lineno, MixedLines([BadLine(tainted.reason, _show(carry, body_enc))])
        elif skipping is not None:
            yield lineno, MixedLines([BadLine("line_too_long", _show(skipping, body_enc))])
        elif carry:
            yield lineno, decode_lines(carry, enc, max_line)
    except DamagedInput as exc:
        partial = skipping if skipping is not None else carry
        yield lineno, MixedLines([BadLine(exc.reason, f"{exc}: {_show(partial, body_enc)}")])


def _body_encoding(encoding: str) -> str:
    return "utf-8" if encoding == "utf-8-sig" else encoding


def _first_encoding(encoding: str, at_file_start: bool) -> str:
    """The codec for bytes that may begin the file: the BOM is stripped by decoding the file's first
    block as utf-8-sig; later blocks keep theirs (left to the cleaning ops)."""
    return "utf-8-sig" if at_file_start and encoding.startswith("utf-8") else _body_encoding(encoding)


def _long_shown(max_line: int) -> int:
    """Bytes of an over-long line kept for its reject: the same whatever the block boundaries."""
    return min(max_line, 4 * RAW_PREFIX)


def _show(data: bytes, encoding: str) -> str:
    return data[: 4 * RAW_PREFIX].decode(encoding, errors="replace")


def _too_long(raw: bytes, encoding: str, max_line: int) -> BadLine:
    """An over-long line's reject, shown as read (raw bytes, like the streaming check)."""
    return BadLine("line_too_long", _show(raw[:_long_shown(max_line)], _body_encoding(encoding)))


def decode_lines(block: bytes, encoding: str, max_line: int = DEFAULT_MAX_LINE_BYTES) -> list[Item]:
    """Decode newline-separated bytes (no final newline) into lines, applying the repair rules.

    The line-length limit applies to a line's raw bytes as read (before NUL/CR repairs).
    """
    raw_block = block
    if b"\0" in block:
        block = block.replace(b"\0", b"")
    try:
        text = block.decode(encoding)
    except UnicodeDecodeError:
        return _decode_one_by_one(raw_block, encoding, max_line)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if text.endswith("\r"):
            text = text[:-1]
    lines: list[Item] = text.split("\n")
    if len(raw_block) > max_line:  # only then can a line in it be too long (raw bytes, as read)
        for i, raw in enumerate(raw_block.split(b"\n")):
            if len(raw) > max_line:
                lines = MixedLines(lines) if lines.__class__ is list else lines
                lines[i] = _too_long(raw, encoding, max_line)
    return lines


def _decode_one_by_one(block: bytes, encoding: str, max_line: int) -> list[Item]:
    out: list[Item] = MixedLines()
    for i, raw in enumerate(block.split(b"\n")):
        if len(raw) > max_line:  # raw bytes as read, shown as read: like the streaming check
            out.append(_too_long(raw, encoding, max_line))
            continue
        raw = raw.replace(b"\0", b"")
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        enc = encoding if i == 0 else _body_encoding(encoding)
        try:
            out.append(raw.decode(enc))
        except UnicodeDecodeError:
            out.append(BadLine("undecodable", raw.decode(enc, errors="replace")))
    return out
