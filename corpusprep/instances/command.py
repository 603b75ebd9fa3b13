"""CLI commands ``shard`` and ``inspect``: parse options, then delegate."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from corpusprep.instances.config import ShardConfig
from corpusprep.instances.data_processors import names

# Names only: the registry lists them without importing the processor modules (numpy) at CLI start-up.
_PROCESSOR_HELP = f"{' | '.join(names())} (UER-py data processors; what each builds: docs/shard.md)."


def shard(
    corpus: List[str] = typer.Argument(..., help="`clean` output dirs / .parquet files (`text` column; cls also "
                                                  "reads the label from `meta`), or UER-layout .txt (one document per "
                                                  "line: mlm/lm/t5/bilm; one sentence per line with a blank line after "
                                                  "each document: bert/albert/bart/gsg; label<TAB>text[<TAB>text_b]: "
                                                  "cls/cls_mlm; source<TAB>target: prefixlm)."),
    out: str = typer.Option(..., "--out", help="Output directory (datasets save_to_disk layout + zooprep.json), or a "
                                               "URL (s3://bucket/prefix, any fsspec URL)."),
    seq_len: int = typer.Option(512, "--seq-len", help="Tokens per instance (lm rows hold seq_len + 1)."),
    processor: str = typer.Option("mlm", "--processor", help=_PROCESSOR_HELP),
    vocab: Optional[str] = typer.Option(None, "--vocab", help="Vocab .txt (e.g. google_zh_vocab.txt; a URL too)."),
    spm: Optional[str] = typer.Option(None, "--spm", help="Sentencepiece .model (word models; a URL too)."),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", help="bert | char | space (with --vocab) [default: bert]."),
    full_sentences: bool = typer.Option(False, "--full-sentences", help="mlm/t5: pack consecutive documents into full rows."),
    static_masking: bool = typer.Option(False, "--static-masking", help="Mask now (UER's default) instead of in the loader."),
    dup_factor: int = typer.Option(1, "--dup-factor", help="With --static-masking: masked copies of the corpus."),
    whole_word: bool = typer.Option(False, "--whole-word", help="Store jieba word starts (whole-word masking)."),
    span_masking: bool = typer.Option(False, "--span-masking", help="Span masking (with --static-masking)."),
    span_geo_prob: float = typer.Option(0.2, "--span-geo-prob", help="Geometric p of span lengths."),
    span_max_length: int = typer.Option(10, "--span-max-length", help="Longest span."),
    short_seq_prob: float = typer.Option(0.1, "--short-seq-prob", help="bert/albert: chance of a shorter target length."),
    seed: int = typer.Option(7, "--seed", help="Random seed."),
    compat: Optional[str] = typer.Option(None, "--compat", help="uer: ids identical to UER-py preprocess.py; --workers N "
                                                                "reproduces --processes_num N (default 1)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Worker processes [default: all cores]."),
    executor: str = typer.Option("local", "--executor", help="local | ray."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster address (with --executor ray)."),
    unit_mb: float = typer.Option(4.0, "--unit-mb", help="MB of input per work unit (part of the output's identity)."),
    docs_buffer_size: int = typer.Option(100000, "--docs-buffer-size", help="Documents per buffer (bert random next, "
                                                                           "full-sentences), as UER's."),
    label_field: str = typer.Option("label", "--label-field", help="cls/cls_mlm from clean Parquet: the meta key "
                                                                  "holding the integer label."),
    tgt_seq_len: int = typer.Option(128, "--tgt-seq-len", help="gsg: target length (UER's --tgt_seq_length)."),
    sentence_selection: str = typer.Option("lead", "--sentence-selection", help="gsg: lead | random (UER's "
                                                                              "--sentence_selection_strategy)."),
    manifest_dataset: Optional[str] = typer.Option(None, "--manifest-dataset", help="Zoo dataset name to record."),
    recipe_stage: Optional[str] = typer.Option(None, "--recipe-stage", help="Zoo recipe stage to record."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output directory."),
    encode_only: bool = typer.Option(False, "--encode-only", help="mlm/lm/bilm: store each document's ids once (an "
                                                                  "encoded corpus); the loader cuts rows at any "
                                                                  "seq len (docs/views.md)."),
    on_error: str = typer.Option("continue", "--on-error", help="A corpus file that cannot be read: continue "
                                                                "(list it, exit 3) | fail (exit 2) | skip (exit 0)."),
) -> None:
    """Pack a corpus into Arrow pretraining instances (any UER-py data processor) for `datasets` and PyTorch."""
    from corpusprep.instances.pipeline import run_shard
    from corpusprep.instances.report import format_report

    cfg = ShardConfig(corpus=tuple(corpus), out=out, seq_len=seq_len, processor=processor, vocab=vocab, spm=spm,
                      tokenizer_kind=tokenizer, full_sentences=full_sentences, static_masking=static_masking,
                      dup_factor=dup_factor, whole_word=whole_word, span_masking=span_masking,
                      span_geo_prob=span_geo_prob, span_max_length=span_max_length, short_seq_prob=short_seq_prob,
                      seed=seed, compat=compat, workers=workers, executor=executor, ray_address=ray_address, unit_mb=unit_mb,
                      docs_buffer_size=docs_buffer_size, label_field=label_field, tgt_seq_len=tgt_seq_len,
                      sentence_selection=sentence_selection, manifest_dataset=manifest_dataset,
                      recipe_stage=recipe_stage, overwrite=overwrite, on_error=on_error,
                      encode_only=encode_only)
    result = run_shard(cfg)
    typer.echo(format_report(result), err=True)
    from corpusprep.readers.failures import FailureLog

    log = FailureLog(on_error if on_error != "fail" else "continue")
    for entry in result.meta.get("failed_files", []):
        log.add_record(entry)
    log.finish(f"{cfg.out}/zooprep.json")


def inspect(
    out: str = typer.Argument(..., help="A `shard` output directory (or its URL, s3://...)."),
    n: int = typer.Option(3, "-n", "--n", help="Rows to show, from --start on."),
    start: int = typer.Option(0, "--start", help="First row to show (0-based, as ds[N])."),
    random: int = typer.Option(0, "--random", help="Show this many rows drawn at random (from --start on) instead."),
    seed: int = typer.Option(0, "--seed", help="Seed of --random (same seed, same rows)."),
    ids: bool = typer.Option(False, "--ids", help="Also list each row's token ids."),
    pieces: bool = typer.Option(False, "--pieces", help="Also list each row's vocabulary pieces."),
    vocab: Optional[str] = typer.Option(None, "--vocab", help="Decode with this vocab instead of the recorded one."),
    spm: Optional[str] = typer.Option(None, "--spm", help="Decode with this sentencepiece model."),
) -> None:
    """Summarize a shard directory and decode chosen rows back to text (with a legend of every field)."""
    from corpusprep.instances.inspect_dir import InspectOptions, inspect_dir

    opts = InspectOptions(n=n, start=start, random=random, seed=seed, ids=ids, pieces=pieces, vocab=vocab, spm=spm)
    typer.echo(inspect_dir(out, opts=opts))
