"""How every executor calls a work unit and orders the results (the local pool and Ray alike).

A unit's exception comes back in a form the driver can unpickle; a worker first takes the driver's
storage options; results are yielded in the order of the items with a bounded window in flight.
"""
from __future__ import annotations

from collections import deque
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def portable_error(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else an equivalent that does (same message).

    A worker's exception travels back to the parent pickled; a class whose ``__init__`` does not
    accept its own ``args`` (e.g. one with extra required arguments) fails to unpickle there, and the
    user would see a broken pool instead of the clear error the worker raised.
    """
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        from corpusprep.errors import ZooprepError

        if isinstance(exc, ZooprepError):
            return ZooprepError(str(exc))
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def call_portably(fn: Callable[[T], R], item: T) -> R:
    """Run ``fn(item)`` in a worker; re-raise its exception in a form the parent can unpickle."""
    try:
        return fn(item)
    except Exception as exc:
        portable = portable_error(exc)
        if portable is exc:
            raise
        raise portable from None


_applied_options: dict | None = None  # the storage options this worker process last took from its driver


def take_options(options: dict | None) -> None:
    """In a worker: use the driver's storage options (``--storage-options``) for every URL."""
    global _applied_options
    if options and options != _applied_options:
        from corpusprep import storage

        storage.configure(options)
        _applied_options = options


def call_configured(options: dict | None, fn: Callable[[T], R], item: T) -> R:
    """``call_portably`` in a worker that first takes the driver's storage options. Ray passes
    ``options`` as an object reference (resolved in the worker), so credentials among them are never
    part of a task's arguments."""
    take_options(options)
    return call_portably(fn, item)


def in_order(submit: Callable[[T], object], collect: Callable[[object], R], items: Iterable[T],
             window: int, pending: deque) -> Iterator[R]:
    """The executors' shared loop: ``submit`` each item, keep at most ``window`` handles in
    ``pending`` and ``collect`` them oldest first, so results come back in the order of ``items``.
    ``pending`` is the caller's, so it can cancel what is still in flight after a failure."""
    for item in items:
        pending.append(submit(item))
        if len(pending) >= window:
            yield collect(pending.popleft())
    while pending:
        yield collect(pending.popleft())
