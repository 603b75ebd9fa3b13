"""Check printed commands against the recorded command lines of the trainers (``data/cli_*.yaml``).

The YAML files hold each script's options as data (see ``tools/record_trainer_cli.py``);
here an ``argparse`` parser is rebuilt from them, so a printed command is parsed exactly as the real
script would parse it: unknown flags, invalid choices, wrong types and missing required options
fail, and so do the checks the scripts make right after parsing (``--labels_num`` with a cls target).
"""
from __future__ import annotations

import argparse
import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from manifests.catalog import DATA_DIR, CatalogError

# project id used by the recipe printer -> recorded file
TRAINER_FILES = {"uer": "cli_uer-py.yaml", "tencentpretrain": "cli_tencentpretrain.yaml", "deepspeed": "cli_deepspeed.yaml"}
_TYPES = {"int": int, "float": float, "str": str}


@dataclass(frozen=True)
class TrainerCli:
    project: str
    commit: str
    scripts: dict

    def source(self, script: str) -> str:
        return f"{self.project}@{self.commit[:7]} {script}"


@functools.lru_cache(maxsize=None)
def load_trainer(tool: str, data_dir: str = str(DATA_DIR)) -> TrainerCli:
    try:
        name = TRAINER_FILES[tool]
    except KeyError:
        raise CatalogError(f"no recorded command line for '{tool}' (known: {', '.join(TRAINER_FILES)})") from None
    doc = yaml.safe_load((Path(data_dir) / name).read_text(encoding="utf-8"))
    return TrainerCli(doc["project"], str(doc["commit"]), doc["scripts"])


class _Refused(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print usage and exit; we collect the reason
        raise _Refused(message)


def build_parser(spec: dict, prog: str) -> argparse.ArgumentParser:
    """An argparse parser with the recorded options of one script."""
    p = _Parser(prog=prog, add_help=False, allow_abbrev=False)
    for opt in spec["options"]:
        kw = {k: opt[k] for k in ("choices", "nargs", "action", "default", "required") if k in opt}
        if "type" in opt:
            kw["type"] = _TYPES[opt["type"]]
        if not opt["flags"][0].startswith("-"):
            kw.pop("required", None)
        p.add_argument(*opt["flags"], **kw)
    return p


@functools.lru_cache(maxsize=None)
def _parser(tool: str, key: str) -> argparse.ArgumentParser:
    return build_parser(load_trainer(tool).scripts[key], key)


def script_key(script: str) -> str:
    """Where a printed script path is recorded: 'pretrain.py', 'scripts/convert_...', 'zero_to_fp32.py'."""
    if script.endswith("zero_to_fp32.py"):
        return "zero_to_fp32.py"
    return script


def check_argv(tool: str, script: str, args: list[str]) -> list[str]:
    """Problems the recorded parser of ``tool``'s ``script`` finds in ``args`` (empty: accepted)."""
    cli = load_trainer(tool)
    key = script_key(script)
    spec = cli.scripts.get(key)
    if spec is None:
        return [f"{script}: not a recorded script of {cli.project} (recorded: {', '.join(cli.scripts)})"]
    try:
        ns = _parser(tool, key).parse_args(args)
    except _Refused as exc:
        return [f"{cli.source(key)} refuses it: {exc}"]
    problems = []
    for rule in spec.get("after_parsing", []):
        value = getattr(ns, rule["when_option"], None)
        holds = rule["contains"] in value if isinstance(value, (list, str)) else False
        if holds and getattr(ns, rule["requires"], None) is None:
            problems.append(f"{cli.source(key)} stops after parsing: {rule['message']} "
                            f"(--{rule['requires']} is required when --{rule['when_option']} includes {rule['contains']})")
    return problems
