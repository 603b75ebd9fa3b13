"""Placeholder while under construction."""
import typer


def clean() -> None:
    """Not built yet."""
    raise typer.Exit(2)
