"""CLI command ``build-spm``: parse options, then delegate to zh_tokenizers.spm_train."""
from __future__ import annotations

from typing import List, Optional

import typer

from corpusprep.errors import ZooprepError


def _parse_spm_options(items: List[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ZooprepError(f"--spm-option wants KEY=VALUE, got {item!r}")
        out.append((key.strip(), value))
    return tuple(out)


def build_spm(
    corpus: List[str] = typer.Argument(..., help="Text files (UER layouts: one document or sentence per line) or "
                                                  "`clean` output dirs (train-*.parquet, `text` column)."),
    out_prefix: str = typer.Option(..., "--out-prefix", help="Writes PREFIX.model, PREFIX.vocab, PREFIX.card.json."),
    preset: str = typer.Option("none", "--preset", help="uer = the zoo's cluecorpussmall_spm.model settings "
                                                         "exactly; none = sentencepiece defaults."),
    vocab_size: Optional[int] = typer.Option(None, "--vocab-size", help="Pieces (preset uer: 100000; else 8000)."),
    sample_sentences: int = typer.Option(0, "--sample-sentences", help="Train on a seeded, shuffled uniform sample "
                                                                        "of this many sentences (0 = all)."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed."),
    pre_segment: str = typer.Option("none", "--pre-segment", help="none | jieba: pieces never cross jieba words."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Trainer threads (default 16, sentencepiece's; "
                                                                   "the scores depend on it)."),
    workers: int = typer.Option(1, "--workers", help="Processes reading / segmenting the corpus."),
    executor: str = typer.Option("local", "--executor", help="local | ray (same model either way)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster address (with --executor ray)."),
    model_type: Optional[str] = typer.Option(None, "--model-type", help="unigram | bpe (default unigram)."),
    character_coverage: Optional[float] = typer.Option(None, "--character-coverage", help="Share of characters covered (default 0.9995)."),
    max_sentence_length: Optional[int] = typer.Option(None, "--max-sentence-length",
                                                      help="Bytes (preset uer: 1024; else 4192)."),
    max_sentencepiece_length: Optional[int] = typer.Option(None, "--max-sentencepiece-length",
                                                           help="Characters (preset uer: 6; else 16)."),
    long_lines: str = typer.Option("split", "--long-lines", help="Lines longer than max-sentence-length: split "
                                                                  "(into sentences, packed) | skip (as UER's trainer did)."),
    spm_option: Optional[List[str]] = typer.Option(None, "--spm-option", help="Any other sentencepiece trainer "
                                                                               "field, KEY=VALUE (repeatable)."),
    verbose: bool = typer.Option(False, "--verbose", help="Show sentencepiece's training log."),
    on_error: str = typer.Option("continue", "--on-error", help="A corpus file that cannot be read: continue "
                                                                "(list it, exit 3) | fail (exit 2) | skip (exit 0)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished model made with other options or inputs."),
) -> None:
    """Train a sentencepiece word model (UER zoo settings with --preset uer) from a streamed corpus."""
    from zh_tokenizers.spm_train import SpmTrainConfig, finish, train_spm

    cfg = SpmTrainConfig(
        corpus=tuple(corpus), out_prefix=out_prefix, preset=preset, vocab_size=vocab_size,
        sample_sentences=sample_sentences, seed=seed, pre_segment=pre_segment, threads=threads, workers=workers,
        executor=executor, ray_address=ray_address,
        model_type=model_type, character_coverage=character_coverage, max_sentence_length=max_sentence_length,
        max_sentencepiece_length=max_sentencepiece_length, long_lines=long_lines,
        spm_options=_parse_spm_options(spm_option or []), verbose=verbose, on_error=on_error,
        overwrite=overwrite)
    card = train_spm(cfg)
    s = card["sentences"]
    typer.echo(f"wrote {card['model']['path']} ({card['model']['pieces']} pieces) from {s['fed_to_trainer']} "
               f"sentences ({s['lines']} lines, {s['skipped_too_long']} skipped as too long); "
               f"{card['timings_s']['total']} s", err=True)
    finish(card, cfg)
