"""LocalExecutor contract under load: ordered results, bounded window, worker errors that survive."""
from __future__ import annotations

import operator

import pytest

from corpusprep.errors import InputError, ZooprepError
from corpusprep.executors import LocalExecutor, make_executor, portable_error


class CountingItems:
    """An iterable that records how many items the executor has pulled so far."""

    def __init__(self, n: int):
        self.n, self.pulled = n, 0

    def __iter__(self):
        for i in range(self.n):
            self.pulled += 1
            yield i


def check_bounded_window(ex, window: int) -> None:
    items = CountingItems(50)
    it = ex.map(operator.neg, items)
    assert next(it) == 0
    assert items.pulled == window  # only `window` units were submitted before the first result
    assert list(it) == [-i for i in range(1, 50)]


def raise_input_error(line: int):
    raise InputError("corpus.txt", "broken record", line=line)


def test_local_window_is_bounded_and_order_kept():
    with LocalExecutor(workers=2, window=3) as ex:
        check_bounded_window(ex, 3)


def test_local_worker_input_error_reaches_the_parent_with_its_message():
    """InputError needs extra __init__ arguments, so it cannot be unpickled as is; the message must survive."""
    with LocalExecutor(workers=2) as ex:
        with pytest.raises(ZooprepError, match=r"corpus\.txt:4: broken record"):
            list(ex.map(raise_input_error, [4, 5]))
        assert list(ex.map(operator.neg, [1, 2, 3])) == [-1, -2, -3]  # the pool is still usable


def test_in_process_errors_keep_their_type():
    with LocalExecutor(workers=1) as ex:
        with pytest.raises(InputError):
            list(ex.map(raise_input_error, [1]))


def test_portable_error_keeps_picklable_exceptions():
    err = ValueError("x")
    assert portable_error(err) is err
    kept = portable_error(InputError("a.txt", "bad", 3))  # InputError pickles itself whole
    assert type(kept) is InputError and kept.line == 3 and str(kept) == "a.txt:3: bad"
    converted = portable_error(_UnpicklableError("a.txt", "bad"))
    assert type(converted) is ZooprepError and str(converted) == "a.txt: bad"


class _UnpicklableError(ZooprepError):
    """An error whose __init__ does not accept its own args, so it cannot be unpickled as is."""

    def __init__(self, path, why):
        super().__init__(f"{path}: {why}")


def test_unknown_executor_name():
    with pytest.raises(ZooprepError, match="unknown --executor 'spark'"):
        make_executor("spark", 2)


def pid_of(_item) -> int:
    import os

    return os.getpid()


def test_local_workers_are_recycled_after_their_task_quota():
    """Bounded memory over long runs: a worker is replaced after ``tasks_per_child`` units."""
    import sys

    if sys.version_info < (3, 11):
        pytest.skip("max_tasks_per_child needs Python 3.11")
    with LocalExecutor(workers=2, tasks_per_child=3) as ex:
        pids = list(ex.map(pid_of, range(24)))
    assert len(set(pids)) >= 24 // 3  # each process ran at most 3 units
    assert max(pids.count(p) for p in set(pids)) <= 3


def test_close_with_units_in_flight_stops_the_workers_instead_of_waiting():
    """After an error or a stop signal nobody reads the running units: close() kills their workers
    (the waiting caller sees a broken pool) rather than letting them run to the end."""
    import multiprocessing
    import threading
    import time
    from concurrent.futures.process import BrokenProcessPool

    ex = LocalExecutor(workers=2)
    it = ex.map(time.sleep, [20] * 4)
    outcome = []

    def consume():
        try:
            outcome.append(next(it))
        except BaseException as exc:  # noqa: BLE001  (the outcome is what the test checks)
            outcome.append(exc)

    consumer = threading.Thread(target=consume)
    consumer.start()
    deadline = time.monotonic() + 60
    while len(multiprocessing.active_children()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1)  # the workers have picked up their units
    workers = multiprocessing.active_children()
    ex.close()
    consumer.join(timeout=60)
    assert len(outcome) == 1 and isinstance(outcome[0], BrokenProcessPool), outcome
    assert not any(p.is_alive() for p in workers)

