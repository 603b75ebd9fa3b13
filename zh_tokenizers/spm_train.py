"""build-spm: train a sentencepiece model from streamed (optionally sampled) corpus sentences.

Sampling, long-line handling and jieba pre-segmentation happen here, not in sentencepiece, and the
trainer is fed through ``sentence_iterator``: so sentencepiece's own ``input``,
``input_sentence_size`` and ``shuffle_input_sentence`` never enter the stored TrainerSpec, which
with ``--preset uer`` therefore equals the one inside the zoo's ``cluecorpussmall_spm.model``.
"""
from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

from corpusprep.outdir import FileOutputs
from corpusprep.corpus_input import expand_corpus
from corpusprep.errors import InputError, ZooprepError
from corpusprep import shipping
from corpusprep.executors import make_executor
from corpusprep.lifecycle import raise_if_interrupted
from corpusprep.readers.failures import FailureLog
from zh_tokenizers.spm_corpus import (DEFAULT_CHUNK_BYTES, LONG_LINE_MODES, PRESEG_DELIMITER, BottomK, Counts,
                                      SentenceOptions, plan_units, scan_unit, segment_batch)

# The trainer settings stored in cluecorpussmall_spm.model (reference/spm_and_vocab.md section 1);
# every other field stays at sentencepiece's default, normalizer nmt_nfkc.
UER_PRESET: dict = {
    "vocab_size": 100000,
    "max_sentence_length": 1024,
    "max_sentencepiece_length": 6,
    "user_defined_symbols": ["[MASK]"] + [f"[unused{i}]" for i in range(1, 11)],
    "unk_id": 1,
    "bos_id": 2,
    "eos_id": 3,
    "pad_id": 0,
    "unk_piece": "[UNK]",
    "bos_piece": "[CLS]",
    "eos_piece": "[SEP]",
    "pad_piece": "[PAD]",
    "train_extremely_large_corpus": True,
}
PRESETS = {"uer": UER_PRESET, "none": {}}
SPM_DEFAULT_MAX_SENTENCE_LENGTH = 4192
# sentencepiece's default; a fixed number keeps the model the same on every machine (scores
# depend on the thread count in their last bits).
SPM_DEFAULT_THREADS = 16
SEGMENT_BATCH = 2000
# Fields zooprep sets itself: never taken from --spm-option.
RESERVED_OPTIONS = {"input", "model_prefix", "sentence_iterator", "model_writer", "pretokenization_delimiter",
                    "num_threads", "minloglevel"}  # the last two: --threads and --verbose


