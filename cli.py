"""zooprep command line. Commands only parse options and delegate to the packages.

Each command lives next to the code it drives; this file only assembles them.
"""
from __future__ import annotations

import typer

from corpusprep import cli_params
from corpusprep.errors import InputsFailed, ZooprepError
from corpusprep.lifecycle import Interrupted, stop_on_signals
from corpusprep.outdir.rerun import AlreadyComplete
from corpusprep.storage import scrub
from corpusprep.storage_options import with_storage_options

# name -> (module, function, extra app.command settings); a run imports only its command's module
# (and `--help` all of them): each module keeps its heavy imports inside the command body.
COMMANDS = {
    "clean": ("corpusprep.cleaning.command", "clean"),
    "build-vocab": ("zh_tokenizers.command", "build_vocab"),
    "build-spm": ("zh_tokenizers.spm_command", "build_spm"),
    "tokenize": ("zh_tokenizers.command", "tokenize"),
    "shard": ("corpusprep.instances.command", "shard"),
    "inspect": ("corpusprep.instances.command", "inspect"),
    "export": ("corpusprep.feed.command", "export"),
    "verify": ("corpusprep.verify_command", "verify"),
    "report": ("corpusprep.report.command", "report"),
    "pretrain-example": ("corpusprep.pretrain_example_command", "pretrain_example"),
    "zoo": ("manifests.command", "zoo_app"),
}
# every command that reads or writes data takes --storage-options
STORAGE_COMMANDS = {"clean", "build-vocab", "build-spm", "tokenize", "shard", "inspect", "export", "verify"}
HELP = "Clean, tokenize, pack and feed Chinese pretraining corpora; look up the UER model zoo."


def build_app(only: str | None = None) -> typer.Typer:
    """The CLI with every command, or with the one command ``only`` (what a run of it needs)."""
    import importlib

    app = typer.Typer(
        name="zooprep",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,  # plain click help and errors: rich's renderer costs ~0.2 CPU-s per `--help`
    )
    if only is not None:
        app.callback()(lambda: None)  # a group even with one command, so `zooprep shard ...` parses as always
    for name, (module, attr) in COMMANDS.items():
        if only not in (None, name):
            continue
        mod = importlib.import_module(module)
        if name == "zoo":
            app.add_typer(mod.zoo_app, name="zoo")
        elif name == "pretrain-example":
            app.command(name, context_settings=mod.CONTEXT, add_help_option=False)(getattr(mod, attr))
        elif name in STORAGE_COMMANDS:  # --storage-options, declared once (corpusprep.storage_options)
            app.command(name)(with_storage_options(getattr(mod, attr)))
        else:
            app.command(name)(getattr(mod, attr))
    cli_params.install()  # option values converted without pydantic (corpusprep/cli_params.py)
    return app


def __getattr__(name: str):
    """``from cli import app``: the whole CLI, built on first use."""
    if name == "app":
        globals()["app"] = build_app()
        return globals()["app"]
    raise AttributeError(name)


def main() -> None:
    """Run the CLI; known failures print one clear line (file and line where known), exit 2.
    SIGINT / SIGTERM / SIGHUP stop the run cleanly (workers stopped), exit 128 + signal number.
    Every line printed here goes through ``storage.scrub``: no credential (URL user-info, a signed
    query, a --storage-options secret) is ever shown."""
    try:
        import sys

        command = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] in COMMANDS else None
        app = globals().get("app") or build_app(command)  # the whole CLI once built (tests), else the lean one
        with stop_on_signals():
            app()
    except Interrupted as exc:
        typer.echo(scrub(f"{exc}; finished work is kept: run the same command again to resume"), err=True)
        raise SystemExit(exc.exit_code) from None
    except AlreadyComplete as exc:  # the rerun rule (corpusprep.outdir.rerun): nothing to do
        typer.echo(str(exc), err=True)
        raise SystemExit(0) from None
    except InputsFailed as exc:  # finished; the failed files were named on stderr and in the report
        typer.echo(scrub(f"warning: {exc}"), err=True)
        raise SystemExit(exc.exit_code) from None
    except ZooprepError as exc:
        typer.echo(scrub(f"error: {exc}"), err=True)
        raise SystemExit(2) from None
    except OSError as exc:
        where = exc.filename or _path_in_argv()  # ENOSPC on a write names no file: say which output
        typer.echo(scrub(f"error: {where + ': ' if where else ''}{exc.strerror or exc}"), err=True)
        raise SystemExit(2) from None
    except Exception as exc:
        if not type(exc).__module__.startswith("pyarrow"):
            raise
        # "Invalid flatbuffers message" & co. from a damaged Arrow/Parquet file: one line with the path
        where = _path_in_argv(prefer_input=True)
        typer.echo(scrub(f"error: {where + ': ' if where else ''}"
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"), err=True)
        raise SystemExit(2) from None


def _path_in_argv(prefer_input: bool = False) -> str:
    """The command's output (``--out``/``--out-prefix``) or first input path, for errors that name none."""
    import sys

    args = sys.argv[1:]
    out = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--out", "--out-prefix", "-o")), "")
    positional = next((a for a in args[1:] if not a.startswith("-")), "")
    return (positional or out) if prefer_input else (out or positional)


if __name__ == "__main__":
    main()
