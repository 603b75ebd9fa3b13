"""zooprep command line. Commands only parse options and delegate to the packages.

Each command lives next to the code it drives; this file only assembles them.
"""
from __future__ import annotations

import typer

from corpusprep.errors import ZooprepError
from corpusprep.cleaning.command import clean
from corpusprep.feed.command import export
from corpusprep.instances.command import inspect, shard
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

app.command("clean")(clean)
app.command("build-vocab")(build_vocab)
app.command("build-spm")(build_spm)
app.command("tokenize")(tokenize)
app.command("shard")(shard)
app.command("inspect")(inspect)
app.command("export")(export)
app.command("verify")(verify)
app.command("pretrain-example", context_settings=PRETRAIN_CONTEXT, add_help_option=False)(pretrain_example)
app.add_typer(zoo_app, name="zoo")


def main() -> None:
    """Run the CLI; known failures print one clear line (file and line where known), exit 2."""
    try:
        app()
    except ZooprepError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"error: {where}{exc.strerror or exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
