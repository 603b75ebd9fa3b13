"""Placeholder while under construction."""
import typer


def export() -> None:
    """Not built yet."""
    raise typer.Exit(2)
