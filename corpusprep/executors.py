"""Swappable executors: run a pure function over work units, yielding results in input order.

Results come back in the order of ``items`` whatever the worker count, which is what makes
outputs byte-identical between 1 and N workers. In-flight work is bounded (``window``), so memory
does not grow with the number of units.
"""
from __future__ import annotations

import os
import sys
from collections import deque
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Protocol, TypeVar

from corpusprep.task_calls import (call_configured, call_portably, in_order, portable_error,  # noqa: F401
                                   take_options)  # shared with the Ray executor (re-exported)

if TYPE_CHECKING:  # the pool (multiprocessing) is imported when a run starts one: not for one worker
    from concurrent.futures import ProcessPoolExecutor

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    name: str
    workers: int

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]: ...

    def close(self) -> None: ...


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def worker_init(run_pid: int, options: dict | None = None) -> None:
    """Initializer of a local worker process: die with the run, use its storage options."""
    from corpusprep.lifecycle import die_with_parent

    die_with_parent(run_pid)
    take_options(options)


# Worker processes are replaced after this many units. Long-lived workers slowly accumulate memory
# (allocator high-water marks, per-process caches): measured, a shard worker grew 153 -> 187 MB
# from 16 to 64 units of the same size, and stayed at 153 MB when recycled every 8. A respawn
# costs about a second of imports, small next to 16 units of work.
TASKS_PER_CHILD = 16


class LocalExecutor:
    """Processes on this machine. ``workers=1`` runs in-process (no pickling, easy debugging).

    Workers die with the run (``lifecycle.die_with_parent``), and ``close()`` with work still in
    flight (after an error, Ctrl-C or SIGTERM) stops them at once instead of waiting for units
    whose results nobody will read.
    """

    name = "local"

    def __init__(self, workers: int | None = None, window: int | None = None,
                 tasks_per_child: int | None = TASKS_PER_CHILD):
        self.workers = workers or default_workers()
        self.window = window or 2 * self.workers
        self.tasks_per_child = tasks_per_child
        self._pool: ProcessPoolExecutor | None = None
        self._in_flight: set = set()  # futures submitted and not finished (done callbacks remove them)

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        from corpusprep.worker_plan import plan_workers, pool_context  # small runs stay in-process

        workers = plan_workers(self.workers, items)
        if workers == 1:
            for item in items:
                yield fn(item)
            return
        if self._pool is None:
            self._pool = self._start_pool(workers, pool_context(fn))
        pending: deque = deque()
        try:
            yield from in_order(lambda item: self._submit(fn, item), lambda f: f.result(), items, self.window, pending)
        finally:
            for future in pending:  # a failed or abandoned map: drop its queued units
                future.cancel()

    def _start_pool(self, workers: int, context) -> ProcessPoolExecutor:
        from concurrent.futures import ProcessPoolExecutor

        from corpusprep.storage import current_options

        # forkserver (else spawn), not fork: pyarrow/torch keep threads that a fork can deadlock on.
        recycle = {}
        if self.tasks_per_child and sys.version_info >= (3, 11):  # max_tasks_per_child is 3.11+
            recycle["max_tasks_per_child"] = self.tasks_per_child
        # A forkserver child starts from a fresh interpreter: it gets the storage options explicitly.
        return ProcessPoolExecutor(workers, mp_context=context, initializer=worker_init,
                                   initargs=(os.getpid(), current_options()), **recycle)

    def _submit(self, fn, item):
        future = self._pool.submit(call_portably, fn, item)
        self._in_flight.add(future)
        future.add_done_callback(self._in_flight.discard)
        return future

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if any(not f.done() for f in list(self._in_flight)):  # list(): done callbacks run in another thread
            _kill_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)
        self._in_flight.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's workers now; the pool then fails whatever they were running (nobody reads it)."""
    if hasattr(pool, "kill_workers"):  # Python 3.14+
        pool.kill_workers()
        return
    for process in list((pool._processes or {}).values()):  # no public way before 3.14
        process.kill()


def make_executor(name: str = "local", workers: int | None = None, ray_address: str | None = None) -> Executor:
    """Build the executor a command's ``--executor`` names."""
    if name == "local":
        return LocalExecutor(workers)
    if name == "ray":
        from corpusprep.ray_executor import RayExecutor  # optional extra

        return RayExecutor(workers, address=ray_address)
    from corpusprep.errors import ZooprepError

    raise ZooprepError(f"unknown --executor {name!r}; choose 'local' or 'ray'")
