"""Outputs on object storage (``s3://``, ``gs://``, any fsspec URL): the promises of docs/FORMATS.md
section 6 without flock and without rename.

A run on ``--out URL`` happens in a local MIRROR (``$ZOOPREP_CACHE/outputs/<sha16 of the URL>``) with
the local machinery (``OutputDir``, stage, swap), so the data bytes are the local ones by
construction; ``commit`` then PUBLISHES the mirror's complete state to the URL. Objects under
``URL/.zooprep/``:

* ``lock.json``: the lease {pid, host, command, run_id, started, expires, lease_s}. Taken with a
  conditional create (S3 ``If-None-Match: *``), renewed by a heartbeat thread with ``If-Match`` on
  its ETag, deleted (``If-Match``) when the run ends. A second writer is refused naming the holder;
  a lease past ``expires`` (or held by a dead pid on this very host) is taken over with ``If-Match``
  on the stale ETag, so of two runs taking over at once only one wins. A writer that loses its lease
  stops before its next publish step.
* ``owner.json``: the marker, created (conditionally) before any other object; a non-empty prefix
  without it is someone else's and refused whole.
* ``written.json``: the journal {"files": {rel: {"sha256", "etag"}}}: the only objects zooprep may
  ever replace or delete (a stale one only while its ETag is still the one zooprep wrote).
* ``publishing.json``: the roll-forward record of a publish in progress (run id + file table).
* ``complete.json``: the same object as the mirror's, created LAST (conditional create). Readers
  trust only what it lists; it is deleted before the first object of a new publish is written.
* ``work/``: the remote work area (done-markers, unit files, plan.json), pushed by the heartbeat
  every ``$ZOOPREP_WORK_PUSH_S`` seconds (default 30) and when a run fails, pulled by a rerun whose
  mirror lacks it (another machine): finished units are reused there too. Removed after a publish.

Publish: publishing.json -> delete complete.json -> journal (old + new names, before any new name
appears) -> upload the files whose sha256/ETag changed (data first, top-level ``*.json`` last) ->
delete the previous run's objects the new one lacks (journal-listed, conditional on their ETag) ->
journal -> complete.json -> delete publishing.json and work/. A run killed anywhere in between
leaves no complete.json; the next run on the URL finishes the publish from its mirror (same
machine) or rebuilds (reusing the pushed work) and publishes again.

Work area contract (for executors whose tasks run on other machines, e.g. Ray without a shared
path): ``push_work(url, work_dir, paths)`` uploads files lying under the local ``work_dir`` to
``URL/.zooprep/work/<path relative to work_dir>``; ``pull_work(url, work_dir, rels=None)``
downloads those objects (all of them for None) to ``work_dir/<rel>`` through a temporary name
(never a partial file under the final name) and returns the local paths. Both take the
credential-free URL (``RemoteOutputDir.url``); the node's own environment or
``$ZOOPREP_STORAGE_OPTIONS`` supplies credentials. They hold no lease: only the driver, which holds
it, calls ``commit``. Done-markers are validated by their checksums after a pull, as always.

Reading: ``cached_output(URL)`` copies a complete remote output into
``$ZOOPREP_CACHE/objects/<sha16 of URL>/<complete.json checksum[:16]>/``, each file checked against
its sha256 in complete.json before it gets its final name; ``corpusprep.verify.verify_url`` re-hashes remote objects.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Iterable

from corpusprep import storage
from corpusprep.atomic import is_tmp_name, json_bytes, sha256_file, tmp_name, write_bytes
from corpusprep.errors import InputError, InputsFailed, ZooprepError
from corpusprep.outdir import complete, layout

LOCK = "lock.json"
PUBLISHING = "publishing.json"


# -- small helpers -----------------------------------------------------------------------------
def cache_root() -> Path:
    """``$ZOOPREP_CACHE``, else ``$XDG_CACHE_HOME/zooprep`` (``~/.cache/zooprep``)."""
    if os.environ.get("ZOOPREP_CACHE"):
        return Path(os.environ["ZOOPREP_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zooprep"


def _key16(url: str) -> str:
    return hashlib.sha256(storage.absolute(url).encode()).hexdigest()[:16]


def mirror_dir(url: str) -> Path:
    return cache_root() / "outputs" / _key16(url)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _test_hook(what: str = "") -> None:
    """Tests kill the process at the N-th remote write: ZOOPREP_TEST_KILL_AT_WRITE=N (and log each
    write, "N verb name", to ZOOPREP_TEST_WRITE_LOG to count them)."""
    log = os.environ.get("ZOOPREP_TEST_WRITE_LOG")
    at = os.environ.get("ZOOPREP_TEST_KILL_AT_WRITE")
    if not (log or at):
        return
    _test_hook.n = getattr(_test_hook, "n", 0) + 1
    if log:
        with open(log, "a") as fh:
            fh.write(f"{_test_hook.n} {what}\n")
    if at and _test_hook.n == int(at):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _meta(base: str, name: str) -> str:
    return storage.join(base, layout.META_DIR, name)


def _read_json(target: str) -> dict | None:
    try:
        obj = json.loads(storage.read_bytes(target).decode("utf-8"))
    except (ZooprepError, OSError, ValueError, UnicodeDecodeError):
        return None
    return obj if isinstance(obj, dict) else None


def _head(target: str) -> dict | None:
    """Fresh metadata of one object (no listing cache), None when absent."""
    try:
        fs, path = storage.filesystem(target)
        fs.invalidate_cache(path)
        return storage.info(target)
    except ZooprepError:
        return None


def listing(base: str) -> dict[str, dict]:
    """{rel: {"size", "etag"}} of every object under ``base`` (fresh, one recursive list)."""
    fs, path = storage.filesystem(base)
    path = path.rstrip("/")
    try:
        fs.invalidate_cache(path)
        found = fs.find(path, withdirs=False, detail=True)
    except FileNotFoundError:
        return {}
    except Exception as exc:  # noqa: BLE001 - one clear line
        raise storage.StorageError(f"{storage.display(base)}: cannot list ({storage.display(exc)})") from None
    out = {}
    for p, i in found.items():
        if p.startswith(path + "/") and i.get("type", "file") != "directory":
            out[p[len(path) + 1:]] = {"size": int(i.get("size") or 0),
                                      "etag": i.get("ETag") or i.get("etag") or i.get("md5Hash")}
    return out


def _put(local: Path, target: str) -> str | None:
    _test_hook("put " + storage.name(target))
    storage.put_file(str(local), target)
    i = _head(target)
    return i["etag"] if i else None


def _write(target: str, obj: dict) -> None:
    _test_hook("write " + storage.name(target))
    storage.write_bytes(target, json_bytes(obj))


def _delete(target: str, etag: str | None = None) -> bool:
    _test_hook("delete " + storage.name(target))
    return storage.delete(target, etag)


def _holder(h: dict | None) -> str:
    if not h:
        return "holder unknown"
    return (f"pid {h.get('pid')} on {h.get('host')}, `zooprep {h.get('command')}`, started {h.get('started')}, "
            f"lease until {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(float(h.get('expires') or 0)))}")


def _stale(h: dict | None) -> bool:
    """An unreadable lease, one past its expiry, or one held by a dead process on this host."""
    if not h or not isinstance(h.get("expires"), (int, float)):
        return True
    if time.time() > h["expires"]:
        return True
    if h.get("host") == socket.gethostname() and isinstance(h.get("pid"), int):
        try:
            os.kill(h["pid"], 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
    return False


# -- the work area -----------------------------------------------------------------------------
def push_work(url: str, work_dir, paths: Iterable) -> list[str]:
    """Upload files lying under ``work_dir`` to ``URL/.zooprep/work/<rel>``; returns the rels."""
    work_dir = Path(work_dir)
    done = []
    for p in paths:
        p = Path(p)
        rel = p.resolve().relative_to(work_dir.resolve()).as_posix()
        if is_tmp_name(p.name) or not p.is_file():
            continue
        _put(p, storage.join(url, layout.META_DIR, layout.WORK, rel))
        done.append(rel)
    return done


def pull_work(url: str, work_dir, rels: Iterable[str] | None = None) -> list[Path]:
    """Download ``URL/.zooprep/work/<rel>`` (every object there for None) to ``work_dir/<rel>``."""
    base = storage.join(url, layout.META_DIR, layout.WORK)
    if rels is None:
        rels = sorted(listing(base))
    out = []
    for rel in rels:
        if is_tmp_name(rel.rsplit("/", 1)[-1]) or ".." in rel.split("/"):
            continue
        local = Path(work_dir) / rel
        storage.get_file(storage.join(base, rel), str(local))
        out.append(local)
    return out


# -- the writer --------------------------------------------------------------------------------
class RemoteOutputDir:
    """OutputDir's interface (root = the local mirror, work, stage, open_work, commit, close) for a URL."""

    def __init__(self, target: str, command: str, run_id: str):
        self.target = target.rstrip("/")  # as given (may carry credentials): for access only
        self.url = storage.display(storage.absolute(target))  # recorded and printed
        self.command = command
        self.local = None  # the mirror's OutputDir (opened once the lease is held)
        self.run_id = run_id
        self.rolled_forward: dict | None = None
        self._lease_etag: str | None = None
        self._held = False
        self._lost: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pushed: dict[str, tuple] = {}  # work file -> (size, mtime_ns) the URL has
        self._sync = threading.Lock()  # one push of the work area at a time; commit waits for it
        self._committing = False
        self._published = False
        self.lease_s = float(os.environ.get("ZOOPREP_LEASE_S", "120"))
        self._started = _now()
        self.push_s = float(os.environ.get("ZOOPREP_WORK_PUSH_S", "30"))

    @property
    def root(self) -> Path:
        return self.local.root

    @property
    def work(self) -> Path:
        return self.local.work

    @property
    def stage(self) -> Path:
        return self.local.stage

    # -- opening -----------------------------------------------------------------------------------
    @classmethod
    def open(cls, target, command: str, inputs: Iterable = (), *, overwrite: bool = False, rerun: bool = False,
             overwrite_option: str | None = "--overwrite", options: dict | None = None,
             local_cls=None) -> "RemoteOutputDir":
        """``local_cls``: the local output-directory class the mirror is run with (``OutputDir``, which
        dispatches URLs here: passed in, so this module does not import it back)."""
        from corpusprep.outdir.layout import new_run_id

        target = str(target)
        clean = storage.absolute(target)
        for item in inputs:
            if item is None or not storage.is_url(str(item)):
                continue
            i = storage.absolute(str(item))
            if i == clean or storage.inside(clean, i) or storage.inside(i, clean):
                raise ZooprepError(f"{storage.display(clean)}: --out is, contains or lies inside the input "
                                   f"{storage.display(i)}; zooprep never writes over an input")
        hint = f" (or pass {overwrite_option} to replace it)" if overwrite_option else ""
        cls._refuse_foreign(target)
        od = cls(target, command, new_run_id())
        try:
            od._acquire()  # the lease first: a second writer is told who holds the URL
            mirror = mirror_dir(target)
            mirror.mkdir(parents=True, exist_ok=True)
            od.local = local_cls.open(mirror, command, (), overwrite=True, rerun=True, overwrite_option=None)
            od.local.run_id = od.run_id
            owner = _read_json(_meta(od.target, layout.OWNER))
            if owner is None or not isinstance(owner.get("command"), str):
                cls._refuse_foreign(target)
                _test_hook("create owner.json")
                storage.create_exclusive(_meta(od.target, layout.OWNER), json_bytes(od._owner()))
            elif owner["command"] != command:
                if not overwrite:
                    raise ZooprepError(f"{od.url}: holds `zooprep {owner['command']}` output, not `{command}`; "
                                       f"choose another --out{hint}")
                _write(_meta(od.target, layout.OWNER), od._owner())
            od.rolled_forward = od._roll_forward()
            done = read_remote_complete(od.target)
            if options is not None:  # the rerun rule (outdir.rerun), on the published complete.json
                from corpusprep.outdir import rerun as rerun_rule

                od.local.rerun_record = rerun_rule.record(options, inputs)
                if done is not None and not od.rolled_forward:
                    rerun_rule.decide(od.url, command, done.get(rerun_rule.RERUN_KEY), od.local.rerun_record,
                                      overwrite)
            elif done is not None and not (overwrite or rerun or od.rolled_forward):
                raise ZooprepError(f"{od.url}: holds a complete `zooprep {done.get('command')}` output; "
                                   f"choose another --out{hint}")
        except BaseException:
            od.close(failed=False)
            raise
        return od

    @staticmethod
    def _refuse_foreign(target: str) -> None:
        if _read_json(_meta(target, layout.OWNER)) is not None:
            return
        others = sorted(r for r in listing(target) if not layout.is_meta_path(r))
        if others:
            raise ZooprepError(f"{storage.display(storage.absolute(target))}: prefix is not empty and was not created "
                               f"by zooprep (no {layout.META_DIR}/{layout.OWNER}; it holds e.g. {others[0]!r}); "
                               "choose a new or empty --out")

    def _owner(self) -> dict:
        from corpusprep import __version__

        return {"zooprep": "output directory", "command": self.command, "run_id": self.run_id, "created": _now(),
                "zooprep_version": __version__, "url": self.url}

    # -- the lease -------------------------------------------------------------------------------
    def _lease(self) -> bytes:
        return json_bytes({"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                           "run_id": self.run_id, "started": self._started, "expires": time.time() + self.lease_s,
                           "lease_s": self.lease_s})

    def _acquire(self) -> None:
        lock = _meta(self.target, LOCK)
        _test_hook("create lock.json")
        cur = None
        for _ in range(3):  # the holder may release between our create and our look at it
            if storage.create_exclusive(lock, self._lease()):
                cur = None
                break
            cur = _head(lock)
            if cur is not None:
                break
        else:
            raise ZooprepError(f"{self.url}: could not take the lease {layout.META_DIR}/{LOCK} (it keeps "
                               "appearing and vanishing); rerun")
        if cur is not None:
            holder = _read_json(lock)
            if not _stale(holder):
                raise ZooprepError(f"{self.url}: in use by another zooprep run ({_holder(holder)}); wait for it to "
                                   "end or stop it, then rerun")
            if not storage.replace_if_match(lock, self._lease(), cur["etag"]):
                raise ZooprepError(f"{self.url}: another zooprep run took over the stale lease first "
                                   f"({_holder(_read_json(lock))}); wait for it to end, then rerun")
            print(f"zooprep: {self.url}: took over the stale lease of {_holder(holder)}", file=sys.stderr)
        i = _head(lock)
        self._lease_etag = i["etag"] if i else None  # None on stores without ETags (memory://, local fsspec)
        self._held = True
        self._thread = threading.Thread(target=self._heartbeat, name="zooprep-lease", daemon=True)
        self._thread.start()

    def _heartbeat(self) -> None:
        lock = _meta(self.target, LOCK)
        last_push = time.monotonic()
        while not self._stop.wait(min(self.lease_s / 3, self.push_s)):
            try:
                if self._held:
                    if not storage.replace_if_match(lock, self._lease(), self._lease_etag):
                        self._lost = f"lost the lease on {self.url} to {_holder(_read_json(lock))}"
                        return
                    i = _head(lock)
                    self._lease_etag = i["etag"] if i else None
                if time.monotonic() - last_push >= self.push_s:
                    self.sync_work()
                    last_push = time.monotonic()
            except Exception:  # noqa: BLE001 - a failed renewal is retried; expiry decides
                pass

    def _check_lease(self) -> None:
        if self._lost:
            raise ZooprepError(f"{self.url}: {self._lost}; this run stops (rerun to resume)")

    def close(self, failed: bool = False) -> None:
        """Stop the heartbeat, push the work area of a failed run, release the lease, drop a published mirror."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if failed and not self._lost:
            try:
                self.sync_work()
            except ZooprepError:
                pass
        if self._held and not self._lost:
            lock = _meta(self.target, LOCK)
            try:
                if self._lease_etag is not None:
                    _delete(lock, self._lease_etag)
                elif (_read_json(lock) or {}).get("run_id") == self.run_id:  # no ETags: compare, then delete
                    _delete(lock)
            except ZooprepError:
                pass
            self._held, self._lease_etag = False, None
        if self.local is not None:
            self.local.close()
            if self._published and not failed:
                shutil.rmtree(self.local.root, ignore_errors=True)  # the URL holds it now

    def __enter__(self) -> "RemoteOutputDir":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(failed=exc_type is not None)

    # -- work area -------------------------------------------------------------------------------
    def push_work(self, local_paths: Iterable) -> list[str]:
        self._check_lease()
        return push_work(self.target, self.work, local_paths)

    def pull_work(self, rel_paths: Iterable[str] | None = None) -> list[Path]:
        got = pull_work(self.target, self.work, rel_paths)
        for p in got:  # already on the URL: the heartbeat does not push them back
            st = p.stat()
            self._pushed[p.relative_to(self.work).as_posix()] = (st.st_size, st.st_mtime_ns)
        return got

    def sync_work(self) -> list[str]:
        """Push the work files created or changed since the last push (the stage excluded)."""
        with self._sync:
            if self._committing or self.local is None or not self.work.is_dir():
                return []
            return self._sync_work()

    def _sync_work(self) -> list[str]:
        changed = [(self.work / rel, rel, sig) for rel, sig in layout.file_stamps(self.work, (layout.STAGE,)).items()
                   if not is_tmp_name(rel.rsplit("/", 1)[-1]) and self._pushed.get(rel) != sig]
        # done-markers last: a marker never arrives before the files it names
        changed.sort(key=lambda c: c[1].endswith("done.json"))
        for p, rel, sig in changed:
            try:
                if self.push_work([p]):
                    self._pushed[rel] = sig
            except ZooprepError:  # vanished meanwhile (replaced by a newer file): the next push has it
                continue
        return [c[1] for c in changed]

    def open_work(self, plan: dict) -> Path:
        """The mirror's work area (pulled from the URL when this machine has none), reused only for ``plan``."""
        plan_file = self.work / "plan.json"
        remote_plan = _read_json(storage.join(self.target, layout.META_DIR, layout.WORK, "plan.json"))
        wanted = json.loads(json.dumps(plan, sort_keys=True))
        try:
            local_plan = json.loads(plan_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            local_plan = None
        if remote_plan is not None and remote_plan != wanted:
            self._drop_remote_work()  # another plan's units: never reused
        work = self.local.open_work(plan)
        if local_plan != wanted and remote_plan == wanted:  # this machine has none: the URL's finished units
            self.pull_work()
        if remote_plan != wanted:
            self.push_work([plan_file])
        return work

    def _drop_remote_work(self) -> None:
        base = storage.join(self.target, layout.META_DIR, layout.WORK)
        for rel in listing(base):
            _delete(storage.join(base, rel))

    # -- commit and publish ----------------------------------------------------------------------
    def commit(self, last: Iterable[str] = (), plan: str | None = None, summary: dict | None = None) -> dict:
        self._check_lease()
        with self._sync:  # no push of the work area from here on (it is about to be removed)
            self._committing = True
        done = self.local.commit(last, plan, summary)
        self._publish(done)
        return done

    def _roll_forward(self) -> dict | None:
        """Finish a publish a killed run had started, from this machine's mirror; None if there is none."""
        mine = complete.read_complete(self.root)
        if mine is None:
            return None
        pending = _read_json(_meta(self.target, PUBLISHING))
        there = read_remote_complete(self.target)
        if there is not None and there.get("run_id") == mine.get("run_id"):  # killed after the commit point
            if pending is not None:
                _delete(_meta(self.target, PUBLISHING))
            self._drop_remote_work()
            self._published = True
            return mine
        if (pending or {}).get("run_id") == mine.get("run_id") or (pending is None and there is None):
            if all((self.root / rel).is_file() for rel in mine["files"]):
                self._publish(mine)
                return mine
        return None

    def _publish(self, done: dict) -> None:
        base = self.target
        files = done["files"]
        journal = load_remote_journal(base)
        present = listing(base)
        for rel in files:
            if rel in present and rel not in journal:
                raise ZooprepError(f"{storage.join(self.url, rel)}: exists and was not written by zooprep; move it "
                                   "away, then rerun (the finished work is kept and reused)")
        _write(_meta(base, PUBLISHING), {"run_id": done["run_id"], "command": done["command"], "files": files})
        self._check_lease()
        _delete(_meta(base, layout.COMPLETE))
        merged = {**journal, **{rel: journal.get(rel, {"sha256": f["sha256"], "etag": None}) for rel, f in files.items()}}
        _write(_meta(base, layout.JOURNAL), {"files": dict(sorted(merged.items()))})
        order = sorted(files, key=lambda r: ("/" not in r and r.endswith(".json"), r))
        new: dict[str, dict] = {}
        for rel in order:
            self._check_lease()
            sha, old = files[rel]["sha256"], journal.get(rel) or {}
            here = present.get(rel)
            if here is not None and old.get("sha256") == sha and old.get("etag") and here["etag"] == old["etag"]:
                new[rel] = old  # unchanged since zooprep wrote it: no upload
                continue
            new[rel] = {"sha256": sha, "etag": _put(self.root / rel, storage.join(base, rel))}
        for rel, rec in journal.items():  # the previous run's objects the new one lacks
            if rel in files or layout.is_meta_path(rel) or rel not in present:
                continue
            if rec.get("etag") and present[rel]["etag"] == rec["etag"]:
                _delete(storage.join(base, rel), rec["etag"])
            elif not rec.get("etag") and storage.sha256(storage.join(base, rel)) == rec.get("sha256"):
                _delete(storage.join(base, rel))  # a store without ETags: only while the bytes are ours
        _write(_meta(base, layout.JOURNAL), {"files": dict(sorted(new.items()))})
        self._check_lease()
        _test_hook("create complete.json")
        if not storage.create_exclusive(_meta(base, layout.COMPLETE), json_bytes(done)):
            _delete(_meta(base, layout.COMPLETE))
            storage.create_exclusive(_meta(base, layout.COMPLETE), json_bytes(done))
        _delete(_meta(base, PUBLISHING))
        self._drop_remote_work()
        self._published = True


# -- readers -----------------------------------------------------------------------------------
def read_remote_complete(target: str) -> dict | None:
    """URL/.zooprep/complete.json when present and intact, else None (``complete.read_complete_url``)."""
    return complete.read_complete_url(target)


def load_remote_journal(target: str) -> dict[str, dict]:
    obj = _read_json(_meta(target, layout.JOURNAL)) or {}
    files = obj.get("files") if isinstance(obj.get("files"), dict) else {}
    return {str(k): (v if isinstance(v, dict) else {"sha256": str(v), "etag": None}) for k, v in files.items()}


def _download_checked(src: str, dst: Path, sha: str | None) -> None:
    """``src`` to ``dst`` through a temporary name, renamed only when its sha256 is ``sha``."""
    tmp = tmp_name(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        fs, path = storage.filesystem(src)
        fs.get_file(path, str(tmp))
        if sha is not None and sha256_file(tmp) != sha:
            raise InputError(storage.display(src), "does not have the sha256 its complete.json records (altered "
                                                   f"since zooprep wrote it); see `zooprep verify {storage.display(storage.parent(src))}`")
        os.replace(tmp, dst)
    except ZooprepError:
        tmp.unlink(missing_ok=True)
        raise
    except Exception as exc:  # noqa: BLE001
        tmp.unlink(missing_ok=True)
        raise storage.StorageError(f"{storage.display(src)}: download failed ({storage.display(exc)})") from None


def cached_output(target: str, command: str | None = "shard") -> Path:
    """A local, verified copy of a remote output directory (see the module docstring)."""
    target = str(target).rstrip("/")
    done = complete.require_complete_url(target, command, fresh=True)
    if done is None:  # a plain remote folder (no zooprep marker): its objects as they are, keyed by their ETags
        files = {rel: {"sha256": None, "bytes": i["size"], "etag": i["etag"]} for rel, i in listing(target).items()}
        if not files:
            raise InputError(storage.display(target), "no such output (nothing under this prefix)")
        version = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    else:
        files, version = done["files"], done["checksum"][:16]
    folder = cache_root() / "objects" / _key16(target) / version
    for rel, f in sorted(files.items()):
        local = folder / rel
        if local.is_file() and local.stat().st_size == f.get("bytes"):
            continue  # only ever renamed into place after its checksum held
        _download_checked(storage.join(target, rel), local, f.get("sha256"))
    if done is not None:  # the markers local readers check (require_complete), written last
        meta = layout.meta(folder)
        meta.mkdir(parents=True, exist_ok=True)
        owner = _read_json(_meta(target, layout.OWNER)) or {"command": done["command"]}
        write_bytes(meta / layout.OWNER, json_bytes(owner))
        write_bytes(meta / layout.COMPLETE, json_bytes(done))
    return folder


def readable(directory, command: str | None = "shard"):
    """What a reading command opens: a local path as given, a URL as its verified local copy."""
    if storage.is_url(str(directory)):
        return cached_output(str(directory), command)
    return directory


# -- single-file outputs -----------------------------------------------------------------------
class RemoteFiles:
    """File outputs at URLs (build-vocab, build-spm, export): the command writes them, card last,
    into a local folder (``local``); ``publish`` uploads a PENDING card (``CARD.pending``: the
    checksums about to appear), then the outputs, then the card, then deletes the pending one. An
    existing remote output is replaced only when the card (or a pending card a killed upload left)
    of the same command names it with the sha256 it still has (streamed)."""

    PENDING = ".pending"

    def __init__(self, command: str, outputs: Iterable[str], card: str, inputs: Iterable = (), option: str = "--out"):
        self.command, self.option = command, option
        self.outputs = [str(o) for o in outputs]
        self.card = str(card)
        self.inputs = [str(i) for i in inputs if i is not None]
        for t in [*self.outputs, self.card]:
            if not storage.is_url(t):
                raise ZooprepError(f"{t}: must be a URL like {option} ({storage.display(self.outputs[0])})")
            if storage.parent(storage.absolute(t)) != storage.parent(storage.absolute(self.card)):
                raise ZooprepError(f"{storage.display(t)}: a URL output and its card must lie in one folder "
                                   f"({storage.display(storage.parent(self.card))})")
        self.remote_folder = storage.parent(self.card)
        self.folder = cache_root() / "outputs" / _key16(self.card)

    def local(self, target) -> Path:
        return self.folder / storage.name(str(target))

    def _card(self, target: str) -> dict | None:
        obj = _read_json(target)
        if obj is None or obj.get("zooprep_command") != self.command or not isinstance(obj.get("zooprep_outputs"), dict):
            return None
        return obj["zooprep_outputs"]

    def check(self) -> None:
        """Before any work (see the class docstring); also empties the local folder."""
        for t in [*self.outputs, self.card]:
            a = storage.absolute(t)
            for i in self.inputs:
                i = storage.absolute(i) if storage.is_url(i) else None
                if i and (i == a or storage.inside(a, i) or storage.inside(i, a)):
                    raise ZooprepError(f"{storage.display(a)}: {self.option} is, contains or lies inside the input "
                                       f"{storage.display(i)}; "
                                       "zooprep never writes over an input")
            folder = storage.parent(a)
            while storage.inside(folder, storage.protocol(a) + "://") and folder.count("/") >= 2:
                owner = _read_json(_meta(folder, layout.OWNER))
                if owner is not None:
                    raise ZooprepError(f"{storage.display(a)}: {self.option} lies inside the `zooprep "
                                       f"{owner.get('command')}` output {storage.display(folder)}; choose a path "
                                       "outside it")
                up = storage.parent(folder)
                if up == folder:
                    break
                folder = up
        card_there = _head(self.card) is not None
        recorded = [r for r in (self._card(self.card), self._card(self.card + self.PENDING)) if r is not None]
        if card_there and self._card(self.card) is None:
            raise ZooprepError(f"{storage.display(self.card)}: exists and is not a `zooprep {self.command}` card; "
                               f"move it away or choose another {self.option}")
        for t in self.outputs:
            if _head(t) is None:
                continue
            name = storage.name(t)
            shas = {r.get(name) for r in recorded} - {None}
            if not shas:
                raise ZooprepError(f"{storage.display(t)}: exists and was not written by `zooprep {self.command}` "
                                   f"(no card {storage.display(self.card)} naming it); move it away or choose "
                                   f"another {self.option}")
            if storage.sha256(t) not in shas:
                raise ZooprepError(f"{storage.display(t)}: changed since `zooprep {self.command}` wrote it; move it "
                                   f"away or choose another {self.option}")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)

    def fix_text(self, text: str) -> str:
        """Local folder names in a card or message -> the remote folder (credential-free)."""
        return text.replace(str(self.folder), storage.display(storage.absolute(self.remote_folder)))

    def fix(self, obj):
        return json.loads(self.fix_text(json.dumps(obj, ensure_ascii=False)))

    def publish(self) -> dict:
        """Upload the outputs the command wrote locally, the card last; returns the card as uploaded."""
        card = self.fix(json.loads(self.local(self.card).read_text(encoding="utf-8")))
        data = json_bytes(card)
        _test_hook("write " + storage.name(self.card + self.PENDING))
        storage.write_bytes(self.card + self.PENDING, data)
        for t in self.outputs:
            _put(self.local(t), t)
        _test_hook("write " + storage.name(self.card))
        storage.write_bytes(self.card, data)
        _delete(self.card + self.PENDING)
        shutil.rmtree(self.folder, ignore_errors=True)
        return card

    def run(self, fn):
        """``fn()`` (the command on local paths), then publish, also when it ends by exit 3 after writing
        its card (``--on-error continue`` with failed inputs); returns fn's result."""
        try:
            result = fn()
        except SystemExit:
            if self.local(self.card).is_file():
                self.publish()
            raise
        except InputsFailed as exc:  # exit 3: the outputs stand, the exit code tells
            if self.local(self.card).is_file():
                self.publish()
            raise InputsFailed(exc.count, self.fix_text(exc.where)) from None
        self.publish()
        return result
