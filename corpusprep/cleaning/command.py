"""The `clean` command: parse options into a CleanConfig and delegate to run_clean."""
from __future__ import annotations

from typing import List, Optional

import typer

from corpusprep.cleaning.config import CleanConfig
from corpusprep.options import unit_bytes_of
from corpusprep.readers.failures import FailureLog


def _names(values: Optional[List[str]]) -> tuple[str, ...]:
    """Accept both `--enable a,b` and repeated `--enable a --enable b`."""
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return tuple(out)


def clean(
    inputs: Optional[List[str]] = typer.Argument(None, help="Files, folders or globs (plain or .gz/.bz2/.xz/.zst)."),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Output directory."),
    fmt: str = typer.Option("auto", "--format", "-f", help="Corpus family (cluecorpussmall, weibo, poems, ..., text, csv, jsonl) or auto."),
    encoding: Optional[str] = typer.Option(None, help="Force the input encoding (default: detect UTF-8 / GB18030)."),
    text_field: Optional[str] = typer.Option(None, "--text-field", help="Text column/field (name, or 0-based column "
                                                                        "index for CSV/TSV); default: known names, "
                                                                        "else inferred from the content."),
    num_shards: int = typer.Option(1, "--num-shards", help="Number of output shards per split."),
    valid_fraction: float = typer.Option(0.0, "--valid-fraction", help="Share of documents for the validation split."),
    layout: str = typer.Option("parquet", "--layout", help="parquet | uer | uer-sentences."),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", help="Worker processes (default: all cores)."),
    executor: str = typer.Option("local", "--executor", help="local | ray."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster address (with --executor ray)."),
    seed: int = typer.Option(0, "--seed", help="Salt of the shard/split hash."),
    t2s: bool = typer.Option(False, "--t2s", help="Convert traditional to simplified Chinese (OpenCC t2s)."),
    near_dup: bool = typer.Option(False, "--near-dup", help="Also drop near-duplicates (MinHash LSH)."),
    near_dup_threshold: float = typer.Option(0.8, "--near-dup-threshold", help="Jaccard similarity counted as near-duplicate."),
    enable: Optional[List[str]] = typer.Option(None, "--enable", help="Turn ops on (comma-separated)."),
    disable: Optional[List[str]] = typer.Option(None, "--disable", help="Turn ops off (comma-separated)."),
    min_chars: Optional[int] = typer.Option(None, "--min-chars", help="Minimum document length (default per family)."),
    max_chars: int = typer.Option(1_000_000, "--max-chars", help="Maximum document length in characters."),
    min_chinese_share: float = typer.Option(0.3, "--min-chinese-share", help="Minimum share of Chinese characters."),
    max_char_run_share: float = typer.Option(0.5, "--max-char-run-share", help="Maximum share of 4+ repeated-character runs."),
    max_repeated_lines: float = typer.Option(0.3, "--max-repeated-lines", help="Maximum share of text in repeated lines."),
    rejects_sample: int = typer.Option(100, "--rejects-sample", help="Dropped records kept per reason in DIR/rejects/."),
    unit_mb: float = typer.Option(64, "--unit-mb", help="Split big plain files into work units of this many MB."),
    on_error: str = typer.Option("continue", "--on-error", help="A file that cannot be read: continue (list it, "
                                                                "exit 3) | fail (stop, exit 2) | skip (list it, exit 0)."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="Progress bar (default: on a terminal)."),
    list_ops: bool = typer.Option(False, "--list-ops", help="List the cleaning ops and per-family defaults, then exit."),
) -> None:
    """Clean, deduplicate and shard corpora into Parquet or UER text, with a report that adds up."""
    if list_ops:
        from corpusprep.cleaning.registry import list_ops_table

        typer.echo(list_ops_table())
        return
    from corpusprep.errors import ZooprepError

    if not inputs:
        raise ZooprepError("clean: give at least one INPUT (file, folder or glob)")
    if not out:
        raise ZooprepError("clean: --out DIR is required")
    config = CleanConfig(
        inputs=tuple(inputs), out=out, fmt=fmt, encoding=encoding, text_field=text_field,
        num_shards=num_shards, valid_fraction=valid_fraction, layout=layout, workers=workers,
        executor=executor, ray_address=ray_address, seed=seed, t2s=t2s, near_dup=near_dup,
        near_dup_threshold=near_dup_threshold, enable=_names(enable), disable=_names(disable),
        min_chars=min_chars, max_chars=max_chars, min_chinese_share=min_chinese_share,
        max_char_run_share=max_char_run_share, max_repeated_line_share=max_repeated_lines,
        rejects_sample=rejects_sample, unit_bytes=unit_bytes_of(unit_mb), progress=progress, on_error=on_error,
    )
    from corpusprep.cleaning.pipeline import run_clean

    from corpusprep.storage import display

    report = run_clean(config)
    dropped = sum(report["dropped"].values())
    failed = f", {len(report['failed_files'])} file(s) failed" if report["failed_files"] else ""
    typer.echo(f"read {report['read']}, kept {report['kept']}, dropped {dropped} "
               f"({', '.join(f'{k} {v}' for k, v in report['dropped'].items()) or 'none'}){failed}; "
               f"{len(report['shards'])} shard file(s) and report.json in {display(out)}")
    finish_failures(report, config.on_error, f"{out}/report.json")


def finish_failures(report: dict, on_error: str, where: str) -> None:
    """Name the failed files on stderr and set the exit code (3 under --on-error continue)."""
    log = FailureLog(on_error if on_error != "fail" else "continue")
    for entry in report["failed_files"]:
        log.add_record(entry)
    if on_error == "skip":
        log.on_error = "skip"
    log.finish(where)
