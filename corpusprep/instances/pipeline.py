"""`shard` end to end: plan work units, run them on an executor (skipping finished ones), assemble.

OUT is claimed through ``corpusprep.outdir`` (marker, lock). Layout while running:
``OUT/.zooprep/work/plan.json`` (options and tokenizer being built) and ``.../work/parts/`` (one Arrow
part + done-marker per unit). A rerun with the same plan skips every unit whose done-marker still
holds (same unit, input size + mtime_ns + sha256 of its bytes, part checksum). Assembly moves the parts
to ``data-XXXXX-of-YYYYY.arrow`` in unit order in the staging area, writes the datasets/zooprep
metadata, and swaps everything into OUT, writing the complete state last.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from corpusprep import __version__, shipping
from corpusprep.corpus_input import expand_corpus
from corpusprep.instances.arrow_io import instance_schema
from corpusprep.instances.build import UnitContext, process_unit
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.shard_parts import (ShardResult, _finished_results, _run_pending, already_built, assemble,
                                              load_target_tokenizer, load_tokenizer_for, open_out, refuse_empty,
                                              shard_dtype, source_identity, sources_with_checksums)
from corpusprep.instances.sources import plan_units
from corpusprep.outdir.complete import check_versions, input_versions
from corpusprep.readers.failures import FailureLog


def run_shard(cfg: ShardConfig, tok=None, unit_fn=process_unit) -> ShardResult:
    """Build the output directory ``cfg.out``; ``tok`` overrides the tokenizer the options name."""
    cfg.validate()
    tok = tok if tok is not None else load_tokenizer_for(cfg)
    proc = cfg.data_processor
    if proc.check:
        proc.check(cfg, tok)
    from corpusprep.options import require_special_ids

    require_special_ids(dict(tok.special_ids), cfg.processor, str(cfg.spm or cfg.vocab or "tokenizer"))
    tgt_tok = load_target_tokenizer(cfg)
    if tgt_tok is not None:
        require_special_ids(dict(tgt_tok.special_ids), cfg.processor, str(cfg.tgt_spm or cfg.tgt_vocab))
    failures = FailureLog(cfg.on_error)
    sources = expand_corpus(cfg.corpus, failures)
    versions = input_versions(s.path for s in sources)  # zooprep outputs read: compared again before the commit
    with open_out(cfg, sources) as od:
        if cfg.uer_compat:
            from corpusprep.instances.compat_uer import run_compat

            return run_compat(cfg, tok, sources, od, tgt_tok)
        dtype = shard_dtype(tok, tgt_tok)
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
        if cfg.license is not None:  # shapes the card only; absent, plans of earlier runs still match
            plan["license"] = cfg.license
        if tgt_tok is not None:
            plan["tgt_tokenizer"] = tgt_tok.fingerprint
        build_id = {**plan, "units": [[u.source, u.start, u.end] for u in units], "sources": source_identity(sources)}
        done = already_built(od, build_id)
        if done is not None:
            return done
        work = od.open_work(plan)
        (work / "parts").mkdir(exist_ok=True)
        if cfg.split:
            from corpusprep.instances.splits import run_split

            meta, resumed, built = run_split(cfg, tok, schema, dtype, units, work, od, unit_fn, sources, build_id,
                                             failures, tgt_tok=tgt_tok)
            return ShardResult(cfg.out, meta, resumed, built)
        results = _finished_results(units, work / "parts")
        resumed = len(results)
        hasher = ThreadPoolExecutor(1)  # hashlib releases the GIL: source checksums overlap the work
        try:
            source_info = hasher.submit(sources_with_checksums, sources)
            built = _run_pending(cfg, UnitContext(cfg, tok, schema, shipping.path(work / "parts"), tgt_tok=tgt_tok),
                                 units, results, unit_fn, od)
            for u in units:
                if results[u.index].get("failed"):
                    failures.add_record(results[u.index]["failed"])
            refuse_empty(cfg, [results[u.index] for u in units], failures)
            check_versions(versions)
            meta = assemble(work, od, cfg, tok, schema, dtype, [results[u.index] for u in units], source_info.result(),
                            build_id, failures.as_list())
        finally:
            hasher.shutdown(wait=False, cancel_futures=True)
    return ShardResult(cfg.out, meta, resumed, built)