@dataclass(frozen=True)
class SpmTrainConfig:
    corpus: tuple[str, ...]
    out_prefix: str
    preset: str = "none"
    vocab_size: int | None = None
    sample_sentences: int = 0  # 0 = every sentence
    seed: int = 0
    pre_segment: str = "none"  # none | jieba
    threads: int | None = None  # trainer threads (None = sentencepiece's 16)
    workers: int = 1  # reading / segmenting processes
    executor: str = "local"  # local | ray: same model either way
    ray_address: str | None = None
    model_type: str | None = None
    character_coverage: float | None = None
    max_sentence_length: int | None = None
    max_sentencepiece_length: int | None = None
    long_lines: str = "split"
    spm_options: tuple[tuple[str, str], ...] = ()
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    verbose: bool = False
    on_error: str = "continue"  # continue | fail | skip (corpusprep.readers.failures)
    overwrite: bool = False  # replace a finished model made with other options or inputs (outdir.rerun)

    def validate(self) -> None:
        from corpusprep import options as opt
        from corpusprep.readers.failures import check_on_error

        opt.out_path(self.out_prefix, "--out-prefix")
        if str(self.out_prefix).endswith(("/", os.sep)):  # 'dir/' would write dir.model beside the folder
            raise ZooprepError(f"--out-prefix {self.out_prefix!r} ends in a separator; name the files, e.g. "
                               f"{self.out_prefix}spm (writes spm.model, spm.vocab there)")
        check_on_error(self.on_error)
        opt.integer("--workers", self.workers, 1, opt.MAX_WORKERS)
        opt.executor(self.executor, self.ray_address)
        if self.threads is not None:
            opt.integer("--threads", self.threads, 1, opt.MAX_WORKERS)
        if self.vocab_size is not None:
            opt.integer("--vocab-size", self.vocab_size, 1, 1 << 24)
        if self.character_coverage is not None:
            opt.number("--character-coverage", self.character_coverage, 0, 1, lo_open=True)
        if self.max_sentence_length is not None:
            opt.integer("--max-sentence-length", self.max_sentence_length, 1, 1 << 30)
        if self.max_sentencepiece_length is not None:
            opt.integer("--max-sentencepiece-length", self.max_sentencepiece_length, 1, 1 << 16)
        opt.integer("--seed", self.seed, 0, 2**63 - 1)
        if self.preset not in PRESETS:
            raise ZooprepError(f"--preset must be one of {sorted(PRESETS)}, not {self.preset!r}")
        if self.pre_segment not in ("none", "jieba"):
            raise ZooprepError(f"--pre-segment must be 'none' or 'jieba', not {self.pre_segment!r}")
        if self.long_lines not in LONG_LINE_MODES:
            raise ZooprepError(f"--long-lines must be one of {LONG_LINE_MODES}, not {self.long_lines!r}")
        if self.model_type not in (None, "unigram", "bpe", "char", "word"):
            raise ZooprepError(f"--model-type must be unigram, bpe, char or word, not {self.model_type!r}")
        if self.sample_sentences < 0:
            raise ZooprepError("--sample-sentences must be >= 0")
        if self.pre_segment == "jieba" and (self.model_type or "unigram") not in ("unigram", "bpe"):
            raise ZooprepError("--pre-segment jieba needs --model-type unigram or bpe")
        for key, _ in self.spm_options:
            if key in RESERVED_OPTIONS:
                raise ZooprepError(f"--spm-option {key} is set by build-spm itself")


def trainer_kwargs(cfg: SpmTrainConfig) -> dict:
    """The explicit sentencepiece trainer arguments: preset, then the options the user gave."""
    kw = dict(PRESETS[cfg.preset])
    for name in ("vocab_size", "model_type", "character_coverage", "max_sentence_length", "max_sentencepiece_length"):
        value = getattr(cfg, name)
        if value is not None:
            kw[name] = value
    for key, value in cfg.spm_options:
        kw[key] = value
    if cfg.pre_segment == "jieba":
        kw["pretokenization_delimiter"] = PRESEG_DELIMITER
    return kw


def _max_sentence_bytes(kw: dict) -> int:
    return int(kw.get("max_sentence_length", SPM_DEFAULT_MAX_SENTENCE_LENGTH))


# -- trainer spec helpers ------------------------------------------------------------------------
def load_model_proto(data: bytes):
    """Decode a .model file's bytes into sentencepiece's ModelProto (needs the protobuf package)."""
    try:
        from sentencepiece import sentencepiece_model_pb2 as pb
    except ImportError as exc:  # sentencepiece's generated module imports google.protobuf
        raise ZooprepError(f"reading a model's TrainerSpec needs the 'protobuf' package ({exc})") from None
    proto = pb.ModelProto()
    proto.ParseFromString(data)
    return proto


def _is_repeated(fd) -> bool:
    flag = getattr(fd, "is_repeated", None)  # protobuf >= 6; older releases only have ``label``
    return bool(flag) if flag is not None else fd.label == fd.LABEL_REPEATED


def spec_fields(spec) -> dict:
    """Every TrainerSpec field -> {"value", "set"}: effective value (default when unset) and presence."""
    out = {}
    for fd in spec.DESCRIPTOR.fields:
        value = getattr(spec, fd.name)
        if _is_repeated(fd):
            value, present = list(value), len(value) > 0
        else:
            present = spec.HasField(fd.name)
        if fd.enum_type is not None and not isinstance(value, list):
            value = fd.enum_type.values_by_number[value].name
        out[fd.name] = {"value": value, "set": present}
    return out


