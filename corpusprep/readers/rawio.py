"""Byte-level input: plain byte ranges, streaming decompression with damage detection, encoding sniffing.

Decompression is done with incremental decompressor objects rather than file wrappers so that every
byte decoded before a damaged or truncated spot is handed on; the damage then surfaces as one
``DamagedInput`` exception at the end of the good data.
"""
from __future__ import annotations

import os
from typing import Callable, Iterator

from corpusprep import storage
from corpusprep.errors import InputError, ZooprepError
from corpusprep.storage import is_url

BLOCK = 1 << 20  # bytes per read: per-block overhead vanishes, buffers stay cache- and allocator-friendly
_COMPRESSED_READ = 64 << 10  # small compressed reads: little good output is lost at a damaged spot
SAMPLE_BYTES = 64 << 10  # read per file at planning time (encoding, layout); small: plans touch every file


class DamagedInput(Exception):
    """A compressed stream ended early (``truncated_input``) or holds garbage (``corrupt_input``)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def _decompressor_factory(compression: str) -> tuple[Callable[[], object], tuple[type[BaseException], ...]]:
    if compression == "gz":
        import zlib

        return _GzipMember, (zlib.error,)
    if compression == "bz2":
        import bz2

        return bz2.BZ2Decompressor, (OSError, ValueError)
    if compression == "xz":
        import lzma

        return lzma.LZMADecompressor, (lzma.LZMAError,)
    if compression == "zst":
        import zstandard

        dctx = zstandard.ZstdDecompressor()
        return dctx.decompressobj, (zstandard.ZstdError,)
    raise ValueError(f"unknown compression {compression!r}")


class _GzipMember:
    """One gzip member with the decompressor interface ``_bounded`` uses: the header is parsed here,
    the body is raw deflate, CRC32 and ISIZE are checked at the end. zlib's own gzip mode raises on
    a bad CRC and drops the output of that call; here the output is always handed on and a failed
    check is reported in ``failed`` once ``eof`` is set."""

    def __init__(self):
        import zlib

        self._zlib = zlib
        self._head = b""
        self._dec = None
        self._crc = self._size = 0
        self._trailer = b""
        self.eof = False
        self.failed = ""
        self.unused_data = b""
        self.unconsumed_tail = b""

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        zlib = self._zlib
        if self._dec is None:
            self._head += data
            n = _gzip_header_length(self._head)
            if n is None:
                return b""
            data, self._head = self._head[n:], b""
            self._dec = zlib.decompressobj(-15)
        if self._dec.eof:
            self._take_trailer(data)
            return b""
        out = self._dec.decompress(data, max_length)
        self.unconsumed_tail = self._dec.unconsumed_tail
        self._crc = zlib.crc32(out, self._crc)
        self._size += len(out)
        if self._dec.eof:
            self._take_trailer(self._dec.unused_data)
        return out

    def _take_trailer(self, data: bytes) -> None:
        import struct

        self._trailer += data
        if len(self._trailer) < 8:
            return
        crc, size = struct.unpack("<II", self._trailer[:8])
        self.unused_data, self.eof = self._trailer[8:], True
        if crc != self._crc or size != self._size & 0xFFFFFFFF:
            self.failed = "gz member fails its CRC/length check"


def _gzip_header_length(head: bytes) -> int | None:
    """Length of the gzip member header at the start of ``head`` (None: more bytes needed)."""
    import zlib

    if len(head) < 10:
        if head[:2] not in (b"\x1f\x8b"[:len(head[:2])],):
            raise zlib.error("not gzip data (bad magic bytes)")
        return None
    if head[:3] != b"\x1f\x8b\x08":
        raise zlib.error("not gzip data (bad magic bytes)")
    flags, pos = head[3], 10
    if flags & 4:  # FEXTRA
        if len(head) < pos + 2:
            return None
        pos += 2 + int.from_bytes(head[pos:pos + 2], "little")
    for bit in (8, 16):  # FNAME, FCOMMENT: zero-terminated
        if flags & bit:
            end = head.find(b"\0", pos)
            if end < 0:
                if len(head) > 1 << 20:
                    raise zlib.error("gzip header field longer than 1 MiB")
                return None
            pos = end + 1
    if flags & 2:  # FHCRC
        pos += 2
    return pos if len(head) >= pos else None


# A URL is read by ranged GETs of the bytes asked for plus this much read-ahead: sequential block
# reads cost one request per few MB, a unit of a big object fetches about its own range, never the object.
URL_BLOCK = 4 << 20


def _open(path: str, url_block: int | None = None):
    """A binary file handle on an input: a local regular file, or a URL read by ranged GETs
    (``corpusprep.storage``, read-ahead ``url_block``, default URL_BLOCK); any failure is one
    ``InputError`` naming the input."""
    import stat

    if is_url(path):
        try:
            return storage.open_read(path, block_size=url_block or URL_BLOCK)
        except ZooprepError as exc:
            raise InputError(storage.display(path), _reason(path, exc)) from None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block, a device never end
            raise InputError(path, "not a regular file; give a file or a folder")
        return open(path, "rb")
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror or exc}") from None


def open_input(path: str):
    """``_open`` for the readers outside this module (byte ranges, line scans, Parquet footers)."""
    return _open(path)


def input_size(path: str) -> int:
    """Size in bytes of an input file or object (an ``InputError`` when it cannot be stat'ed)."""
    if not is_url(path):
        return os.path.getsize(path)
    try:
        return storage.info(path)["size"]
    except ZooprepError as exc:
        raise InputError(storage.display(path), _reason(path, exc)) from None


def input_is_file(path: str) -> bool:
    """Whether ``path`` names a file (locally) or an object (URL)."""
    if not is_url(path):
        return os.path.isfile(path)
    try:
        return storage.exists(path) and not storage.isdir(path)
    except ZooprepError:
        return False


def _reason(path: str, exc: BaseException) -> str:
    """A storage error's text without the target it starts with (the InputError names it)."""
    text, shown = str(exc), storage.display(path) + ": "
    return text[len(shown):] if text.startswith(shown) else text


class Suspect(bytes):
    """Decompressed bytes of a member/frame that failed its integrity check (CRC, checksum): the
    line layer turns every line in them into a ``corrupt_input`` reject instead of a record."""

    reason = "corrupt_input"
    detail = ""


def _suspect(data: bytes, detail: str) -> Suspect:
    out = Suspect(data)
    out.detail = detail
    return out


# Output of one member is held back until its integrity check passes; a member larger than this is
# first verified by a separate decompression pass (so memory stays bounded and nothing unverified
# is handed on).
MEMBER_BUFFER = 16 << 20


def iter_decompressed(path: str, compression: str, block: int = _COMPRESSED_READ) -> Iterator[bytes]:
    """Yield decompressed bytes of a whole file; concatenated members/frames are read in turn.

    Bytes of a member are yielded only once the member passed its integrity check; the output of a
    member that fails it comes as ``Suspect`` chunks. Raises ``DamagedInput`` after the last
    bytes when the stream is truncated (``truncated_input``) or cannot be decoded further
    (``corrupt_input``).
    """
    make, errors = _decompressor_factory(compression)
    with _open(path) as fh:
        dec = make()
        started = False  # a member/frame has begun and not yet ended
        member_at = 0  # compressed offset where the current member starts
        pos = 0  # compressed bytes read so far
        held: list[bytes] = []
        held_size = 0
        state = "hold"  # hold (unverified) | good (verified) | bad (failed verification)
        while True:
            raw = fh.read(block)
            if not raw:
                break
            pos += len(raw)
            while raw:
                try:
                    for out in _bounded(dec, raw, compression):
                        if state == "good":
                            yield out
                        elif state == "bad":
                            yield _suspect(out, "member failed its integrity check")
                        else:
                            held.append(out)
                            held_size += len(out)
                            if held_size > MEMBER_BUFFER:
                                problem = _verify_member(path, compression, member_at)
                                state = "bad" if problem else "good"
                                for h in held:
                                    yield _suspect(h, problem) if problem else h
                                held, held_size = [], 0
                except errors as exc:
                    detail = f"{compression} data corrupt: {exc}"
                    for h in held:
                        yield _suspect(h, detail)
                    raise DamagedInput("corrupt_input", detail) from None
                started = True
                if dec.eof:
                    problem = getattr(dec, "failed", "")
                    for h in held:  # the member ended: its held output passed its check, or not
                        yield _suspect(h, problem) if problem else h
                    held, held_size, state = [], 0, "hold"
                    raw = dec.unused_data
                    member_at = pos - len(raw)
                    dec = make()
                    started = False
                    # trailing zero padding after the last member is common (tar, dd); ignore it
                    if raw and not raw.strip(b"\0"):
                        raw = b""
                else:
                    raw = b""
        # a stream cut short cannot be checked: what decoded so far is handed on, the cut-off tail
        # becomes one truncated_input reject
        yield from held
        if started and not dec.eof:
            raise DamagedInput("truncated_input", f"{compression} stream ends before its end marker (truncated file)")


def _verify_member(path: str, compression: str, offset: int) -> str:
    """Decompress one member from ``offset`` to its end, keeping nothing: '' if it passes its
    integrity check (or is cut short, which cannot be checked), else what is wrong."""
    make, errors = _decompressor_factory(compression)
    dec = make()
    with _open(path) as fh:
        fh.seek(offset)
        while not dec.eof:
            raw = fh.read(_COMPRESSED_READ)
            if not raw:
                return ""
            try:
                for _ in _bounded(dec, raw, compression):
                    pass
            except errors as exc:
                return f"{compression} data corrupt: {exc}"
    return getattr(dec, "failed", "")


def _bounded(dec, raw: bytes, compression: str) -> Iterator[bytes]:
    """Decompress ``raw`` in pieces of at most BLOCK bytes, so a highly compressible (or hostile)
    input cannot blow up memory. zstd's incremental API has no output limit; it stays per-call."""
    if compression == "gz":
        out = dec.decompress(raw, BLOCK)
        while True:
            if out:
                yield out
            if not dec.unconsumed_tail or dec.eof:
                return
            out = dec.decompress(dec.unconsumed_tail, BLOCK)
    elif compression in ("bz2", "xz"):
        out = dec.decompress(raw, max_length=BLOCK)
        while True:
            if out:
                yield out
            if dec.eof or dec.needs_input:
                return
            out = dec.decompress(b"", max_length=BLOCK)
    else:
        out = dec.decompress(raw)
        if out:
            yield out


def iter_plain(path: str, start: int = 0, stop: int | None = None, block: int = BLOCK) -> Iterator[bytes]:
    """Yield the bytes of ``path`` in [start, stop) (stop None: to end of file)."""
    with _open(path) as fh:
        fh.seek(start)
        pos = start
        while stop is None or pos < stop:
            want = block if stop is None else min(block, stop - pos)
            data = fh.read(want)
            if not data:
                return
            pos += len(data)
            yield data


def newlines_before(path: str, offsets: list[int]) -> list[int]:
    """For each of the ascending byte ``offsets``, how many newlines precede it (one sequential pass)."""
    out: list[int] = []
    count = done = 0
    with _open(path) as fh:
        for offset in offsets:
            while done < offset:
                block = fh.read(min(BLOCK << 2, offset - done))
                if not block:
                    break
                count += block.count(b"\n")
                done += len(block)
            out.append(count)
    return out


def first_line_numbers(path: str, starts: list[int]) -> list[int]:
    """1-based number of the first line that starts at or after each of the ascending byte ``starts``
    (a range owns the lines starting in it): 2 + the newlines before byte ``start - 1``, since that
    line follows the first newline at or after ``start - 1``. One sequential pass over the file."""
    if not starts:
        return []
    head = [1] if starts[0] == 0 else []
    rest = starts[1:] if head else starts
    return head + [n + 2 for n in newlines_before(path, [s - 1 for s in rest])]


def iter_raw(path: str, compression: str | None) -> Iterator[bytes]:
    """All (decompressed) bytes of a file, in blocks."""
    if compression:
        return iter_decompressed(path, compression)
    return iter_plain(path)


def read_sample(path: str, compression: str | None, size: int = SAMPLE_BYTES) -> bytes:
    """The first ``size`` (decompressed) bytes; an unreadable or undecompressable file is an InputError."""
    if not input_is_file(path):
        raise InputError(path, "no such file")
    parts: list[bytes] = []
    got = 0
    if not compression:  # just the head: a URL's sample is one small ranged GET
        with _open(path, url_block=size) as fh:
            return fh.read(size)
    try:
        for chunk in iter_raw(path, compression):
            parts.append(chunk)
            got += len(chunk)
            if got >= size:
                break
    except DamagedInput as exc:
        # a stream cut before its first output is still planned (the reader counts it as
        # truncated_input); bytes that are not this compression at all make the file unreadable
        if got == 0 and exc.reason != "truncated_input":
            raise InputError(path, f"cannot read: {exc}") from None
    return b"".join(parts)[:size]


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def detect_encoding(sample: bytes, path: str, forced: str | None = None) -> str:
    """Resolve a file's encoding from its first bytes: utf-8-sig (BOM), utf-8, else gb18030 / Big5 (cp950) / Shift-JIS (cp932).

    A sample may end inside a multi-byte character, so a decode error in the last 3 bytes is ignored.
    GB18030 is a superset of GBK and GB2312, so one name covers all three.
    """
    if forced:
        import codecs

        try:
            name = codecs.lookup(forced).name
        except LookupError:
            raise InputError(path, f"unknown encoding {forced!r}") from None
        if name == "utf-8" and sample.startswith(b"\xef\xbb\xbf"):
            return "utf-8-sig"
        return "gb18030" if name in ("gbk", "gb2312", "gb18030") else name
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith(_UTF16_BOMS):
        raise InputError(path, "UTF-16 text is not supported; convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)")
    utf8_bad = _bad_spots(sample, "utf-8")
    # GBK text read as UTF-8 fails on nearly every Chinese character; UTF-8 with a few damaged
    # bytes fails rarely. The legacy codecs accept most byte soup, so one is only chosen on clear evidence.
    high = len(sample.translate(None, bytes(range(128))))  # bytes >= 0x80
    if utf8_bad * 100 <= high:
        return "utf-8"  # damaged lines (if any) are rejected one by one as "undecodable"
    return _legacy_encoding(sample, utf8_bad)


# Legacy CJK encodings a Chinese corpus turns up in. GB18030 (a superset of GBK / GB2312) decodes
# almost any byte string, so Big5 (Taiwan / Hong Kong) and Shift-JIS (Japanese) text would come out
# as mojibake: which one it is, is decided by charset-normalizer (a maintained detector that
# scores the decoded text's coherence per language) among the codecs that decode the sample cleanly.
LEGACY_CODECS = ("gb18030", "cp950", "cp932")
_DETECT_MIN_HIGH = 64  # non-ASCII bytes the detector needs to tell GB from Big5 / Shift-JIS
_DETECTOR_NAMES = {"gb18030": "gb18030", "big5": "cp950", "cp950": "cp950", "big5hkscs": "cp950",
                   "cp932": "cp932", "shift_jis": "cp932"}


def _legacy_encoding(sample: bytes, utf8_bad: int) -> str:
    gb_bad = _bad_spots(sample, "gb18030")
    if len(sample.translate(None, bytes(range(128)))) < _DETECT_MIN_HIGH:
        return "gb18030" if gb_bad < utf8_bad else "utf-8"  # too little text to tell more
    clean = [c for c in LEGACY_CODECS if _bad_spots(sample, c) == 0]
    if len(clean) <= 1:
        return clean[0] if clean else "gb18030" if gb_bad < utf8_bad else "utf-8"
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(sample[:16384], cp_isolation=["gb18030", "big5", "cp932"]).best()
    except Exception:  # the detector is an aid: without a verdict GB18030 stays the choice
        best = None
    name = _DETECTOR_NAMES.get(best.encoding if best is not None else "", None)
    return name if name in clean else clean[0]


def _bad_spots(sample: bytes, encoding: str) -> int:
    """How many undecodable spots the sample has, not counting a character cut off at its end."""
    try:
        sample.decode(encoding)
        return 0
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4:  # the first (so only) error is a character cut by the sample end
            return 0
    body = sample[:-4]
    return body.decode(encoding, errors="replace").count("\ufffd") - body.decode(encoding, errors="ignore").count("\ufffd")
