"""``zoo recipe MODEL --smoke``: a runnable miniature of the same recipe, for a check before renting GPUs.

The same stages, data processors, objectives, masking flags, tokenizer and conversion as the full
recipe (it is built by ``build_plan`` on your corpus), with:

* a sample of the first ``lines`` lines of your corpus file (``head``);
* a tiny model config zooprep writes (``zoo config MODEL --layers L --hidden H``: same architecture);
* one process (``--processes_num 1`` / ``--workers 1``), one device (``--world_size 1``, plus
  ``--gpu_ranks 0`` with ``--device gpu``; none on a CPU), a few steps, a loss printed every step;
* values the sources leave unstated filled with smoke values (learning rate, warmup, batch size, ...),
  and an unstated or external initial checkpoint replaced by random weights (said in the notes).
"""
from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

from manifests.catalog import Catalog, CatalogError
from manifests.recipe_commands import ZOOPREP, Arg, OwnData, Plan, Step, Unknown, build_plan

DEVICES = ("cpu", "gpu")
_SMOKE_VALUES = {"learning_rate": "0.0001", "warmup": "0.1", "labels_num": "2"}


@dataclass(frozen=True)
class SmokeOptions:
    device: str = "cpu"
    layers: int = 2
    hidden: int = 64
    steps: int = 3
    batch_size: int = 4
    lines: int = 400


class ShellStep(Step):
    """A plain shell command with an output redirection (not parsed by a trainer's command line)."""

    def shell(self) -> str:
        return " ".join(a if a in (">", "&&") else shlex.quote(str(a)) for a in self.argv)


def _flag_span(argv: list, flag: str) -> tuple[int, int] | None:
    """Index of ``flag`` and the end of its values (the next ``--`` flag), or None."""
    if flag not in argv:
        return None
    i = argv.index(flag)
    j = i + 1
    while j < len(argv) and not (isinstance(argv[j], str) and argv[j].startswith("--")):
        j += 1
    return i, j


def _set(argv: list, flag: str, values: list[Arg] | None) -> list:
    """``argv`` with ``flag`` given ``values`` (added at the end if absent); None removes the flag."""
    span = _flag_span(argv, flag)
    if span is None:
        return argv if values is None else [*argv, flag, *values]
    i, j = span
    return argv[:i] + ([] if values is None else [flag, *values]) + argv[j:]


def _value(argv: list, flag: str) -> Arg | None:
    span = _flag_span(argv, flag)
    return argv[span[0] + 1] if span and span[1] > span[0] + 1 else None


