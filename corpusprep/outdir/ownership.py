"""Who may write an output directory: the owner marker, the lock, and the input checks.

``OutputDir.open`` is the first thing every directory-writing command does:

1. refuse an ``--out`` that is, contains or lies inside an input (symlinks resolved);
2. an existing non-empty directory without our marker is refused;
3. take an exclusive OS lock (``fcntl.flock`` on ``.zooprep/lock``; a second run is told who holds it),
   then a new or empty directory gets the marker ``.zooprep/owner.json`` before any output or work
   file is written into it;
4. finish a swap that a killed run had started (``complete.roll_forward``).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from corpusprep.atomic import is_tmp_name, json_bytes, write_json
from corpusprep.errors import ZooprepError
from corpusprep.outdir import complete, layout, rerun as rerun_rule
from corpusprep.outdir.layout import new_run_id, read_owner  # noqa: F401 (re-exported)


def _real(path) -> str:
    from corpusprep import storage

    if storage.is_url(path):
        return storage.absolute(path).rstrip("/")
    return os.path.realpath(os.path.abspath(os.fspath(path)))


def _inside(child: str, parent: str) -> bool:
    return child != parent and child.startswith(parent.rstrip(os.sep) + os.sep)


def check_outside_inputs(out, inputs: Iterable, what: str = "--out") -> None:
    """Refuse an output path that is, contains or lies inside any input (after resolving symlinks)."""
    o = _real(out)
    for item in inputs:
        if item is None:
            continue
        i = _real(item)
        if o == i:
            raise ZooprepError(f"{out}: {what} is the input {item}; zooprep never writes over an input")
        if _inside(o, i):
            raise ZooprepError(f"{out}: {what} lies inside the input {item}; choose a path outside the inputs")
        if _inside(i, o):
            raise ZooprepError(f"{out}: {what} contains the input {item}; choose a path outside the inputs")


def _holder_line(lock_path: Path) -> str:
    try:
        h = json.loads(lock_path.read_text(encoding="utf-8"))
        return f"pid {h.get('pid')} on {h.get('host')}, `zooprep {h.get('command')}`, started {h.get('started')}"
    except (OSError, ValueError):
        return "holder unknown"


@dataclass
class OutputDir:
    """An output directory this process owns and holds the lock of (see the module docstring)."""

    root: Path
    command: str
    run_id: str
    lock_fd: int | None = None
    rolled_forward: dict | None = field(default=None)  # the complete.json a killed run's swap ended in
    rerun_record: dict | None = field(default=None)  # options + input identities, kept in complete.json

    # -- opening -----------------------------------------------------------------------------------
    @classmethod
    def open(cls, root, command: str, inputs: Iterable = (), *, overwrite: bool = False,
             rerun: bool = False, overwrite_option: str | None = "--overwrite",
             options: dict | None = None) -> "OutputDir":
        """Claim ``root`` for ``command``.

        ``options`` (flag -> value, ``rerun.cli_options``): the rerun rule (``outdir.rerun``) applies
        to a complete output: same options and inputs raise ``AlreadyComplete``, changed ones are
        refused unless ``overwrite``. Without ``options``: ``rerun`` lets a complete output of the same
        command be rebuilt; otherwise it is replaced only with ``overwrite``.
        A URL (``s3://...``) is opened as a ``remote.RemoteOutputDir`` (same interface, object-store protocol).
        """
        from corpusprep.storage import is_url

        if is_url(str(root)):
            from corpusprep.outdir.remote import RemoteOutputDir

            return RemoteOutputDir.open(str(root), command, inputs, overwrite=overwrite, rerun=rerun,
                                        overwrite_option=overwrite_option, options=options, local_cls=cls)
        root = Path(root)
        inputs = list(inputs)
        if root.is_symlink() and not root.exists():
            raise ZooprepError(f"{root}: --out is a dangling symlink")
        if root.exists() and not root.is_dir():
            raise ZooprepError(f"{root}: --out exists and is not a directory")
        check_outside_inputs(root, inputs)
        hint = f" (or pass {overwrite_option} to replace it)" if overwrite_option else ""
        root.mkdir(parents=True, exist_ok=True)
        cls._refuse_foreign(root)
        od = cls(root, command, new_run_id())
        od._lock()  # before the marker: of two runs starting at once, only the lock holder writes it
        try:
            owner = read_owner(root)
            if owner is None:
                cls._refuse_foreign(root)
                cls._write_owner(root, command, od.run_id)
            elif owner["command"] != command:
                if not overwrite:
                    raise ZooprepError(f"{root}: holds `zooprep {owner['command']}` output, not `{command}`; "
                                       f"choose another --out{hint}")
                cls._write_owner(root, command, od.run_id)  # replacing another command's output (--overwrite)
            for p in layout.meta(root).iterdir():  # temp files a killed run left in our own folder
                if is_tmp_name(p.name) and p.is_file():
                    p.unlink()
            od.rolled_forward = complete.roll_forward(root)
            done = complete.read_complete(root)
            if options is not None:
                od.rerun_record = rerun_rule.record(options, inputs)
            if done is not None and options is not None and not od.rolled_forward:
                damaged = complete.first_damaged(root, done)
                if damaged and not overwrite:
                    raise ZooprepError(f"{root}: the finished `zooprep {done.get('command')}` output lost or changed "
                                       f"{damaged} since it was written; pass --overwrite to rebuild it")
                if not damaged:
                    rerun_rule.decide(root, command, done.get(rerun_rule.RERUN_KEY), od.rerun_record, overwrite)
            elif done is not None and not (overwrite or rerun or od.rolled_forward):
                raise ZooprepError(f"{root}: holds a complete `zooprep {done.get('command')}` output; "
                                   f"choose another --out{hint}")
        except BaseException:
            od.close()
            raise
        return od

    @staticmethod
    def _refuse_foreign(root: Path) -> None:
        """A non-empty directory without our marker is someone else's: refuse it whole."""
        if read_owner(root) is not None:
            return
        others = sorted(p.name for p in root.iterdir() if p.name != layout.META_DIR)
        if others:
            raise ZooprepError(f"{root}: directory is not empty and was not created by zooprep (no "
                               f"{layout.META_DIR}/{layout.OWNER}; it holds e.g. {others[0]!r}); "
                               "choose a new or empty --out")

    @staticmethod
    def _write_owner(root: Path, command: str, run_id: str) -> None:
        from corpusprep import __version__

        write_json(layout.meta(root) / layout.OWNER,
                   {"zooprep": "output directory", "command": command, "run_id": run_id,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "zooprep_version": __version__})

    def _lock(self) -> None:
        import fcntl

        layout.meta(self.root).mkdir(exist_ok=True)
        path = layout.meta(self.root) / layout.LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ZooprepError(f"{self.root}: in use by another zooprep run ({_holder_line(path)}); "
                               "wait for it to end or stop it, then rerun") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json_bytes({"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                                  "run_id": self.run_id,
                                  "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}), 0)
        self.lock_fd = fd

    def close(self) -> None:
        """Release the lock (the lock file stays: it names the last writer)."""
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None

    def __enter__(self) -> "OutputDir":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- work area and staging ---------------------------------------------------------------------
    @property
    def work(self) -> Path:
        return layout.work(self.root)

    @property
    def stage(self) -> Path:
        return self.work / layout.STAGE

    def open_work(self, plan: dict) -> Path:
        """The work area, reused only if a killed run was building exactly ``plan``; else emptied.

        ``plan`` (options and anything else that changes outputs) is compared after a JSON round
        trip, so tuples and lists match. Per-unit input identity lives in the done-markers.
        """
        work = self.work
        plan = json.loads(json.dumps(plan, sort_keys=True))
        plan_file = work / "plan.json"
        if work.exists():
            try:
                same = json.loads(plan_file.read_text(encoding="utf-8")) == plan
            except (OSError, ValueError):
                same = False
            if not same:
                shutil.rmtree(work)  # inside our own marked folder: ours to remove
        work.mkdir(parents=True, exist_ok=True)
        if not plan_file.exists():
            write_json(plan_file, plan)
        self.stage.mkdir(exist_ok=True)
        return work

    def commit(self, last: Iterable[str] = (), plan: str | None = None, summary: dict | None = None) -> dict:
        """Swap the staged outputs into place and write complete.json (see ``complete.commit``)."""
        return complete.commit(self.root, self.command, self.run_id, list(last), plan, summary or {},
                               self.rerun_record)
