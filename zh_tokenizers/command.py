"""Placeholder while under construction."""
import typer


def build_vocab() -> None:
    """Not built yet."""
    raise typer.Exit(2)


def tokenize() -> None:
    """Not built yet."""
    raise typer.Exit(2)