def smoke_plan(cat: Catalog, model_id: str, fmt: str, corpus: str, vocab: str | None = None, spm: str | None = None,
               work_dir: str = "work", vocab_dir: str = "models", opts: SmokeOptions = SmokeOptions()) -> Plan:
    if opts.device not in DEVICES:
        raise CatalogError(f"--device {opts.device!r}: choose from {', '.join(DEVICES)}")
    if corpus is None:
        raise CatalogError("--smoke runs on a sample of your corpus: give --corpus FILE (one text file)")
    if os.path.isdir(corpus):
        raise CatalogError(f"{corpus}: --smoke samples the first lines of one text file; give one file of the folder")
    work = f"{work_dir.rstrip('/')}/smoke-{model_id}"
    sample = f"{work}/sample.txt"
    plan = build_plan(cat, model_id, fmt, vocab_dir=vocab_dir, work_dir=work, own=OwnData(sample, vocab, spm))
    if any(s.tool == "deepspeed" for s in plan.steps) or any(s.argv[0] == "deepspeed" for s in plan.steps):
        raise CatalogError(f"{model_id}: the {fmt} recipe runs DeepSpeed; --smoke runs without it: use --format uer")
    config = f"{work}/config.json"
    steps: list[Step] = [
        ShellStep(0, f"a sample of your corpus: its first {opts.lines} lines",
                  ["mkdir", "-p", f"{work}/models", "&&", "head", "-n", str(opts.lines), corpus, ">", sample], tool="shell"),
        Step(0, f"a tiny config of the same architecture ({opts.layers} layers, hidden {opts.hidden})",
             [ZOOPREP, "zoo", "config", model_id, "--format", "uer", "--layers", str(opts.layers), "--hidden",
              str(opts.hidden), "--out", config], tool="zooprep"),
    ]
    outputs: dict[str, str] = {}  # the full recipe's output path -> the smoke one
    notes = [n for n in plan.notes if not n.startswith("adapted to your corpus")]
    for step in plan.steps:
        argv = list(step.argv)
        extra: list[str] = []
        if step.tool == "zooprep" and step.script in ("clean", "shard"):
            argv = _set(argv, "--workers", ["1"])
        elif step.script == "preprocess.py":
            argv = _set(argv, "--processes_num", ["1"])
        elif step.script == "pretrain.py":
            argv, extra = _pretrain(argv, config, work, opts, outputs)
        elif step.script.startswith("scripts/convert_"):
            argv = _convert(argv, work, opts, outputs)
        argv = [_smoke_value(a) for a in argv]
        steps.append(Step(step.stage, step.title, argv, [*step.notes, *extra], tool=step.tool))
    notes.insert(0, f"SMOKE TEST: the same recipe on the first {opts.lines} lines of {corpus}, a {opts.layers}-layer "
                    f"hidden-{opts.hidden} model, {opts.steps} steps of batch {opts.batch_size} per stage on one "
                    f"{opts.device.upper()}; outputs under {work}/")
    remaining = {a.var: a for s in steps for a in s.argv if isinstance(a, Unknown)}
    return Plan(plan.model, plan.recipe, f"{fmt}, smoke", steps, list(remaining.values()), notes, adapted=True)


def _smoke_value(a: Arg) -> Arg:
    """An unknown the smoke run can do without gets a smoke value; the others stay unknown."""
    if isinstance(a, Unknown):
        base = a.var.split("_", 1)[1].lower() if a.var.startswith("STAGE") else a.var.lower()
        if base in _SMOKE_VALUES:
            return _SMOKE_VALUES[base]
    return a


def _pretrain(argv: list, config: str, work: str, opts: SmokeOptions, outputs: dict) -> tuple[list, list[str]]:
    notes = []
    steps = str(opts.steps)
    argv = _set(argv, "--config_path", [config])
    out = _value(argv, "--output_model_path")
    new_out = f"{work}/models/{PurePosixPath(str(out)).name}"
    outputs[str(out)] = new_out
    argv = _set(argv, "--output_model_path", [new_out])
    argv = _set(argv, "--world_size", ["1"])
    argv = _set(argv, "--gpu_ranks", ["0"] if opts.device == "gpu" else None)
    for flag, value in (("--total_steps", steps), ("--save_checkpoint_steps", steps), ("--report_steps", "1"),
                        ("--batch_size", str(opts.batch_size))):
        argv = _set(argv, flag, [value])
    init = _value(argv, "--pretrained_model_path")
    if init is not None:
        prior = _previous_stage(str(init), outputs, steps) if isinstance(init, str) else None
        argv = _set(argv, "--pretrained_model_path", [prior] if prior else None)
        if prior is None:
            notes.append("smoke: starts from random weights (the full recipe starts from "
                         f"{init.var if isinstance(init, Unknown) else init})")
    return argv, notes


def _previous_stage(init: str, outputs: dict, steps: str) -> str | None:
    for old, new in outputs.items():
        if init.startswith(old + "-"):
            return f"{new}-{steps}"
    return None


def _convert(argv: list, work: str, opts: SmokeOptions, outputs: dict) -> list:
    src = _value(argv, "--input_model_path")
    prior = _previous_stage(str(src), outputs, str(opts.steps)) if isinstance(src, str) else None
    argv = _set(argv, "--input_model_path", [prior or f"{list(outputs.values())[-1]}-{opts.steps}"])
    argv = _set(argv, "--output_model_path", [f"{work}/pytorch_model.bin"])
    if "--layers_num" in argv:
        argv = _set(argv, "--layers_num", [str(opts.layers)])
    if "--decoder_layers_num" in argv:
        argv = _set(argv, "--decoder_layers_num", [str(opts.layers)])
    return argv