def compare_specs(a, b, ignore: tuple[str, ...] = ("input", "model_prefix")) -> dict:
    """Fields whose effective value or presence differs between two TrainerSpecs: name -> (a, b)."""
    fa, fb = spec_fields(a), spec_fields(b)
    return {name: (fa[name], fb[name]) for name in fa if name not in ignore and fa[name] != fb[name]}


def _apply_spec_edits(proto, kw: dict) -> list[str]:
    """Keep the stored spec to the model's settings; returns what was changed, for the card."""
    edits = []
    spec = proto.trainer_spec
    if spec.HasField("num_threads"):
        # A run-time resource, not a model setting: recorded in the card instead.
        spec.ClearField("num_threads")
        edits.append("num_threads cleared (recorded in the card)")
    if kw.get("train_extremely_large_corpus") and not spec.train_extremely_large_corpus:
        # sentencepiece 0.2.x logs "--train_extremely_large_corpus is deprecated and ignored" and
        # drops it; the zoo's spec has it, so it is written back as the record of the setting.
        spec.train_extremely_large_corpus = True
        edits.append("train_extremely_large_corpus=true written back (sentencepiece >= 0.2 drops it)")
    return edits


def _for_this_sentencepiece(kw: dict, version: str) -> dict:
    """Drop flags this sentencepiece ignores (it would only warn); _apply_spec_edits records them."""
    major_minor = tuple(int(x) for x in version.split(".")[:2] if x.isdigit())
    if major_minor >= (0, 2):
        return {k: v for k, v in kw.items() if k != "train_extremely_large_corpus"}
    return dict(kw)


# -- the run -----------------------------------------------------------------------------------
@dataclass
class _Stats:
    counts: Counts = field(default_factory=Counts)
    files: dict = field(default_factory=dict)  # file index -> list of unit sha256
    failures: FailureLog = field(default_factory=FailureLog)
    read_s: float = 0.0
    segment_s: float = 0.0
    fed: int = 0


def _scan(units, opts: SentenceOptions, ex, stats: _Stats):
    tasks = ((u, opts) for u in units)
    for res in ex.map(scan_unit, tasks):
        stats.counts.add(res.counts)
        if res.failed:
            stats.failures.add_record(res.failed)
        stats.files.setdefault(res.unit.file_index, []).append(res.sha256)
        yield res


def _all_sentences(units, opts, ex, stats) -> Iterator[str]:
    t0 = time.perf_counter()
    for res in _scan(units, opts, ex, stats):
        yield from res.sentences
    stats.read_s = time.perf_counter() - t0


def _sampled_sentences(cfg, units, opts, ex, stats) -> list[str]:
    t0 = time.perf_counter()
    merged = BottomK(opts.sample_k)
    for res in _scan(units, opts, ex, stats):
        merged.add(res.sample)
    sample = merged.sentences()
    stats.read_s = time.perf_counter() - t0
    if cfg.pre_segment == "jieba":
        t1 = time.perf_counter()
        batches = [(sample[i:i + SEGMENT_BATCH], opts.max_bytes) for i in range(0, len(sample), SEGMENT_BATCH)]
        out: list[str] = []
        for sents, coll, cuts in ex.map(segment_batch, batches):
            out.extend(sents)
            stats.counts.delimiter_in_input += coll
            stats.counts.hard_cuts += cuts
        sample = out
        stats.segment_s = time.perf_counter() - t1
    return sample


def _counting(it, stats: _Stats) -> Iterator[str]:
    for s in it:
        stats.fed += 1
        yield s


def _peak_rss_mb() -> dict:
    to_mb = 1 / 1024  # ru_maxrss is KiB on Linux
    return {"main": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * to_mb, 1),
            "workers_max": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * to_mb, 1)}


