"""Verified local copies of small remote objects (vocab files, sentencepiece models).

Readers that need a whole file at once (a tokenizer is rebuilt in every worker) read a URL through
``local_copy``: the object is downloaded once per machine and object version into
``$ZOOPREP_CACHE/objects/`` (else ``$XDG_CACHE_HOME/zooprep/objects``, ``~/.cache`` by default),
through a temporary name (a partial download never has the final name), and its sha256 is kept
next to it; a copy is used again only while the object's size/ETag/version are those it was
fetched at and its bytes still hash to the recorded sha256. Big corpus objects are never copied:
they are read by ranged GETs (``open_read``).
"""
from __future__ import annotations

import hashlib
import json
import os

from corpusprep.storage.fs import StorageError, get_file, info
from corpusprep.storage.url import absolute, display, name

_copies: dict[tuple, str] = {}


def cache_root() -> str:
    if os.environ.get("ZOOPREP_CACHE"):
        return os.environ["ZOOPREP_CACHE"]
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "zooprep")


def _file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def local_copy(url: str, limit: int | None = None) -> str:
    """A local path holding the bytes of ``url`` (see the module docstring); ``limit``: refuse
    objects bigger than this many bytes (before anything is downloaded)."""
    from corpusprep.atomic import write_bytes

    i = info(url)
    if i["kind"] == "directory":
        raise StorageError(f"{display(url)}: is a prefix (folder), not an object")
    if limit is not None and i["size"] > limit:
        raise StorageError(f"{display(url)}: {i['size']} bytes, more than the {limit} allowed here")
    ident = (absolute(url), i["size"], i["etag"], i["version"])
    known = _copies.get(ident)
    if known and os.path.isfile(known):
        return known
    key = hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:32]
    folder = os.path.join(cache_root(), "objects", key)
    path = os.path.join(folder, name(url) or "object")
    side = path + ".sha256"
    try:
        with open(side, encoding="ascii") as fh:
            recorded = fh.read().strip()
        if os.path.getsize(path) == i["size"] and _file_sha256(path) == recorded:
            _copies[ident] = path
            return path
    except OSError:
        pass
    os.makedirs(folder, exist_ok=True)
    get_file(url, path)
    if os.path.getsize(path) != i["size"]:
        os.unlink(path)
        raise StorageError(f"{display(url)}: download ended early or the object changed while it was read")
    write_bytes(side, (_file_sha256(path) + "\n").encode())
    _copies[ident] = path
    return path
