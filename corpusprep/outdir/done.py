"""Done-markers: a finished unit of work that a rerun may reuse, and only while it is still valid.

A marker (``<name>.done.json``, written last and atomically) records

* ``key``: what the unit was asked to do (options fingerprint, unit range, ...);
* ``inputs``: the content identity of every input byte range the unit read: path, range, file size,
  ``mtime_ns`` and the sha256 of the range's bytes (the whole file where the unit reads it whole);
* ``files``: the sha256 of every work file it produced;
* ``result``: whatever the caller wants back (counts, ...).

``read_done`` returns the result only if the key is equal, every input still has the same size,
mtime_ns and bytes, and every file still has its checksum; anything else means "redo this unit"
(``why`` says which, so a rerun can say what changed).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from corpusprep import storage
from corpusprep.atomic import json_bytes, sha256_file, sha256_range, write_bytes


def input_identity(path: str, start: int = 0, end: int | None = None) -> dict:
    """Size, mtime_ns and the sha256 of bytes [start, end) of one input file; for a URL
    (``storage.identity``) its ETag and version instead of mtime_ns."""
    if storage.is_url(path):
        return storage.identity(path, start, end)
    st = os.stat(path)
    return {"path": str(path), "start": start, "end": end, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "sha256": sha256_range(path, start, end)}


def unit_identity(ranges) -> list[dict]:
    """``input_identity`` of each (path, start, end) a unit reads."""
    return [input_identity(p, a, b) for p, a, b in ranges]


def parquet_span(path: str, first_group: int, end_group: int) -> tuple[int, int | None]:
    """Byte range [start, end) holding the column chunks of row groups [first_group, end_group)."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(storage.open_read(path) if storage.is_url(path) else path).metadata
    lo, hi = None, 0
    for rg in range(first_group, min(end_group, meta.num_row_groups)):
        group = meta.row_group(rg)
        for c in range(group.num_columns):
            col = group.column(c)
            start = col.dictionary_page_offset if col.has_dictionary_page and col.dictionary_page_offset else col.data_page_offset
            lo = start if lo is None else min(lo, start)
            hi = max(hi, start + col.total_compressed_size)
    return (0, None) if lo is None else (lo, hi)


def _identity_changed(recorded: dict) -> str | None:
    path = recorded.get("path")
    if storage.is_url(path):
        return storage.identity_changed(recorded)
    try:
        st = os.stat(path)
    except (OSError, TypeError):
        return f"{path}: input gone"
    if st.st_size != recorded.get("size") or st.st_mtime_ns != recorded.get("mtime_ns"):
        return f"{path}: input changed (size or modification time)"
    if sha256_range(path, recorded.get("start", 0), recorded.get("end")) != recorded.get("sha256"):
        return f"{path}: input bytes changed"
    return None


def write_done(marker: Path, key, inputs: list[dict], files, result: dict, fsync: bool = False) -> dict:
    """Write the done-marker for finished work (after every file it names is in place).

    ``files``: paths (hashed here) or {path: sha256} when the caller already has the checksums.
    """
    marker = Path(marker)
    sums = files if isinstance(files, dict) else {f: sha256_file(f) for f in files}
    files = {os.path.relpath(f, marker.parent): sha for f, sha in sums.items()}  # may point outside (staged outputs)  # may point outside (staged outputs)
    body = {"key": json.loads(json.dumps(key)), "inputs": inputs, "files": files, "result": result}
    write_bytes(marker, json_bytes(body, None), fsync=fsync)
    return body


def read_done(marker: Path, key, why: list | None = None) -> dict | None:
    """The marker's result when the unit may be reused (see the module docstring), else None.

    ``why``: a list that receives the reason a marker that exists was not trusted.
    """
    marker = Path(marker)
    try:
        body = json.loads(marker.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        body = None
    reason = None
    if not isinstance(body, dict):
        reason = f"{marker}: unreadable done-marker"
    elif json.loads(json.dumps(key)) != body.get("key"):
        reason = f"{marker.name}: options or plan changed"
    else:
        for rec in body.get("inputs", []):
            reason = _identity_changed(rec)
            if reason:
                break
        else:
            for name, sha in body.get("files", {}).items():
                f = marker.parent / name
                if not f.is_file() or sha256_file(f) != sha:
                    reason = f"{f}: work file missing or damaged"
                    break
    if reason:
        if why is not None:
            why.append(reason)
        return None
    return body["result"]