def _file_digests(files, stats: _Stats, chunk_bytes: int) -> list[dict]:
    out = []
    for i, f in enumerate(files):
        parts = stats.files.get(i, [])
        if len(parts) == 1:
            digest, method = parts[0], "sha256"
        else:  # a text file read as several units: sha256 over the units' sha256 hex digests
            digest = hashlib.sha256("".join(parts).encode()).hexdigest()
            method = f"sha256 of {len(parts)} chunk sha256s ({chunk_bytes} byte chunks)"
        out.append({"path": f.path, "kind": f.kind, "size": f.size, "digest": digest, "digest_method": method})
    return out


def _write_vocab(path: Path, proto) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for p in proto.pieces:
            fh.write(f"{p.piece}\t{p.score:g}\n")  # sentencepiece's own .vocab layout


def output_paths(cfg: SpmTrainConfig) -> tuple[Path, Path, Path]:
    """PREFIX.model, PREFIX.vocab, PREFIX.card.json."""
    prefix = Path(cfg.out_prefix)
    return tuple(prefix.with_name(prefix.name + ext) for ext in (".model", ".vocab", ".card.json"))


def spm_outputs(cfg: SpmTrainConfig, files: list) -> FileOutputs:
    model, vocab, card = output_paths(cfg)
    from corpusprep.outdir.rerun import cli_options

    return FileOutputs("build-spm", [model, vocab], card, [*cfg.corpus, *files], option="--out-prefix",
                       overwrite=cfg.overwrite, rerun_options=cli_options(cfg))


def train_spm(cfg: SpmTrainConfig) -> dict:
    """Train, write P.model / P.vocab / P.card.json as one unit (all new or all old); return the card."""
    cfg.validate()
    from corpusprep.storage import is_url

    if is_url(cfg.out_prefix):  # trained and written locally, uploaded, card last
        from dataclasses import replace

        from corpusprep.outdir.remote import RemoteFiles

        p = cfg.out_prefix
        rf = RemoteFiles("build-spm", [p + ".model", p + ".vocab"], p + ".card.json", cfg.corpus, "--out-prefix")
        rf.check()
        local = replace(cfg, out_prefix=str(rf.local(p)))
        return rf.fix(rf.run(lambda: train_spm(local)))
    with spm_outputs(cfg, []) as outputs:
        return _train(cfg, outputs)


