"""``zoo recipe --check``: parse every printed command with the command line it is meant for.

Trainer commands (preprocess.py, pretrain.py, the conversion scripts, zero_to_fp32.py) are parsed
with parsers rebuilt from the recorded command lines (``manifests/trainer_cli.py``); zooprep's own
commands with zooprep's CLI. An unknown value is replaced by a sample of the type its option takes,
so the rest of the command is still checked, and the report says what the value must be.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

from manifests.recipe_commands import Plan, Step, Unknown
from manifests.trainer_cli import load_trainer, script_key

_SAMPLE = {"int": "1", "float": "0.1", "str": "x"}


@dataclass
class StepCheck:
    index: int
    title: str
    parser: str  # whose command line parsed it
    problems: list[str] = field(default_factory=list)
    fill: list[str] = field(default_factory=list)  # what each unknown in it must be


@dataclass
class PlanCheck:
    plan: Plan
    steps: list[StepCheck]

    @property
    def ok(self) -> bool:
        return all(not s.problems for s in self.steps)

    def as_dict(self) -> dict:
        return {"model": self.plan.model, "format": self.plan.format, "ok": self.ok, "runnable": self.plan.runnable,
                "steps": [vars(s) for s in self.steps]}

    def text(self) -> str:
        out = []
        for s in self.steps:
            out.append(f"{'ok  ' if not s.problems else 'FAIL'}  step {s.index + 1} ({s.title}): parsed by {s.parser}")
            out += [f"        problem: {p}" for p in s.problems]
            out += [f"        unknown: {f}" for f in s.fill]
        bad = sum(1 for s in self.steps if s.problems)
        out.append(f"{self.plan.model} ({self.plan.format}): {len(self.steps)} command(s) checked, {bad} refused"
                   + ("" if self.plan.runnable else f", {len(self.plan.unknown)} value(s) to fill in: "
                      + " ".join(u.var for u in self.plan.unknown) + " (--set NAME=VALUE or --values FILE.yaml)"))
        return "\n".join(out) + "\n"


def _option_of(spec: dict, flag: str) -> dict | None:
    return next((o for o in spec["options"] if flag in o["flags"]), None)


def _describe(opt: dict | None) -> str:
    if opt is None:
        return "a value"
    if opt.get("choices"):
        return "one of " + ", ".join(map(str, opt["choices"]))
    kind = {"int": "an integer", "float": "a number", "str": "a path"}.get(opt.get("type", "str"), "a value")
    return ("one or more " + kind.split(" ", 1)[1] + "s") if opt.get("nargs") in ("+", "*") else kind


def _sample(opt: dict | None) -> str:
    if opt and opt.get("choices"):
        return str(opt["choices"][0])
    return _SAMPLE.get((opt or {}).get("type", "str"), "x")


def trainer_args(step: Step, spec: dict, fills: list[str]) -> list[str]:
    args, flag = [], None
    for a in step.argv[2:]:
        if isinstance(a, Unknown):
            opt = _option_of(spec, flag) if flag else None
            fills.append(f"{a.var} ({flag}): {_describe(opt)}; {a.fill}")
            args.append(_sample(opt))
        else:
            args.append(a)
            if a.startswith("-"):
                flag = a
    return args


def _check_trainer(step: Step, sc: StepCheck) -> None:
    from manifests.trainer_cli import check_argv

    cli = load_trainer(step.tool)
    key = script_key(step.script)
    sc.parser = cli.source(key)
    spec = cli.scripts.get(key)
    if spec is None:
        sc.problems.append(f"{step.script} is not a recorded script of {cli.project}")
        return
    sc.problems += check_argv(step.tool, step.script, trainer_args(step, spec, sc.fill))


@functools.lru_cache(maxsize=1)
def _zooprep_group():
    import typer

    from cli import app

    return typer.main.get_command(app)


def _check_zooprep(step: Step, sc: StepCheck) -> None:
    sc.parser = "zooprep (this checkout's CLI)"
    group = _zooprep_group()
    args = []
    for a in step.argv[1:]:
        if isinstance(a, Unknown):
            sc.fill.append(f"{a.var}: {a.fill}")
            args.append("1")
        else:
            args.append(a)
    if args[0] == "shard" and "--processor" in args:
        from manifests.recipe_commands import zooprep_processors

        proc = args[args.index("--processor") + 1]
        if proc not in zooprep_processors() and not isinstance(step.argv[args.index("--processor") + 2], Unknown):
            sc.problems.append(f"zooprep shard has no processor '{proc}' (processors: {', '.join(zooprep_processors())})")
    cmd = group.get_command(None, args[0])
    if cmd is None:
        sc.problems.append(f"zooprep has no command '{args[0]}'")
        return
    try:
        cmd.make_context(args[0], args[1:], resilient_parsing=False)
    except Exception as exc:  # typer vendors click: match its usage errors by what they offer
        if type(exc).__name__ in ("Exit", "Abort"):
            return
        if not hasattr(exc, "format_message"):
            raise
        sc.problems.append(f"zooprep {args[0]} refuses it: {exc.format_message()}")


def check_plan(plan: Plan) -> PlanCheck:
    steps = []
    for i, step in enumerate(plan.steps):
        sc = StepCheck(i, step.title, step.tool)
        if step.tool == "shell":  # a plain shell line (smoke recipes' sample): checked by `bash -n` in the tests
            sc.parser = "shell (not parsed)"
        elif step.tool == "zooprep":
            _check_zooprep(step, sc)
        else:
            _check_trainer(step, sc)
        steps.append(sc)
    return PlanCheck(plan, steps)
