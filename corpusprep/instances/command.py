"""Placeholder while under construction."""
import typer


def shard() -> None:
    """Not built yet."""
    raise typer.Exit(2)


def inspect() -> None:
    """Not built yet."""
    raise typer.Exit(2)
