"""`zooprep verify DIR...`: re-check clean/shard outputs against their recorded checksums."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import List

import typer


@dataclass(frozen=True)
class VerifyConfig:
    dirs: tuple[Path, ...]
    as_json: bool = False
    threads: int = 4


def run_verify(cfg: VerifyConfig) -> bool:
    """Verify each directory, print the findings; True when everything matched."""
    from corpusprep.verify import verify_dir

    results = [verify_dir(d, threads=cfg.threads) for d in cfg.dirs]
    if cfg.as_json:
        payload = results[0].to_json() if len(results) == 1 else [r.to_json() for r in results]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        for r in results:
            for line in r.lines():
                typer.echo(line)
    return all(r.ok for r in results)


def verify(
    dirs: List[str] = typer.Argument(..., help="Output directories of `clean` (report.json) or `shard` (zooprep.json), "
                                               "local or URLs (s3://...: the objects are re-hashed by streaming)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object (a list for several directories)."),
    threads: int = typer.Option(4, "--threads", min=1, help="Files hashed concurrently."),
) -> None:
    """Re-check every file of DIR against the sha256 recorded in DIR/.zooprep/complete.json (metadata and
    rejects included) and DIR's report.json / zooprep.json.

    Names files that are missing, altered, or unexpected (present but never recorded), metadata of the
    wrong type or that contradicts itself, and an unfinished run. Exit 0 when all match, 1 when anything differs.
    """
    ok = run_verify(VerifyConfig(tuple(dirs), as_json, threads))
    raise typer.Exit(0 if ok else 1)
