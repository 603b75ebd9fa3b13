"""A small packed-array file: one JSON header line, then named little-endian numpy arrays (8-byte aligned).

Used for the generated per-code-point tokenizer tables (``hf_bert_tables.bin``): reading is one
``read_bytes`` and zero-copy ``np.frombuffer`` views, so a worker process pays a few milliseconds, not a
Python scan of the code space.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

MAGIC = "zooprep-arrays/1"


def write_arrays(path: Path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` (1-d) and ``meta`` to ``path`` atomically (temp file + rename)."""
    index, blobs, offset = {}, [], 0
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        dtype = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
        data = arr.astype(dtype, copy=False).tobytes()
        index[name] = {"dtype": dtype.str, "offset": offset, "count": int(arr.size)}
        pad = (-len(data)) % 8
        blobs.append(data + b"\0" * pad)
        offset += len(data) + pad
    header = json.dumps({"magic": MAGIC, "meta": meta, "arrays": index}, sort_keys=True).encode() + b"\n"
    header += b" " * ((-len(header)) % 8)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(header)
        for blob in blobs:
            fh.write(blob)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_arrays(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(meta, name -> read-only array view) of a file written by ``write_arrays``."""
    raw = Path(path).read_bytes()
    end = raw.find(b"\n")
    try:
        header = json.loads(raw[:end])
        if header.get("magic") != MAGIC:
            raise ValueError(f"not a {MAGIC} file")
        body = len(raw[:end + 1]) + ((-(end + 1)) % 8)
        arrays = {}
        for name, spec in header["arrays"].items():
            start = body + spec["offset"]
            arrays[name] = np.frombuffer(raw, dtype=np.dtype(spec["dtype"]), count=spec["count"], offset=start)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: damaged table file ({exc}); regenerate it with "
                         "`python tools/gen_hf_tables.py`") from None
    return header["meta"], arrays
