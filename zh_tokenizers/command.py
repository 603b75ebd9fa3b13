"""CLI commands ``build-vocab`` and ``tokenize``: parse options, then delegate."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from zh_tokenizers.build_vocab_run import BuildVocabConfig, run_build_vocab
from zh_tokenizers.tokenize_run import TokenizeConfig, run_tokenize


def build_vocab(
    corpus: List[str] = typer.Argument(..., help="Text files (one document or sentence per line, UTF-8) or "
                                                  "`clean` output dirs / .parquet files (their `text` column)."),
    out: str = typer.Option(..., "--out", help="Vocab file to write (one token per line, id = line number; a "
                                               "URL such as s3://bucket/vocab.txt too)."),
    min_freq: int = typer.Option(1, "--min-freq", help="Keep characters (and ## entries) seen at least this often."),
    max_size: Optional[int] = typer.Option(None, "--max-size", help="At most this many lines in the vocab."),
    coverage: Optional[float] = typer.Option(None, "--coverage", help="Keep the most frequent characters until "
                                                                       "they cover this share (e.g. 0.9999)."),
    min_word_freq: int = typer.Option(100, "--min-word-freq", help="Whole-word entries for non-CJK words seen "
                                                                   "at least this often."),
    extend: Optional[str] = typer.Option(None, "--extend", help="Keep this vocab's lines and ids; append the "
                                                                 "corpus's new characters (with --min-freq)."),
    compare: Optional[List[str]] = typer.Option(None, "--compare", help="Also report coverage of this vocab "
                                                                          "(repeatable)."),
    report: Optional[str] = typer.Option(None, "--report", help="JSON report path [default: OUT.report.json]."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Counting processes [default: all cores]."),
    executor: str = typer.Option("local", "--executor", help="local | ray (same vocab either way)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster address (with --executor ray)."),
    on_error: str = typer.Option("continue", "--on-error", help="A corpus file that cannot be read: continue "
                                                                "(list it, exit 3) | fail (exit 2) | skip (exit 0)."),
) -> None:
    """Build a BERT char vocab (google layout) from a corpus, with a coverage / [UNK] report."""
    summary = run_build_vocab(BuildVocabConfig(
        corpus=list(corpus), out=out, min_freq=min_freq, max_size=max_size, coverage=coverage,
        min_word_freq=min_word_freq, extend=extend, compare=list(compare or []), report=report, workers=workers,
        executor=executor, ray_address=ray_address, on_error=on_error))
    typer.echo(summary, err=True)


def tokenize(
    vocab: Optional[str] = typer.Option(None, "--vocab", help="Vocab .txt (google layout; a URL too)."),
    spm: Optional[str] = typer.Option(None, "--spm", help="Sentencepiece .model (word tokenizer; a URL too)."),
    kind: str = typer.Option("bert", "--kind", help="bert | char | space (UER-py tokenizer names)."),
    uer: bool = typer.Option(False, "--uer", help="UER-py BertTokenizer behaviour instead of Hugging Face's."),
    ids: bool = typer.Option(False, "--ids", help="Print ids instead of tokens."),
    lower_case: bool = typer.Option(True, "--lower-case/--no-lower-case", help="BERT do_lower_case."),
) -> None:
    """Tokenize stdin: one output line of space-separated tokens (or ids) per input line."""
    run_tokenize(TokenizeConfig(vocab=vocab, spm=spm, kind=kind, uer_compat=uer, ids=ids, do_lower_case=lower_case))
