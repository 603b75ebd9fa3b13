"""`zooprep export`: write a shard directory in the format another trainer reads."""
from __future__ import annotations

from typing import Optional

import typer


def export(
    directory: str = typer.Argument(..., help="A `zooprep shard` output directory (or its URL, s3://...)."),
    to: str = typer.Option("uer", "--to", help="uer: UER-py/TencentPretrain dataset.pt; hf: Parquet with HF column names."),
    out: str = typer.Option(..., "--out", help="Output file (dataset.pt for uer, .parquet for hf; or a URL)."),
    processor: Optional[str] = typer.Option(None, "--processor", help="Export as this processor (default: the shard's; bert/albert shards can be exported as mlm)."),
) -> None:
    """Export pretraining instances for UER-py / TencentPretrain pretrain.py or Hugging Face."""
    from corpusprep.feed.export import ExportConfig, export as run_export
    from corpusprep.options import out_path

    out_path(out)
    result = run_export(ExportConfig(directory=directory, out=out, to=to, processor=processor))
    typer.echo(f"wrote {result.instances} {result.processor} instances ({result.bytes} bytes) to {result.path}")
