"""The `report` command: parse options into a ReportConfig and delegate (heavy imports stay in run_report)."""
from __future__ import annotations

from pathlib import Path
from typing import List

import typer


def report(
    inputs: List[str] = typer.Argument(..., help="clean / shard / encoded output dirs, a vocab .txt or spm .model "
                                                 "(several: side by side)."),
    out: Path = typer.Option(..., "--out", "-o", help="Report file (replaced only if zooprep wrote it)."),
    fmt: str = typer.Option("html", "--format", "-f", help="html (one self-contained page) | md | json."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished report made with other options "
                                                              "or inputs."),
) -> None:
    """Draw what clean/shard recorded: counts, drops, length histograms, [UNK], labels, samples, hints."""
    from corpusprep.report.run import ReportConfig, run_report

    path = run_report(ReportConfig(inputs=tuple(inputs), out=out, fmt=fmt, overwrite=overwrite))
    typer.echo(f"wrote {path}")
