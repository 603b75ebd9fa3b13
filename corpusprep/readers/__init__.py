"""Corpus readers: every zoo corpus family in its original layout -> ``Record`` / counted ``Reject``.

    units = plan_units(["corpus/"], fmt="auto")       # deterministic, worker-count independent
    for unit in units:                               # each unit is independent (run them anywhere)
        for item in read_unit(unit): ...             # Record(text, source, line, meta) | Reject

See docs/readers.md for layouts, repair rules and reject reasons.
"""
from corpusprep.readers.plan import plan_units
from corpusprep.readers.failures import ON_ERROR, FailureLog
from corpusprep.readers.read import read_unit, read_unit_guarded
from corpusprep.readers.sniff import sniff_format
from corpusprep.readers.units import FAMILIES, WorkUnit

__all__ = ["FAMILIES", "ON_ERROR", "FailureLog", "WorkUnit", "plan_units", "read_unit", "read_unit_guarded",
           "sniff_format"]
