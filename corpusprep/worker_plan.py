"""How many local worker processes a run is worth, and how they start cheaply.

A worker process is not free: a spawned interpreter re-imports numpy, pyarrow and our modules (about
0.6-0.7 CPU-s on the development machine) before it does any work. Two rules keep that cost small:

* ``plan_workers``: a run whose work units carry byte sizes gets at most one worker per
  ``MIN_BYTES_PER_WORKER`` of input (and never more workers than units); below that it runs in-process,
  because the workers' start-up would cost more than they save.
* ``pool_context``: workers fork from a *forkserver* that has imported the expensive modules once, so each
  worker (and each replacement after ``max_tasks_per_child``) starts in milliseconds instead of re-importing.
  The server is a fresh single-purpose process, not a fork of the caller, so the caller's threads (pyarrow,
  torch) are never forked. Where forkserver does not exist (Windows) workers are spawned as before.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence

# A pool costs about 1 CPU-s once (the forkserver's imports, the resource tracker) plus ~0.1 CPU-s per worker
# (measured, benchmarks/results/fastpath.md), against ~20 MB per CPU-s of shard work: below ~16 MiB per worker
# a second worker saves less wall time than the pool costs. ZOOPREP_MIN_MB_PER_WORKER overrides it (0: never
# use fewer workers than asked).
MIN_BYTES_PER_WORKER = 16 << 20
_PRELOAD = ("__main__", "numpy", "pyarrow")  # __main__: the command-line script, imported once


def min_bytes_per_worker() -> int:
    env = os.environ.get("ZOOPREP_MIN_MB_PER_WORKER")
    if env is None:
        return MIN_BYTES_PER_WORKER
    try:
        return max(0, int(float(env) * (1 << 20)))
    except ValueError:
        from corpusprep.errors import ZooprepError

        raise ZooprepError(f"ZOOPREP_MIN_MB_PER_WORKER must be a number of MB, not {env!r}") from None


def plan_workers(requested: int, items) -> int:
    """Worker processes to use for ``items``: ``requested``, fewer for small sized inputs (1 = in-process).

    Only sequences whose items all have an integer ``size`` (work units) are judged; anything else keeps
    ``requested`` (capped by the number of items when that is known).
    """
    if requested <= 1 or not isinstance(items, Sequence):
        return max(1, requested)
    workers = min(requested, max(1, len(items)))
    sizes = [getattr(item, "size", None) for item in items]
    if workers > 1 and sizes and all(isinstance(s, int) for s in sizes):
        floor = min_bytes_per_worker()
        if floor > 0:
            workers = min(workers, max(1, sum(sizes) // floor))
    return workers


def pool_context(fn: Callable | None = None):
    """The multiprocessing context for a local worker pool (forkserver with preloaded imports, else spawn)."""
    import multiprocessing as mp  # here, not at import: one-worker runs never load it
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    preload = list(_PRELOAD)  # the server skips modules that fail to import
    module = getattr(getattr(fn, "func", fn), "__module__", None)  # functools.partial or a function
    if module and module != "__main__":
        preload.append(module)
    ctx.set_forkserver_preload(preload)  # takes effect when the server starts (once per parent process)
    return ctx
