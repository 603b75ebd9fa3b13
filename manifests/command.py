"""Placeholder while under construction."""
import typer

zoo_app = typer.Typer(help="The UER model zoo catalog.", no_args_is_help=True)
