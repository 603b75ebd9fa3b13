"""A recipe's training objective, as the current trainers spell it.

The catalog names objectives the way the zoo's cards did (``bert``, ``albert``, ``t5``, ``lm+cls``);
UER-py and TencentPretrain at HEAD take ``--target`` from {sp, lm, mlm, bilm, cls} (nargs '+') and
their configs carry the list (``models/bert/*_config.json``: [mlm, sp], ``models/t5/*``: [lm]).
This is the one translation table; ``zoo config`` and ``zoo recipe`` both use it.
"""
from __future__ import annotations

from manifests.schema import is_known

_TARGETS = {"mlm": ("mlm",), "bert": ("mlm", "sp"), "albert": ("mlm", "sp"), "lm": ("lm",), "t5": ("lm",),
            "bilm": ("bilm",), "cls": ("cls",), "lm+cls": ("lm", "cls")}
# data processor that produces the instances of an objective (None: no single processor)
_PROCESSOR = {"mlm": "mlm", "bert": "bert", "albert": "albert", "lm": "lm", "t5": "t5", "bilm": "bilm", "cls": "cls"}


def uer_targets(objective) -> list[str] | None:
    """``--target`` values for a catalog objective; None when the objective is unknown."""
    if not is_known(objective):
        return None
    try:
        return list(_TARGETS[objective])
    except KeyError:
        raise ValueError(f"objective {objective!r} has no translation to UER targets") from None


def objective_processor(objective) -> str | None:
    return _PROCESSOR.get(objective) if is_known(objective) else None


def renamed(objective) -> bool:
    """True when the cards' name of the objective is not a current ``--target`` value."""
    t = uer_targets(objective)
    return t is not None and [objective] != t
