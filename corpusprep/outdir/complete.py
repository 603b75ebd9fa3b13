"""The one "complete" state of an output directory, and the swap that reaches it.

A run builds every output under ``.zooprep/work/stage/`` (laid out as in DIR). ``commit``:

1. checks that no staged name would replace a file zooprep did not write (the journal says which);
2. writes ``work/ready.json`` (the staged set with checksums): from here on the swap only rolls forward;
3. removes ``complete.json``, then the previous metadata files (``last``), moves the staged files in
   (``last`` at the end), removes the previous run's files that the new one does not have (only
   files the journal lists, and only while their checksum is still the one zooprep wrote);
4. writes ``complete.json`` (atomically, last), then removes the work area.

The previous complete state is therefore kept until the new one is fully built; a run killed during
the swap is finished by the next run on the directory (``roll_forward``) before anything else.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from corpusprep.atomic import is_tmp_name, json_bytes, sha256_file, write_json
from corpusprep.errors import InputError, ZooprepError
from corpusprep.outdir import layout
from corpusprep.outdir.layout import RERUN_KEY, read_owner  # noqa: F401 (RERUN_KEY re-exported)

COMPLETE = layout.COMPLETE


def _self_checksum(obj: dict) -> str:
    body = {k: v for k, v in obj.items() if k != "checksum"}
    return hashlib.sha256(json_bytes(body, None)).hexdigest()


def read_complete(root) -> dict | None:
    """complete.json when present and intact (its own checksum holds), else None."""
    try:
        obj = json.loads((layout.meta(root) / COMPLETE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("files"), dict):
        return None
    return obj if obj.get("checksum") == _self_checksum(obj) else None


def load_journal(root) -> dict[str, str]:
    try:
        obj = json.loads((layout.meta(root) / layout.JOURNAL).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in obj.get("files", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def save_journal(root, files: dict[str, str]) -> None:
    write_json(layout.meta(root) / layout.JOURNAL, {"files": dict(sorted(files.items()))})


def _staged_files(stage: Path) -> list[str]:
    """The staged outputs; temporary files a killed writer left in the stage are removed (ours)."""
    out = []
    for dirpath, dirs, names in os.walk(stage):
        dirs.sort()
        for name in names:
            path = Path(dirpath) / name
            if is_tmp_name(name):
                path.unlink()
                continue
            out.append(path.relative_to(stage).as_posix())
    return sorted(out)


def commit(root: Path, command: str, run_id: str, last: list[str], plan: str | None, summary: dict,
           rerun: dict | None = None) -> dict:
    stage = layout.work(root) / layout.STAGE
    names = _staged_files(stage)
    journal = load_journal(root)
    for rel in names:
        target = root / rel
        if (target.exists() or target.is_symlink()) and rel not in journal:
            raise ZooprepError(f"{target}: exists and was not written by zooprep; move it away, then rerun "
                               "(the finished work is kept and reused)")
    files = {rel: {"sha256": sha256_file(stage / rel), "bytes": (stage / rel).stat().st_size} for rel in names}
    ready = {"command": command, "run_id": run_id, "plan": plan, "summary": summary, "files": files,
             "last": [n for n in last if n in files]}
    if rerun is not None:
        ready[RERUN_KEY] = rerun
    write_json(layout.work(root) / layout.READY, ready)
    return _swap(root, ready)


def _swap(root: Path, ready: dict) -> dict:
    meta, stage = layout.meta(root), layout.work(root) / layout.STAGE
    (meta / COMPLETE).unlink(missing_ok=True)
    journal = load_journal(root)
    new = {rel: f["sha256"] for rel, f in ready["files"].items()}
    save_journal(root, {**journal, **new})  # before a new name appears in DIR
    for rel in ready["last"]:  # old metadata first: nothing half-swapped looks loadable
        if rel in journal and (stage / rel).exists():
            (root / rel).unlink(missing_ok=True)
    order = [r for r in sorted(new) if r not in ready["last"]] + list(ready["last"])
    for rel in order:
        src, dst = stage / rel, root / rel
        if src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
        elif not dst.is_file():
            raise ZooprepError(f"{dst}: staged output vanished during the swap; rerun to rebuild it")
    for rel, sha in journal.items():  # the previous run's outputs the new one does not have
        if rel in new or layout.is_meta_path(rel):
            continue
        path = root / rel
        if path.is_file() and not path.is_symlink() and sha256_file(path) == sha:
            path.unlink()
            _remove_empty_parents(root, path.parent)
    done = {"zooprep": "complete", "command": ready["command"], "run_id": ready["run_id"], "plan": ready["plan"],
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "summary": ready.get("summary", {}),
            "files": ready["files"]}
    if RERUN_KEY in ready:
        done[RERUN_KEY] = ready[RERUN_KEY]  # the rerun rule's record (outdir.rerun): options + input identities
    done["checksum"] = _self_checksum(done)
    save_journal(root, new)
    write_json(meta / COMPLETE, done)  # the last commit of every run
    shutil.rmtree(layout.work(root), ignore_errors=True)
    return done


def _remove_empty_parents(root: Path, folder: Path) -> None:
    root = root.resolve()
    while folder.resolve() != root and root in folder.resolve().parents:
        try:
            folder.rmdir()  # only when empty: never a folder holding anything else
        except OSError:
            return
        folder = folder.parent


def roll_forward(root: Path) -> dict | None:
    """Finish a swap a killed run had started (ready.json present); returns the new complete.json."""
    root = Path(root)
    marker = layout.work(root) / layout.READY
    try:
        ready = json.loads(marker.read_text(encoding="utf-8"))
        files = ready["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    stage = layout.work(root) / layout.STAGE
    for rel, f in files.items():  # every file must still be in the stage or already moved in
        here = stage / rel if (stage / rel).is_file() else root / rel
        if not here.is_file() or here.stat().st_size != f.get("bytes"):
            marker.unlink()  # cannot be finished: the run rebuilds what is missing instead
            return None
    return _swap(root, ready)


def first_damaged(root, done: dict) -> str | None:
    """The first file a complete.json lists that is missing or has another size, else None."""
    for rel, f in sorted(done["files"].items()):
        path = Path(root) / rel
        if not path.is_file() or path.stat().st_size != f.get("bytes"):
            return rel
    return None


# -- readers -----------------------------------------------------------------------------------
def _resume_hint(owner: dict) -> str:
    return f"rerun the same `zooprep {owner.get('command')}` command to resume it"


def require_complete(root, command: str | None = None) -> dict | None:
    """The complete.json of a zooprep output directory a command is about to read.

    None for a directory without our marker (a user's own files: read as they are). A marked one
    must be complete, of the expected command, and hold every listed file at its recorded size;
    otherwise InputError says what is missing and how to resume.
    """
    from corpusprep.storage import is_url

    if is_url(str(root)):
        return require_complete_url(str(root), command, fresh=True)
    root = Path(root)
    owner = read_owner(root)
    if owner is None:
        return None
    done = read_complete(root)
    if done is None:
        state = "was interrupted or is still running" if (layout.work(root)).exists() else "is incomplete"
        present = (layout.meta(root) / COMPLETE).exists()
        why = f"{layout.META_DIR}/{COMPLETE} is damaged" if present else f"no {layout.META_DIR}/{COMPLETE}"
        raise InputError(str(root), f"unfinished `zooprep {owner['command']}` output ({why}: the run {state}); "
                                    + _resume_hint(owner))
    if command is not None and done.get("command") != command:
        raise InputError(str(root), f"holds `zooprep {done.get('command')}` output, not `zooprep {command}` output")
    for rel, f in sorted(done["files"].items()):
        path = root / rel
        if not path.is_file():
            raise InputError(str(path), f"missing from the complete `zooprep {done['command']}` output "
                                        f"(see `zooprep verify {root}`); {_resume_hint(owner)}")
        if path.stat().st_size != f.get("bytes"):
            raise InputError(str(path), f"changed since `zooprep {done['command']}` wrote it "
                                        f"({path.stat().st_size} bytes, recorded {f.get('bytes')}); "
                                        f"see `zooprep verify {root}`")
    return done


def require_complete_input(path) -> None:
    """For a corpus argument: a directory, or a file inside one, must not be an unfinished zooprep output."""
    from corpusprep import storage

    if storage.is_url(path):
        for folder in dict.fromkeys([str(path), storage.parent(str(path))]):
            if require_complete_url(folder) is not None:
                return
        return
    p = Path(path)
    for folder in ([p] if p.is_dir() else []) + [p.parent]:
        if (layout.meta(folder)).is_dir():
            require_complete(folder)
            return


def require_recorded(files) -> None:
    """Corpus files found inside a zooprep output must be among the files its complete state records
    (a file added there by hand is not that command's output)."""
    from corpusprep import storage

    checked: dict[Path, dict | None] = {}
    for f in files:
        if storage.is_url(f):
            _require_recorded_url(str(f))
            continue
        f = Path(f)
        for folder in f.parents:
            if folder not in checked:
                checked[folder] = require_complete(folder) if layout.meta(folder).is_dir() else None
            done = checked[folder]
            if done is not None:
                rel = f.relative_to(folder).as_posix()
                if rel not in done["files"]:
                    raise InputError(str(f), f"not part of the `zooprep {done.get('command')}` output {folder} (not "
                                             f"in {layout.META_DIR}/{COMPLETE}); move it out of that directory")
                break


# -- the same checks for an output directory given as a URL (read through corpusprep.storage) ------
def _remote_marked(url: str) -> bool:
    """Whether ``url`` holds a zooprep output's ``.zooprep/`` folder (any object under it)."""
    from corpusprep import storage

    meta = storage.join(url, layout.META_DIR)
    try:
        return bool(storage.isdir(meta) and storage.list_files(meta))
    except ZooprepError:
        return False


def read_complete_url(url: str) -> dict | None:
    """``read_complete`` of a remote output directory: its complete.json when present and intact."""
    from corpusprep import storage

    try:
        obj = json.loads(storage.read_bytes(storage.join(url, layout.META_DIR, COMPLETE)).decode("utf-8"))
    except (ZooprepError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("files"), dict):
        return None
    return obj if obj.get("checksum") == _self_checksum(obj) else None


_REMOTE_CHECKED: dict[str, dict | None] = {}


def require_complete_url(url: str, command: str | None = None, fresh: bool = False) -> dict | None:
    """``require_complete`` for a URL: None for a prefix without ``.zooprep/`` (the user's own
    objects); a zooprep output must be complete (``.zooprep/complete.json`` intact), of the
    expected command, with every listed object present at its recorded size.

    Answers are kept for the process (planning asks once per object's folder); ``fresh`` asks the
    store again, as a reader opening an output must (it may have been published since)."""
    from corpusprep import storage

    url = storage.absolute(url).rstrip("/")
    if fresh or url not in _REMOTE_CHECKED:
        _REMOTE_CHECKED[url] = _check_remote(url) if _remote_marked(url) else None
    done = _REMOTE_CHECKED[url]
    if done is not None and command is not None and done.get("command") != command:
        raise InputError(url, f"holds `zooprep {done.get('command')}` output, not `zooprep {command}` output")
    return done


def _check_remote(url: str) -> dict:
    from corpusprep import storage

    done = read_complete_url(url)
    if done is None:
        raise InputError(url, f"unfinished zooprep output (no intact {layout.META_DIR}/{COMPLETE}: the run was "
                              "interrupted or is still running); rerun the command that writes it to resume")
    hint = f"see `zooprep verify {url}`"
    for rel, f in sorted(done["files"].items()):
        target = storage.join(url, rel)
        try:
            size = storage.info(target)["size"]
        except ZooprepError:
            raise InputError(target, f"missing from the complete `zooprep {done.get('command')}` output ({hint})") from None
        if size != f.get("bytes"):
            raise InputError(target, f"changed since `zooprep {done.get('command')}` wrote it ({size} bytes, "
                                     f"recorded {f.get('bytes')}); {hint}")
    return done


def _require_recorded_url(f: str) -> None:
    from corpusprep import storage

    folder = storage.parent(f)
    while "/" in folder.split("://", 1)[1]:
        done = require_complete_url(folder)
        if done is not None:
            rel = f[len(storage.absolute(folder).rstrip("/")) + 1:]
            if rel not in done["files"]:
                raise InputError(f, f"not part of the `zooprep {done.get('command')}` output {folder} (not in "
                                    f"{layout.META_DIR}/{COMPLETE}); move it out of that prefix")
            return
        folder = storage.parent(folder)
def input_versions(files) -> dict[str, str | None]:
    """The complete.json checksum of every zooprep output directory that holds one of ``files``: taken
    before reading, compared by ``check_versions`` after (a rerun replacing the input meanwhile)."""
    versions: dict[str, str | None] = {}
    for f in files:
        for folder in Path(f).parents:
            if layout.meta(folder).is_dir():
                if str(folder) not in versions:
                    done = read_complete(folder)
                    versions[str(folder)] = done.get("checksum") if done else None
                break
    return versions


def check_versions(versions: dict[str, str | None]) -> None:
    """Fail when an input output directory was rewritten while this run read it (a mix of two runs)."""
    for folder, checksum in versions.items():
        done = read_complete(folder)
        if (done.get("checksum") if done else None) != checksum:
            raise InputError(folder, "was rewritten by another zooprep run while this run read it (the data "
                                     "read may mix the two); rerun when it has finished")
