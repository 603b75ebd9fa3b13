"""Work units that run where the output's mirror is not: Ray tasks writing to a remote ``--out``.

With ``--out URL`` the driver builds the output in a local mirror (``outdir/remote.py``). A Ray node
cannot see that folder (no shared file system), so with ``on_nodes`` each task runs on a
node-local scratch root instead:

1. the task's function and item are rebased from the mirror's root to the scratch root (every
   path under the mirror, e.g. ``config.out`` or a ``parts_dir``, names the same place under the
   scratch root), which is ``$ZOOPREP_CACHE/node-work/<sha16 of the URL>/<run id>`` on that node;
2. what the item says it reads from the work area (``item.work_inputs()``: paths or folders
   relative to ``.zooprep/work``) is pulled from ``URL/.zooprep/work`` once per node and run;
3. the function runs; every work file it created or changed is pushed to ``URL/.zooprep/work``
   (done-markers last) and removed from the scratch root;
4. the driver pulls exactly those files into its mirror before it hands the result on.

A node killed mid-task costs that task only: Ray runs it again elsewhere, and nothing reaches the
mirror before the task has pushed all of its files. Only the driver holds the output's lease and
commits; tasks only add objects under ``URL/.zooprep/work``.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import shutil
from pathlib import Path, PurePath
from typing import Callable, Iterable, Iterator

from corpusprep.outdir import layout


def on_nodes(executor, od):
    """``executor`` as is, or wrapped so its tasks run on node-local scratch roots: when it runs tasks
    on other machines (Ray) and ``od`` is a remote output (it has a ``url``)."""
    if getattr(executor, "name", "") != "ray" or not hasattr(od, "url") or isinstance(executor, NodeWork):
        return executor
    return NodeWork(executor, od)


def rebase(obj, old: str, new: str, depth: int = 0):
    """``obj`` with every path at or under ``old`` moved to ``new``: strings, paths, and such values
    inside tuples, lists, dicts, dataclasses and ``functools.partial`` (anything else as is)."""
    if depth > 8:
        return obj
    if isinstance(obj, str):
        return new + obj[len(old):] if obj == old or obj.startswith(old + os.sep) else obj
    if isinstance(obj, PurePath):
        moved = rebase(str(obj), old, new)
        return obj if moved is str(obj) else type(obj)(moved)
    if isinstance(obj, (list, tuple)) and type(obj) in (list, tuple):
        items = [rebase(v, old, new, depth + 1) for v in obj]
        return obj if all(a is b for a, b in zip(items, obj)) else type(obj)(items)
    if isinstance(obj, dict) and type(obj) is dict:
        items = {k: rebase(v, old, new, depth + 1) for k, v in obj.items()}
        return obj if all(items[k] is obj[k] for k in obj) else items
    if isinstance(obj, functools.partial):
        fn = rebase(obj.func, old, new, depth + 1)
        args = rebase(obj.args, old, new, depth + 1)
        kw = rebase(obj.keywords, old, new, depth + 1)
        if fn is obj.func and args is obj.args and kw is obj.keywords:
            return obj
        return functools.partial(fn, *args, **kw)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {}
        for f in dataclasses.fields(obj):
            if not f.init:
                continue
            value = getattr(obj, f.name)
            moved = rebase(value, old, new, depth + 1)
            if moved is not value:
                changes[f.name] = moved
        return dataclasses.replace(obj, **changes) if changes else obj
    return obj


def _markers_last(rel: str) -> tuple:
    """Done-markers after the files they name: a marker never arrives before its files."""
    return rel.endswith("done.json"), rel


_PULLED: set = set()  # (url, run id, work input) this worker process has pulled in full


def _test_crash(url: str, work: Path, changed: list[str]) -> None:
    """Tests kill a node's worker once, after it pushed part of its files: the file named by
    ZOOPREP_TEST_NODE_CRASH (in the node's environment) arms it and is consumed."""
    armed = os.environ.get("ZOOPREP_TEST_NODE_CRASH")
    if not armed or not changed:
        return
    try:
        os.unlink(armed)
    except OSError:
        return
    from corpusprep.outdir.remote import push_work

    push_work(url, work, [work / r for r in changed[: len(changed) // 2]])
    os._exit(1)


@dataclasses.dataclass(frozen=True)
class OnNode:
    """``fn`` run on a node-local scratch root (see the module docstring); returns (result, pushed rels)."""

    fn: Callable
    url: str  # the output's credential-free URL (credentials: the node's own, or the shipped storage options)
    mirror: str  # the driver's mirror root, as it appears in ``fn`` and the items
    run_id: str
    folders: tuple[str, ...] = ()  # the work area's folders on the driver, made on the node too

    def scratch(self) -> Path:
        from corpusprep.outdir.remote import _key16, cache_root

        base = cache_root() / "node-work" / _key16(self.url)
        here = base / self.run_id
        if not here.is_dir():  # one writer per URL: another run's scratch here is a killed run's leftover
            if base.is_dir():
                for old in base.iterdir():
                    if old.name != self.run_id:
                        shutil.rmtree(old, ignore_errors=True)
            here.mkdir(parents=True, exist_ok=True)
        return here

    def __call__(self, item):
        from corpusprep.outdir.remote import listing, pull_work, push_work
        from corpusprep.storage import join

        root = self.scratch()
        work = layout.work(root)
        for rel in self.folders:
            (work / rel).mkdir(parents=True, exist_ok=True)
        wants = getattr(item, "work_inputs", None)
        if wants is not None:
            base = join(self.url, layout.META_DIR, layout.WORK)
            todo = [w for w in wants() if (self.url, self.run_id, w) not in _PULLED]
            have = layout.file_stamps(work) if todo else {}
            for want in todo:  # work files do not change within a run: each is pulled once per process
                found = listing(join(base, want))
                rels = [f"{want}/{r}" for r in found] if found else [want]
                pull_work(self.url, work, sorted((r for r in rels if r not in have), key=_markers_last))
                _PULLED.add((self.url, self.run_id, want))
        before = layout.file_stamps(work)
        result = rebase(self.fn, self.mirror, str(root))(rebase(item, self.mirror, str(root)))
        after = layout.file_stamps(work)
        changed = sorted((r for r, sig in after.items() if before.get(r) != sig), key=_markers_last)
        _test_crash(self.url, work, changed)
        pushed = push_work(self.url, work, [work / r for r in changed])
        for rel in pushed:  # the driver has them now; pulled inputs stay for the node's next tasks
            (work / rel).unlink(missing_ok=True)
        return rebase(result, str(root), self.mirror), pushed


class NodeWork:
    """An executor whose tasks run ``OnNode``; the driver pulls each task's files into the mirror."""

    def __init__(self, executor, od):
        self.executor, self.od = executor, od
        self.name, self.workers = executor.name, executor.workers

    def map(self, fn: Callable, items: Iterable) -> Iterator:
        od = self.od
        od.sync_work()  # what the driver wrote (plan, near-dup mask) is on the URL before a task needs it
        work = Path(od.work)
        folders = tuple(sorted(p.name for p in work.iterdir() if p.is_dir()))
        task = OnNode(fn, od.url, os.path.abspath(od.root), od.run_id, folders)
        for result, rels in self.executor.map(task, items):
            od.pull_work(rels)
            yield result

    def close(self) -> None:
        self.executor.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
