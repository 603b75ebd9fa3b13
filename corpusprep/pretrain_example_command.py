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
    if any(a in ("--help", "-h") for a in ctx.args):
        print_help(trainer)
        return
    sys.argv[0] = "zooprep pretrain-example"  # the name argparse's usage line shows
    trainer.main(list(ctx.args))


def print_help(trainer) -> None:
    """The trainer's own options (its argparse parser), laid out as every other command's --help, and
    a table of the --size presets."""
    from rich import box
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table

    parser = trainer.build_parser()
    console = Console()
    console.print("\n Usage: [bold]zooprep pretrain-example[/bold] [OPTIONS] SHARD_DIR\n")
    console.print(f" {trainer.__doc__.strip().splitlines()[0]}\n")
    args, opts = Table.grid(padding=(0, 2)), Table.grid(padding=(0, 2))
    for action in parser._actions:  # argparse keeps no public list of its options
        if not action.option_strings:
            args.add_row(f"[bold cyan]{action.dest.upper()}[/]", "A `zooprep shard` output directory.")
            continue
        if "--help" in action.option_strings:
            continue
        meta = "" if action.nargs == 0 else (action.metavar or ("|".join(map(str, action.choices)) if action.choices
                                                                   else (action.type.__name__.upper() if action.type else "TEXT")))
        text = (action.help or "").split(": nano = ")[0] if action.dest == "size" else (action.help or "")
        default = "" if action.default in (None, False) else f" [dim]\\[default: {action.default}][/dim]"
        opts.add_row(f"[bold cyan]{', '.join(action.option_strings)}[/]", f"[yellow]{meta}[/]", (text + default).strip())
    opts.add_row("[bold cyan]--help, -h[/]", "", "Show this message and exit.")
    console.print(Panel(args, title="Arguments", title_align="left", border_style="dim", box=box.ROUNDED))
    console.print(Panel(opts, title="Options", title_align="left", border_style="dim", box=box.ROUNDED))
    sizes = Table(box=box.SIMPLE_HEAD, padding=(0, 1))
    for col in ("--size", "layers", "hidden", "heads", "feed-forward", "default --lr"):
        sizes.add_column(col, justify="left" if col == "--size" else "right")
    for name, (layers, hidden, heads, ff) in trainer.SIZES.items():
        sizes.add_row(name, str(layers), str(hidden), str(heads), str(ff), f"{trainer.SCALED_LR[name]:g}")
    console.print(Panel(sizes, title="Size presets (UER-py models/bert/*_config.json; nano: smoke tests only)",
                        title_align="left", border_style="dim", box=box.ROUNDED))
