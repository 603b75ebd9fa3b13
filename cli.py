"""zooprep command line. Commands only parse options and delegate to the packages.

Each command lives next to the code it drives; this file only assembles them.
"""
from __future__ import annotations

import typer

from corpusprep.errors import InputsFailed, ZooprepError
from corpusprep.lifecycle import Interrupted, stop_on_signals
from corpusprep.cleaning.command import clean
from corpusprep.feed.command import export
from corpusprep.instances.command import inspect, shard
from corpusprep.storage import scrub
from corpusprep.storage_options import with_storage_options
from corpusprep.pretrain_example_command import CONTEXT as PRETRAIN_CONTEXT, pretrain_example
from corpusprep.verify_command import verify
from manifests.command import zoo_app
from zh_tokenizers.command import build_vocab, tokenize
from zh_tokenizers.spm_command import build_spm

app = typer.Typer(
    name="zooprep",
    help="Clean, tokenize, pack and feed Chinese pretraining corpora; look up the UER model zoo.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# every command that reads or writes data takes --storage-options (declared once, corpusprep.storage_options)
app.command("clean")(with_storage_options(clean))
app.command("build-vocab")(with_storage_options(build_vocab))
app.command("build-spm")(with_storage_options(build_spm))
app.command("tokenize")(with_storage_options(tokenize))
app.command("shard")(with_storage_options(shard))
app.command("inspect")(with_storage_options(inspect))
app.command("export")(with_storage_options(export))
app.command("verify")(with_storage_options(verify))
app.command("pretrain-example", context_settings=PRETRAIN_CONTEXT, add_help_option=False)(pretrain_example)
app.add_typer(zoo_app, name="zoo")


def main() -> None:
    """Run the CLI; known failures print one clear line (file and line where known), exit 2.
    SIGINT / SIGTERM / SIGHUP stop the run cleanly (workers stopped), exit 128 + signal number.
    Every line printed here goes through ``storage.scrub``: no credential (URL user-info, a signed
    query, a --storage-options secret) is ever shown."""
    try:
        with stop_on_signals():
            app()
    except Interrupted as exc:
        typer.echo(scrub(f"{exc}; finished work is kept: run the same command again to resume"), err=True)
        raise SystemExit(exc.exit_code) from None
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
