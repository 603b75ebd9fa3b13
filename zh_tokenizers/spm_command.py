"""Placeholder while under construction."""
import typer


def build_spm() -> None:
    """Not built yet."""
    raise typer.Exit(2)
