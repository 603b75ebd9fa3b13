"""Byte-level input: plain byte ranges, streaming decompression with damage detection, encoding sniffing.

Decompression is done with incremental decompressor objects rather than file wrappers so that every
byte decoded before a damaged or truncated spot is handed on; the damage then surfaces as one
``DamagedInput`` exception at the end of the good data.
"""
from __future__ import annotations

import os
from typing import Callable, Iterator

from corpusprep.errors import InputError

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

        return (lambda: zlib.decompressobj(wbits=47)), (zlib.error,)  # 47: gzip or zlib header, auto
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


def _open(path: str):
    try:
        return open(path, "rb")
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror or exc}") from None


def iter_decompressed(path: str, compression: str, block: int = _COMPRESSED_READ) -> Iterator[bytes]:
    """Yield decompressed bytes of a whole file; concatenated members/frames are read in turn.

    Raises ``DamagedInput`` after the last good bytes when the stream is truncated or corrupt.
    """
    make, errors = _decompressor_factory(compression)
    with _open(path) as fh:
        dec = make()
        started = False  # a member/frame has begun and not yet ended
        while True:
            raw = fh.read(block)
            if not raw:
                break
            while raw:
                try:
                    for out in _bounded(dec, raw, compression):
                        yield out
                except errors as exc:
                    raise DamagedInput("corrupt_input", f"{compression} data corrupt: {exc}") from None
                started = True
                if dec.eof:
                    raw = dec.unused_data
                    dec = make()
                    started = False
                    # trailing zero padding after the last member is common (tar, dd); ignore it
                    if raw and not raw.strip(b"\0"):
                        raw = b""
                else:
                    raw = b""
        if started and not dec.eof:
            raise DamagedInput("truncated_input", f"{compression} stream ends before its end marker (truncated file)")


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


def iter_raw(path: str, compression: str | None) -> Iterator[bytes]:
    """All (decompressed) bytes of a file, in blocks."""
    if compression:
        return iter_decompressed(path, compression)
    return iter_plain(path)


def read_sample(path: str, compression: str | None, size: int = SAMPLE_BYTES) -> bytes:
    """The first ``size`` (decompressed) bytes; an unreadable or undecompressable file is an InputError."""
    if not os.path.isfile(path):
        raise InputError(path, "no such file")
    parts: list[bytes] = []
    got = 0
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
    """Resolve a file's encoding from its first bytes: utf-8-sig (BOM), utf-8, else gb18030.

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
    # bytes fails rarely. GB18030 accepts most byte soup, so it is only chosen on clear evidence.
    high = len(sample.translate(None, bytes(range(128))))  # bytes >= 0x80
    if utf8_bad * 100 <= high:
        return "utf-8"  # damaged lines (if any) are rejected one by one as "undecodable"
    return "gb18030" if _bad_spots(sample, "gb18030") < utf8_bad else "utf-8"


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
