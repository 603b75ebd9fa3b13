"""Placeholder while under construction."""
import typer


def verify() -> None:
    """Not built yet."""
    raise typer.Exit(2)
