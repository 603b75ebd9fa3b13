"""`zooprep pretrain-example ARGS...`: the reference trainer examples/pretrain.py, from any directory.

The trainer stays a plain script (readable, copyable); this command finds it next to the installed
packages (an editable or source install: ``pip install -e .``) and hands it every argument.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import typer

from corpusprep.errors import ZooprepError

TRAINER = Path(__file__).resolve().parent.parent / "examples" / "pretrain.py"
# Typer must pass every option through untouched (--help included) to the trainer's own parser.
CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def load_trainer(path: Path = TRAINER):
    if not path.is_file():
        raise ZooprepError(f"{path}: the example trainer comes with a source checkout (pip install -e .); "
                           "a wheel install does not include examples/")
    spec = importlib.util.spec_from_file_location("zooprep_pretrain_example", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def pretrain_example(ctx: typer.Context) -> None:
    """Train the tiny reference RoBERTa / GPT-2 of examples/pretrain.py on a shard directory (see --help)."""
    trainer = load_trainer()
    sys.argv[0] = "zooprep pretrain-example"  # the name argparse's usage line shows
    trainer.main(list(ctx.args))
