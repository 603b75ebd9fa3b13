"""Fault injection for `clean` tests, from outside: the pipeline's own functions are wrapped in this
process (production code carries no hooks). The run must stay in-process (workers=1).

``clean_stops_after("packages" | "shards", n)``: the n-th finished package / merged shard raises
``RuntimeError("injected stop ...")`` right after its work is on disk, as a kill at that moment leaves it.
``clean_fails_in_unit(index, after)``: reading unit ``index`` raises ``RuntimeError("injected failure
...")`` on its record ``after + 1``, a crash in the middle of a unit.
"""
from __future__ import annotations

from contextlib import contextmanager

import pytest

_STOP_TARGET = {"packages": "process_package", "shards": "merge_shard"}


@contextmanager
def clean_stops_after(phase: str, n: int):
    from corpusprep.cleaning import pipeline

    name = _STOP_TARGET[phase]
    real = getattr(pipeline, name)
    done = 0

    def stopping(*args, **kwargs):
        nonlocal done
        result = real(*args, **kwargs)
        done += 1
        if done >= n:
            raise RuntimeError(f"injected stop after {done} {phase}")
        return result

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, name, stopping)
        yield


@contextmanager
def clean_fails_in_unit(index: int, after: int = 0):
    import corpusprep.readers as readers
    from corpusprep.cleaning import unit as unit_module
    from corpusprep.records import Failure

    real = readers.read_unit_guarded

    def failing(unit, *args, **kwargs):
        read = 0
        for item in real(unit, *args, **kwargs):
            if unit.index == index and item.__class__ is not Failure:
                read += 1
                if read > after:
                    raise RuntimeError(f"injected failure in unit {unit.index}")
            yield item

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(readers, "read_unit_guarded", failing)
        if hasattr(unit_module, "read_unit_guarded"):  # imported at module level by the cleaning unit
            mp.setattr(unit_module, "read_unit_guarded", failing)
        yield
