"""Names inside an output directory's ``.zooprep/`` folder (docs/FORMATS.md section 6)."""
from __future__ import annotations

from pathlib import Path

META_DIR = ".zooprep"
OWNER = "owner.json"  # written first: command, run id, creation time
LOCK = "lock"  # flock target; holds the current writer's pid, host, command, start time
JOURNAL = "written.json"  # every path zooprep put into DIR, with its sha256: the only paths it may remove
COMPLETE = "complete.json"  # written last: the finished run and the checksum of every output file
WORK = "work"  # the work area: done-markers, spill files, the staged outputs
STAGE = "stage"  # WORK/STAGE: the new outputs, laid out as they will appear in DIR
READY = "ready.json"  # WORK/READY: the staged set is complete and may be swapped in


RERUN_KEY = "rerun"  # the rerun rule's record (outdir.rerun) in complete.json and in a card


def new_run_id() -> str:
    import time
    import uuid

    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:12]}"


def read_owner(root) -> dict | None:
    """The marker of a zooprep output directory, or None when there is none (or it is unreadable)."""
    import json

    try:
        owner = json.loads((meta(root) / OWNER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) and isinstance(owner.get("command"), str) else None


def meta(root: Path) -> Path:
    return Path(root) / META_DIR


def work(root: Path) -> Path:
    return meta(root) / WORK


def file_stamps(folder: Path, skip_top: tuple[str, ...] = ()) -> dict[str, tuple[int, int]]:
    """rel -> (size, mtime_ns) of every file under ``folder`` (top-level folders ``skip_top`` left out):
    what a work-area sync compares to tell new or rewritten files."""
    import os

    out = {}
    for dirpath, dirs, names in os.walk(folder):
        if Path(dirpath) == Path(folder):
            dirs[:] = [d for d in dirs if d not in skip_top]
        for n in names:
            p = Path(dirpath) / n
            try:
                st = p.stat()
            except OSError:
                continue
            out[p.relative_to(folder).as_posix()] = (st.st_size, st.st_mtime_ns)
    return out


def is_meta_path(rel: str) -> bool:
    """True for a '/'-separated path relative to DIR that lies in zooprep's own folder."""
    return rel == META_DIR or rel.startswith(META_DIR + "/")
