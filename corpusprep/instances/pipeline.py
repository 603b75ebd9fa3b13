"""`shard` end to end: plan work units, run them on an executor (skipping finished ones), assemble.

OUT is claimed through ``corpusprep.outdir`` (marker, lock). Layout while running:
``OUT/.zooprep/work/plan.json`` (options and tokenizer being built) and ``.../work/parts/`` (one Arrow
part + done-marker per unit). A rerun with the same plan skips every unit whose done-marker still
holds (same unit, input size + mtime_ns + sha256 of its bytes, part checksum). Assembly moves the parts
to ``data-XXXXX-of-YYYYY.arrow`` in unit order in the staging area, writes the datasets/zooprep
metadata, and swaps everything into OUT, writing the complete state last.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from corpusprep import __version__, storage
from corpusprep.atomic import sha256_file, write_json
from corpusprep.corpus_input import CorpusFile, expand_corpus
from corpusprep.executors import make_executor
from corpusprep.instances.arrow_io import id_dtype, instance_schema, write_datasets_metadata
from corpusprep.instances.format import FORMAT_VERSION
from corpusprep.instances.build import UnitContext, load_marker, process_unit
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.sources import plan_units
from corpusprep.instances.stats import hints, merge_stats
from corpusprep.outdir import OutputDir
from corpusprep.outdir.nodes import on_nodes
from corpusprep.progress import progress
from corpusprep import shipping
from corpusprep.readers.failures import FailureLog


@dataclass
class ShardResult:
    out: Path
    meta: dict
    resumed_units: int
    built_units: int


def load_tokenizer_for(cfg: ShardConfig):
    """The tokenizer the options name, from zh_tokenizers (FORMATS.md sec. 3)."""
    from zh_tokenizers import load_tokenizer

    if cfg.spm is not None:
        return load_tokenizer(spm=str(cfg.spm))
    kwargs = {"vocab": str(cfg.vocab), "kind": cfg.tokenizer_kind or "bert"}
    if cfg.uer_compat:
        kwargs["uer_compat"] = True
    return load_tokenizer(**kwargs)


def sources_with_checksums(sources: list[CorpusFile]) -> list[dict]:
    return [{"path": s.path, "sha256": storage.sha256(s.path) if storage.is_url(s.path) else sha256_file(s.path),
             "bytes": s.size} for s in sources]


def source_identity(sources: list[CorpusFile]) -> list[list]:
    """What identifies the inputs of a finished build cheaply (no read): path, size, mtime_ns (an
    object's ETag / version for a URL)."""
    return [[s.path, s.size, _object_tag(s.path) if storage.is_url(s.path) else os.stat(s.path).st_mtime_ns]
            for s in sources]


def _object_tag(url: str) -> str:
    i = storage.info(url)
    return f"{i['etag']}/{i['version']}"


METADATA = ["dataset_info.json", "state.json", "zooprep.json"]  # swapped in last, after the data files


def input_paths(cfg: ShardConfig, sources: list[CorpusFile]) -> list:
    """Everything the run reads; OUT may not be, contain or lie inside any of them."""
    return [*cfg.corpus, *(s.path for s in sources), cfg.vocab, cfg.spm]


def open_out(cfg: ShardConfig, sources: list[CorpusFile]) -> OutputDir:
    return OutputDir.open(cfg.out, "shard", input_paths(cfg, sources), overwrite=cfg.overwrite)


def plan_digest(plan: dict) -> str:
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()


def already_built(od: OutputDir, plan: dict) -> "ShardResult | None":
    """A killed run had finished building this very plan and the swap was completed on open."""
    done = od.rolled_forward
    if done is None or done.get("plan") != plan_digest(plan):
        return None
    meta = json.loads((od.root / "zooprep.json").read_text(encoding="utf-8"))
    return ShardResult(od.root, meta, 0, 0)


def _add_up(dicts) -> dict:
    total: dict = {}
    for d in dicts:
        for k, v in d.items():
            total[k] = total.get(k, 0) + v
    return dict(sorted(total.items()))


def _summarize(results: list[dict], row_len: int, processor: str = "mlm", full_sentences: bool = False) -> dict:
    tot = {k: 0 for k in ("documents", "instances", "tokens", "content_tokens", "unk")}
    for r in results:
        for k in tot:
            tot[k] += r["stats"][k]
    slots = tot["instances"] * row_len
    counts = {
        "documents": tot["documents"], "instances": tot["instances"], "tokens": tot["tokens"],
        "padding_share": round(1 - tot["tokens"] / slots, 6) if slots else 0.0,
        "unk_rate": round(tot["unk"] / tot["content_tokens"], 6) if tot["content_tokens"] else 0.0,
        "content_tokens": tot["content_tokens"], "unk_tokens": tot["unk"],
        "rejected_lines": sum(r.get("rejected", 0) for r in results),
        "rejected_reasons": _add_up(r.get("rejected_reasons") or {} for r in results),
        "empty_documents": sum(r.get("empty_documents", 0) for r in results),
    }
    counts.update(merge_stats(r["stats"].get("more") for r in results))
    counts["hints"] = hints(counts, processor, full_sentences)
    return counts


def processor_options(cfg: ShardConfig, tok) -> dict:
    proc = cfg.data_processor
    return proc.options(cfg, tok) if proc.options else {}


def build_metadata(cfg: ShardConfig, tok, dtype: str, sources: list[dict], counts: dict, files: list[dict],
                   samples: list) -> dict:
    return {
        "zooprep_version": __version__, "format_version": FORMAT_VERSION,
        "processor": cfg.processor, "seq_len": cfg.seq_len, "row_len": cfg.row_len,
        "tokenizer": tok.describe(), "special_ids": dict(tok.special_ids), "dtype": dtype, "seed": cfg.seed,
        "full_sentences": cfg.full_sentences, "static_masking": cfg.static_masking,
        "dup_factor": cfg.dup_factor, "whole_word": cfg.whole_word,
        "sources": sources, "counts": counts, "files": files,
        "manifest": cfg.manifest(),
        "options": cfg.options(),
        "processor_options": processor_options(cfg, tok),
        "reject_samples": samples[:20],
    }


def assemble(work: Path, od: OutputDir, cfg: ShardConfig, tok, schema, dtype: str, results: list[dict],
             sources: list[dict], plan: dict, failed: list[dict] | None = None) -> dict:
    """Move parts in unit order into the stage, write dataset_info/state/zooprep.json, swap into OUT."""
    final = od.stage
    keep = [r for r in results if r["rows"] > 0] or results[:1]
    files = []
    for i, r in enumerate(keep):
        name = f"data-{i:05d}-of-{len(keep):05d}.arrow"
        (work / "parts" / r["part"]).rename(final / name)
        files.append({"path": name, "sha256": r["sha256"], "rows": r["rows"]})
    fingerprint = hashlib.sha256("".join(f["sha256"] for f in files).encode()).hexdigest()[:16]
    write_datasets_metadata(final, schema, [f["path"] for f in files], fingerprint)
    counts = _summarize(results, cfg.row_len, cfg.processor, cfg.full_sentences)
    samples = [s for r in results for s in r.get("reject_samples", [])]
    meta = build_metadata(cfg, tok, dtype, sources, counts, files, samples)
    if cfg.encode_only:
        from corpusprep.instances.encoded import metadata

        meta = metadata(meta, results)
    meta["failed_files"] = failed or []
    write_json(final / "zooprep.json", meta)
    od.commit(last=METADATA, plan=plan_digest(plan), summary={"instances": counts["instances"], "files": len(files)})
    return meta


def _finished_results(units, parts_dir: Path) -> dict[int, dict]:
    """Results of units a previous run finished (inputs unchanged, part intact); says why others are redone."""
    results, why = {}, []
    for u in units:
        done = load_marker(parts_dir, u, why)
        if done is not None:
            results[u.index] = done
    for reason in why:
        print(f"shard: redoing the work of a previous run: {reason}", file=sys.stderr)
    return results


def _run_pending(cfg: ShardConfig, ctx: UnitContext, units, results: dict[int, dict], unit_fn, od=None) -> int:
    """Build every unit not in ``results`` (adding them), with a progress bar; returns how many."""
    pending = [u for u in units if u.index not in results]
    with progress(sum(u.size for u in units), f"shard {cfg.processor}", unit="B", enabled=cfg.show_progress) as advance:
        advance(sum(u.size for u in units if u.index in results))
        with on_nodes(make_executor(cfg.executor, cfg.workers, cfg.ray_address), od) as executor:
            for unit, result in zip(pending, executor.map(partial(unit_fn, ctx), pending)):
                results[unit.index] = result
                advance(unit.size)
    return len(pending)


def run_shard(cfg: ShardConfig, tok=None, unit_fn=process_unit) -> ShardResult:
    """Build the output directory ``cfg.out``; ``tok`` overrides the tokenizer the options name."""
    cfg.validate()
    tok = tok if tok is not None else load_tokenizer_for(cfg)
    proc = cfg.data_processor
    if proc.check:
        proc.check(cfg, tok)
    from corpusprep.options import require_special_ids

    require_special_ids(dict(tok.special_ids), cfg.processor, str(cfg.spm or cfg.vocab or "tokenizer"))
    failures = FailureLog(cfg.on_error)
    sources = expand_corpus(cfg.corpus, failures)
    with open_out(cfg, sources) as od:
        if cfg.uer_compat:
            from corpusprep.instances.compat_uer import run_compat

            return run_compat(cfg, tok, sources, od)
        dtype = id_dtype(tok.vocab_size)
        if cfg.encode_only:  # documents stored once; views cut them at load time (instances/encoded.py)
            from corpusprep.instances import encoded

            schema = encoded.encoded_schema(dtype)
            unit_fn = encoded.process_unit if unit_fn is process_unit else unit_fn
        else:
            schema = instance_schema(proc.column_names(cfg.static_masking, cfg.whole_word), dtype, cfg.row_len)
        units = plan_units(sources, proc.layout, int(cfg.unit_mb * (1 << 20)), failures)
        if not units:
            raise failures.nothing_read(cfg.corpus)
        units = shipping.units(units)  # absolute before any executor sees them; records keep u.source
        plan = {"zooprep_version": __version__, "options": cfg.options(), "tokenizer": tok.fingerprint}
        build_id = {**plan, "units": [[u.source, u.start, u.end] for u in units], "sources": source_identity(sources)}
        done = already_built(od, build_id)
        if done is not None:
            return done
        work = od.open_work(plan)
        (work / "parts").mkdir(exist_ok=True)
        results = _finished_results(units, work / "parts")
        resumed = len(results)
        hasher = ThreadPoolExecutor(1)  # hashlib releases the GIL: source checksums overlap the work
        try:
            source_info = hasher.submit(sources_with_checksums, sources)
            built = _run_pending(cfg, UnitContext(cfg, tok, schema, shipping.path(work / "parts")), units, results, unit_fn,
                                 od)
            for u in units:
                if results[u.index].get("failed"):
                    failures.add_record(results[u.index]["failed"])
            meta = assemble(work, od, cfg, tok, schema, dtype, [results[u.index] for u in units], source_info.result(),
                            build_id, failures.as_list())
        finally:
            hasher.shutdown(wait=False, cancel_futures=True)
    return ShardResult(cfg.out, meta, resumed, built)