def _train(cfg: SpmTrainConfig, outputs: FileOutputs) -> dict:
    import sentencepiece as spm

    t_start = time.perf_counter()
    outputs.check()  # before training: never an input, never a file zooprep did not write
    stats = _Stats(failures=FailureLog(cfg.on_error))
    files = expand_corpus(list(cfg.corpus), stats.failures)
    from corpusprep.outdir.complete import check_versions, input_versions

    versions = input_versions(f.path for f in files)  # zooprep outputs read: compared again before the commit
    outputs.inputs += [f.path for f in files]
    outputs.check()
    kw = trainer_kwargs(cfg)
    max_bytes = _max_sentence_bytes(kw)
    opts = SentenceOptions(max_bytes=max_bytes, long_lines=cfg.long_lines, sample_k=cfg.sample_sentences,
                           seed=cfg.seed, pre_segment=cfg.pre_segment)
    units = shipping.units(plan_units(files, cfg.chunk_bytes, stats.failures))  # absolute before shipping
    if not units:
        raise stats.failures.nothing_read(cfg.corpus)
    threads = cfg.threads or SPM_DEFAULT_THREADS
    with make_executor(cfg.executor, max(1, cfg.workers), cfg.ray_address) as ex:
        if cfg.sample_sentences:
            stream: Iterator[str] = iter(_sampled_sentences(cfg, units, opts, ex, stats))
        else:
            stream = _all_sentences(units, opts, ex, stats)
        first = next(stream, None)
        if first is None:
            c = stats.counts
            raise InputError(", ".join(map(str, cfg.corpus)), f"no text to train on ({c.lines} lines: {c.empty} empty, "
                                                    f"{c.invalid_utf8} not UTF-8, {c.skipped_too_long} too long)")
        passed = _for_this_sentencepiece(kw, spm.__version__)
        writer = io.BytesIO()
        t_train = time.perf_counter()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=_counting(itertools.chain([first], stream), stats), model_writer=writer,
                num_threads=threads, minloglevel=0 if cfg.verbose else 2, **passed)
        except (RuntimeError, ValueError) as exc:
            raise_if_interrupted()  # a Ctrl-C / SIGTERM while the trainer was reading sentences
            if isinstance(exc, ValueError) and "INVALID_ARGUMENT" not in str(exc):
                raise
            msg = str(exc).split("] ", 1)[-1].strip()  # e.g. a --spm-option value of the wrong type
            raise ZooprepError(f"sentencepiece could not train on {', '.join(map(str, cfg.corpus))}: {msg}") from None
        train_s = time.perf_counter() - t_train  # when streaming, this includes reading
    proto = load_model_proto(writer.getvalue())
    edits = _apply_spec_edits(proto, kw)
    model_bytes = proto.SerializeToString()

    model_path, vocab_path, card_path = output_paths(cfg)
    file_list = _file_digests(files, stats, cfg.chunk_bytes)
    corpus_fp = hashlib.sha256(json.dumps([[f["path"], f["size"], f["digest"]] for f in file_list]).encode()).hexdigest()
    spec = spec_fields(proto.trainer_spec)
    card = {
        "zooprep_command": "build-spm",
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "trainer_arguments": {**{k: v for k, v in kw.items() if k != "pretokenization_delimiter"},
                              "num_threads": threads},
        "trainer_spec": {k: v["value"] for k, v in spec.items()},
        "trainer_spec_set_fields": [k for k, v in spec.items() if v["set"]],
        "trainer_spec_edits": edits,
        "normalizer": proto.normalizer_spec.name,
        "pre_segment": _preseg_card(cfg, stats),
        "corpus": {"fingerprint": corpus_fp, "files": file_list, "failed_files": stats.failures.as_list()},
        "sentences": {**asdict(stats.counts), "sampled": cfg.sample_sentences > 0,
                      "sample_size": cfg.sample_sentences or None, "fed_to_trainer": stats.fed,
                      "long_lines": cfg.long_lines, "max_sentence_bytes": max_bytes},
        "timings_s": {"read": round(stats.read_s, 3), "segment": round(stats.segment_s, 3),
                      "train": round(train_s, 3), "total": round(time.perf_counter() - t_start, 3)},
        "peak_rss_mb": _peak_rss_mb(),
        "sentencepiece_version": spm.__version__,
        "model": {"path": str(model_path), "sha256": hashlib.sha256(model_bytes).hexdigest(),
                  "pieces": len(proto.pieces)},
    }
    _write_vocab(outputs.stage(vocab_path), proto)
    with outputs.open(model_path, "wb") as fh:
        fh.write(model_bytes)
    check_versions(versions)
    return outputs.commit(card)  # the card last: naming both files with their sha256 means the set is complete


def finish(card: dict, cfg: SpmTrainConfig) -> None:
    """Name the corpus files that failed; exit 3 under --on-error continue."""
    log = FailureLog(cfg.on_error)
    for entry in card["corpus"]["failed_files"]:
        log.add_record(entry)
    from corpusprep.storage import display

    log.finish(display(f"{cfg.out_prefix}.card.json"))


def _preseg_card(cfg: SpmTrainConfig, stats: _Stats) -> dict:
    if cfg.pre_segment != "jieba":
        return {"method": "none"}
    import jieba

    return {"method": "jieba", "jieba_version": getattr(jieba, "__version__", "?"), "hmm": True,
            "how": "words joined with U+E000 and passed as sentencepiece's pretokenization_delimiter "
                   "(pieces never cross it; the trainer removes it; it is stored in the TrainerSpec)",
            "lines_already_holding_delimiter": stats.counts.delimiter_in_input}
