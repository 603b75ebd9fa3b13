"""``build-vocab``: count the corpus in parallel work units, build the vocab, write it and its report."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from corpusprep.executors import make_executor
from corpusprep.outdir import FileOutputs
from corpusprep.outdir.rerun import cli_options
from corpusprep.progress import progress


@dataclass(frozen=True)
class BuildVocabConfig:
    corpus: list[str]
    out: Path
    min_freq: int = 1
    max_size: int | None = None
    coverage: float | None = None
    min_word_freq: int = 100
    extend: Path | None = None
    compare: list[Path] = field(default_factory=list)
    report: Path | None = None
    workers: int | None = None
    executor: str = "local"  # local | ray
    ray_address: str | None = None
    on_error: str = "continue"  # continue | fail | skip (corpusprep.readers.failures)
    overwrite: bool = False  # replace a finished vocab made with other options or inputs (outdir.rerun)

    def validate(self) -> None:
        from corpusprep import options as opt
        from corpusprep.readers.failures import check_on_error

        opt.out_path(self.out)
        opt.integer("--min-freq", self.min_freq, 1)
        if self.coverage is not None:
            opt.number("--coverage", self.coverage, 0, 1, lo_open=True)
        if self.max_size is not None and self.extend is None:  # the header ([PAD], [unused*], [UNK] ...)
            from zh_tokenizers.vocab_build import HEADER  # plus at least one token; with --extend: the base

            opt.integer("--max-size", self.max_size, len(HEADER) + 1)  # (_check_max_size, once it is read)
        elif self.max_size is not None:
            opt.integer("--max-size", self.max_size, 1)
        opt.integer("--min-word-freq", self.min_word_freq, 1)
        opt.workers(self.workers)
        opt.executor(self.executor, self.ray_address)
        check_on_error(self.on_error)


def _check_max_size(cfg: BuildVocabConfig, base) -> None:
    """--max-size caps the file at N lines, but the header (or every line of the --extend base) is
    always written: a smaller N would be silently exceeded, so it is refused."""
    from corpusprep.errors import ZooprepError
    from zh_tokenizers.vocab_build import HEADER

    floor, what = (len(base.lines), f"the --extend vocab {cfg.extend}") if base is not None else \
        (len(HEADER), "the [PAD]/[unused]/[UNK]/[CLS]/[SEP]/[MASK] header")
    if cfg.max_size is not None and cfg.max_size < floor:
        raise ZooprepError(f"--max-size {cfg.max_size}: below the {floor} lines of {what}, which are always kept")


def report_path(cfg: BuildVocabConfig) -> Path:
    return cfg.report or Path(cfg.out).with_name(Path(cfg.out).name + ".report.json")


def run_build_vocab(cfg: BuildVocabConfig) -> str:
    """Returns a one-line summary; writes ``cfg.out`` and the JSON report (its card) as one unit."""
    from dataclasses import replace

    from corpusprep.storage import is_url

    if is_url(str(cfg.out)) or is_url(str(cfg.report or "")):  # written locally, uploaded, report (card) last
        from corpusprep.outdir.remote import RemoteFiles

        report = str(cfg.report or f"{cfg.out}.report.json")
        rf = RemoteFiles("build-vocab", [str(cfg.out)], report, [*cfg.corpus, cfg.extend, *cfg.compare])
        rf.check()
        local = replace(cfg, out=rf.local(cfg.out), report=rf.local(report))
        return rf.fix_text(rf.run(lambda: run_build_vocab(local)))
    cfg = replace(cfg, out=Path(cfg.out), report=Path(cfg.report) if cfg.report else None)
    from corpusprep.readers.failures import FailureLog

    cfg.validate()
    started = time.time()
    failures = FailureLog(cfg.on_error)
    with FileOutputs("build-vocab", [cfg.out], report_path(cfg), [*cfg.corpus, cfg.extend, *cfg.compare],
                     options=["--out"], overwrite=cfg.overwrite, rerun_options=cli_options(cfg)) as outputs:
        return _build(cfg, outputs, failures, started)


def _build(cfg: BuildVocabConfig, outputs: FileOutputs, failures, started: float) -> str:
    from corpusprep.corpus_input import expand_corpus
    from corpusprep.errors import ZooprepError
    from zh_tokenizers.vocab_build import HEADER, VocabRules, char_stats, extend_vocab, new_vocab
    from zh_tokenizers.vocab_count import count_unit, plan_units
    from zh_tokenizers.vocab_file import read_vocab
    from zh_tokenizers.vocab_report import coverage_report

    outputs.option = "--report" if cfg.report else "--out"
    outputs.check()  # before the long count: never an input, never a file zooprep did not write
    files = expand_corpus(cfg.corpus, failures)
    from corpusprep.outdir.complete import check_versions, input_versions

    versions = input_versions(f.path for f in files)  # zooprep outputs read: compared again before the commit
    outputs.inputs += [f.path for f in files]
    outputs.check()
    from corpusprep import shipping

    units = shipping.units(plan_units(files, failures=failures))  # absolute before any executor sees them
    if not units:
        raise failures.nothing_read(cfg.corpus)
    base = read_vocab(cfg.extend) if cfg.extend else None
    _check_max_size(cfg, base)
    compares = [read_vocab(p) for p in cfg.compare]  # fail on a bad path before the long count
    texts = 0
    rejected: Counter = Counter()
    counts = Counter()  # merged as units finish: memory is the distinct tokens, not the number of units
    with make_executor(cfg.executor, cfg.workers, cfg.ray_address) as ex, progress(len(units), "counting", unit="units") as advance:
        for part, n, seen in ex.map(count_unit, units):
            counts.update(part)
            texts += n
            rejected.update(seen["rejected"])
            if seen["failed"]:
                failures.add_record(seen["failed"])
            advance(1)
    if not counts:  # success means a vocab of the corpus: nothing read is an error, not "coverage 1.0"
        if failures.failed:
            raise failures.nothing_read(cfg.corpus)
        raise ZooprepError(f"{', '.join(map(str, cfg.corpus))}: no text to count ({texts} lines, "
                           f"{sum(rejected.values())} rejected); nothing to build a vocab from")
    if base is not None and cfg.max_size is not None and cfg.max_size < len(base.lines):
        raise ZooprepError(f"--max-size {cfg.max_size} is below the {len(base.lines)} entries of --extend "
                           f"{cfg.extend}; it must be at least {len(base.lines)}")
    rules = VocabRules(min_freq=cfg.min_freq, max_size=cfg.max_size, coverage=cfg.coverage,
                       min_word_freq=cfg.min_word_freq)
    stats = char_stats(counts)
    if base is not None:
        lines = extend_vocab(list(base.lines), set(base.id_to_token), stats, rules)
        tokens = list(base.id_to_token) + lines[len(base.lines):]
    else:
        lines = tokens = new_vocab(stats, rules)
    if base is None and not stats.chars:
        raise ZooprepError(f"{', '.join(map(str, cfg.corpus))}: no character to put in the vocab "
                           f"({stats.total_chars} characters counted)")
    if base is None and len(tokens) <= len(HEADER):
        raise ZooprepError(f"no character is seen --min-freq {cfg.min_freq} times: the vocab would hold only "
                           "its special tokens")
    with outputs.open(cfg.out) as fh:
        fh.write("".join(t + "\n" for t in lines))

    rep = {
        "command": "build-vocab",
        "out": str(cfg.out),
        "options": {"min_freq": cfg.min_freq, "max_size": cfg.max_size, "coverage": cfg.coverage,
                    "min_word_freq": cfg.min_word_freq, "extend": str(cfg.extend) if cfg.extend else None},
        "corpus": {"files": [f.path for f in files], "units": len(units), "texts": texts,
                   "rejected_lines": dict(sorted(rejected.items())), "failed_files": failures.as_list(),
                   "characters": stats.total_chars, "distinct_characters": len(stats.chars),
                   "distinct_tokens": len(counts)},
        "vocab_size": len(tokens),
        "added_to_base": len(tokens) - len(base.lines) if base is not None else None,
        "vocabs": [coverage_report(counts, stats, tokens, str(cfg.out))]
                  + [coverage_report(counts, stats, v.id_to_token, v.path) for v in compares],
        "seconds": round(time.time() - started, 3),
    }
    check_versions(versions)
    outputs.commit(rep)  # the report is the card: written last, names the vocab with its sha256
    own = rep["vocabs"][0]
    summary = (f"wrote {cfg.out} ({len(tokens)} tokens); char coverage {own['char_coverage']:.6f}, "
               f"[UNK] rate {own['unk_rate']:.6f}; report {report_path(cfg)}")
    if failures.failed:
        import sys

        print(summary, file=sys.stderr)
    failures.finish(str(report_path(cfg)))
    return summary
