"""Filling a recipe's unknown values in one place: ``zoo recipe --set KEY=VALUE ... --values FILE.yaml``.

Each unknown is a shell parameter in the printed commands (``"${LEARNING_RATE:?fill in: ...}"``); a
filled one becomes the value itself, in every command that uses it. The plan keeps the ones still
unknown, so the printed header and ``--check`` say which remain.
"""
from __future__ import annotations

import re
from pathlib import Path

from manifests.catalog import CatalogError
from manifests.recipe_commands import Plan, Unknown


def read_values(sets: list[str] | None, values_file: Path | None) -> dict[str, str | list[str]]:
    """``--values`` first, then every ``--set`` (later wins); keys are the printed variable names."""
    values: dict[str, str | list[str]] = {}
    if values_file is not None:
        import yaml

        from corpusprep.errors import InputError

        try:
            data = yaml.safe_load(Path(values_file).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(str(values_file), "file not found") from None
        except (OSError, yaml.YAMLError) as exc:
            raise InputError(str(values_file), f"not a YAML mapping: {str(exc).splitlines()[0]}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise InputError(str(values_file), "not a YAML mapping of NAME: value")
        for k, v in data.items():
            values[str(k).upper()] = [str(x) for x in v] if isinstance(v, list) else str(v)
    for item in sets or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CatalogError(f"--set wants KEY=VALUE, got {item!r}")
        values[key.strip().upper()] = value
    return values


def fill(plan: Plan, values: dict[str, str | list[str]]) -> Plan:
    """The plan with every named unknown replaced by its value; an unknown name is refused."""
    if not values:
        return plan
    known = {u.var: u for u in plan.unknown}
    known.update({a.var: a for s in plan.steps for a in s.argv if isinstance(a, Unknown)})
    wrong = [k for k in values if k not in known]
    if wrong:
        have = ", ".join(known) or "none"
        raise CatalogError(f"{', '.join(wrong)}: not a value to fill in for {plan.model} "
                           f"({plan.format} syntax; its unknown values: {have})")
    for step in plan.steps:
        argv = []
        for a in step.argv:
            if isinstance(a, Unknown) and a.var in values:
                v = values[a.var]
                words = v if isinstance(v, list) else (re.split(r"[\s,]+", v.strip()) if a.split else [v])
                argv += [w for w in words if w != ""]
            else:
                argv.append(a)
        step.argv = argv
    plan.unknown = [u for u in plan.unknown if u.var not in values]
    plan.notes.append("filled in (--set/--values): " + ", ".join(f"{k}={_show(v)}" for k, v in values.items()))
    return plan


def _show(v) -> str:
    return " ".join(v) if isinstance(v, list) else v
