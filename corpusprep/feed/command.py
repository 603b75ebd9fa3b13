"""`zooprep export`: write a shard directory in the format another trainer reads."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def export(
    directory: Path = typer.Argument(..., help="A `zooprep shard` output directory."),
    to: str = typer.Option("uer", "--to", help="uer: UER-py/TencentPretrain dataset.pt; hf: Parquet with HF column names."),
    out: Path = typer.Option(..., "--out", help="Output file (dataset.pt for uer, .parquet for hf)."),
    processor: Optional[str] = typer.Option(None, "--processor", help="Export as this processor (default: the shard's; bert/albert shards can be exported as mlm)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished export made with other options or inputs."),
) -> None:
    """Export pretraining instances for UER-py / TencentPretrain pretrain.py or Hugging Face."""
    from corpusprep.feed.export import ExportConfig, export as run_export
    from corpusprep.options import out_path

    out_path(out)  # "" arrives as Path(".")
    result = run_export(ExportConfig(directory=directory, out=out, to=to, processor=processor,
                                          overwrite=overwrite))
    typer.echo(f"wrote {result.instances} {result.processor} instances ({result.bytes} bytes) to {result.path}")
