"""The pieces of a `shard` run that every mode shares (normal, `--compat uer`, a validation split):
tokenizers and the output directory, the build plan, running the pending units, the metadata, and the
assembly of the parts into the staged output. ``pipeline.run_shard`` composes them; the modes import
them from here (not from the pipeline, which dispatches to the modes).
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from corpusprep import __version__, storage
from corpusprep.atomic import sha256_file, write_json
from corpusprep.corpus_input import CorpusFile
from corpusprep.executors import make_executor
from corpusprep.instances.arrow_io import id_dtype, write_datasets_metadata
from corpusprep.instances.format import FORMAT_VERSION
from corpusprep.instances.build import UnitContext, load_marker
from corpusprep.instances.config import ShardConfig
from corpusprep.histogram import merge
from corpusprep.instances.stats import hints, merge_stats
from corpusprep.errors import ZooprepError
from corpusprep.outdir import OutputDir
from corpusprep.outdir.nodes import on_nodes
from corpusprep.progress import progress


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


def load_target_tokenizer(cfg: ShardConfig):
    """mt's target-side tokenizer (``--tgt-vocab`` / ``--tgt-spm``); None for the other processors."""
    if not cfg.data_processor.target_tokenizer:
        return None
    from zh_tokenizers import load_tokenizer

    if cfg.tgt_spm is not None:
        return load_tokenizer(spm=str(cfg.tgt_spm))
    return load_tokenizer(vocab=str(cfg.tgt_vocab), kind=cfg.tgt_tokenizer_kind or "bert", uer_compat=cfg.uer_compat)


def shard_dtype(tok, tgt_tok=None) -> str:
    """The id type of every id column: wide enough for both vocabularies (mt stores target ids too)."""
    return id_dtype(max(tok.vocab_size, tgt_tok.vocab_size if tgt_tok is not None else 0))


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


LENGTHS = ("chars_per_document", "tokens_per_document", "tokens_per_row")  # histograms in counts.lengths
METADATA = ["dataset_info.json", "state.json", "zooprep.json"]  # swapped in last, after the data files


def input_paths(cfg: ShardConfig, sources: list[CorpusFile]) -> list:
    """Everything the run reads; OUT may not be, contain or lie inside any of them."""
    return [*cfg.corpus, *(s.path for s in sources), cfg.vocab, cfg.spm, cfg.tgt_vocab, cfg.tgt_spm]


def open_out(cfg: ShardConfig, sources: list[CorpusFile]) -> OutputDir:
    from corpusprep.outdir.rerun import cli_options

    keep = ("--workers",) if cfg.uer_compat else ()  # --compat uer: the output depends on --processes_num
    return OutputDir.open(cfg.out, "shard", input_paths(cfg, sources), overwrite=cfg.overwrite,
                          options=cli_options(cfg, keep=keep))


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
    counts["lengths"] = {name: merge(r["stats"].get("lengths", {}).get(name) for r in results)
                         for name in LENGTHS}
    counts["hints"] = hints(counts, processor, full_sentences)
    return counts


def processor_options(cfg: ShardConfig, tok) -> dict:
    proc = cfg.data_processor
    return proc.options(cfg, tok) if proc.options else {}


def _described(tok) -> dict:
    """The tokenizer's record, with the absolute path of its file (found again from any folder)."""
    desc = dict(tok.describe())
    if desc.get("path"):
        desc["abs_path"] = os.path.abspath(str(desc["path"]))
    return desc


def build_metadata(cfg: ShardConfig, tok, dtype: str, sources: list[dict], counts: dict, files: list[dict],
                   samples: list) -> dict:
    return {
        "zooprep_version": __version__, "format_version": FORMAT_VERSION,
        "processor": cfg.processor, "seq_len": cfg.seq_len, "row_len": cfg.row_len,
        "tokenizer": _described(tok), "special_ids": dict(tok.special_ids), "dtype": dtype, "seed": cfg.seed,
        "full_sentences": cfg.full_sentences, "static_masking": cfg.static_masking,
        "dup_factor": cfg.dup_factor, "whole_word": cfg.whole_word,
        "sources": sources, "counts": counts, "files": files,
        "manifest": cfg.manifest(),
        "options": cfg.options(),
        "processor_options": processor_options(cfg, tok),
        "reject_samples": samples[:20],
    }


SMALL_PART_BYTES = 8 << 20  # parts smaller than this are joined (in unit order) into data files of about this size
JOIN_ABOVE_PARTS = 256  # up to this many parts each stays one data file (the per-file cost is small then)


def part_groups(sizes: list[int], target: int = SMALL_PART_BYTES) -> list[list[int]]:
    """One data file per part, or, for a run of more than JOIN_ABOVE_PARTS parts (thousands of tiny
    inputs), consecutive parts joined while the file stays under ``target`` bytes (a big part alone)."""
    if len(sizes) <= JOIN_ABOVE_PARTS:
        return [[i] for i in range(len(sizes))]
    groups: list[list[int]] = []
    acc = 0
    for i, size in enumerate(sizes):
        if groups and acc + size <= target:
            groups[-1].append(i)
            acc += size
        else:
            groups.append([i])
            acc = size
    return groups


def concat_parts(parts: list[Path], dest: Path, schema) -> str:
    """Write the record batches of ``parts`` (Arrow streams) one after the other into ``dest``; its sha256."""
    import pyarrow as pa

    from corpusprep.atomic import atomic_path

    with atomic_path(dest, fsync=False) as tmp:
        with pa.OSFile(str(tmp), "wb") as sink:
            writer = None
            for part in parts:
                with pa.OSFile(str(part), "rb") as src:
                    reader = pa.ipc.open_stream(src)
                    writer = writer or pa.ipc.new_stream(sink, reader.schema)  # the parts' own schema
                    for batch in reader:
                        writer.write_batch(batch)
            if writer is not None:
                writer.close()
    return sha256_file(dest)


def assemble(work: Path, od: OutputDir, cfg: ShardConfig, tok, schema, dtype: str, results: list[dict],
             sources: list[dict], plan: dict, failed: list[dict] | None = None) -> dict:
    """Move parts in unit order into the stage, write dataset_info/state/zooprep.json, swap into OUT."""
    final = od.stage
    keep = [r for r in results if r["rows"] > 0] or results[:1]
    groups = part_groups([(work / "parts" / r["part"]).stat().st_size for r in keep])
    files = []
    for i, group in enumerate(groups):
        name = f"data-{i:05d}-of-{len(groups):05d}.arrow"
        parts = [keep[k] for k in group]
        if len(parts) == 1:
            (work / "parts" / parts[0]["part"]).rename(final / name)
            sha = parts[0]["sha256"]
        else:  # many small inputs: one data file for a run of small parts, not one file each
            sha = concat_parts([work / "parts" / r["part"] for r in parts], final / name, schema)
        files.append({"path": name, "sha256": sha, "rows": sum(r["rows"] for r in parts)})
    fingerprint = hashlib.sha256("".join(f["sha256"] for f in files).encode()).hexdigest()[:16]
    counts = _summarize(results, cfg.row_len, cfg.processor, cfg.full_sentences)
    samples = [s for r in results for s in r.get("reject_samples", [])]
    meta = build_metadata(cfg, tok, dtype, sources, counts, files, samples)
    if cfg.encode_only:
        from corpusprep.instances.encoded import metadata

        meta = metadata(meta, results)
    meta["failed_files"] = failed or []
    write_json(final / "zooprep.json", meta)
    write_card(final, schema, files, fingerprint, meta, cfg)
    od.commit(last=METADATA, plan=plan_digest(plan), summary={"instances": counts["instances"], "files": len(files)})
    return meta


def dataset_info(meta: dict, cfg: ShardConfig) -> dict:
    from corpusprep import card

    return {"description": card.dataset_description(meta), "license": cfg.license or card.UNKNOWN_LICENSE,
            "citation": card.UER_CITATION}


def write_card(final: Path, schema, files: list[dict], fingerprint: str, meta: dict, cfg: ShardConfig) -> None:
    """dataset_info.json (with description, license, citation) and the dataset card README.md."""
    from corpusprep import card

    write_datasets_metadata(final, schema, [f["path"] for f in files], fingerprint, dataset_info(meta, cfg))
    card.write_text(final / card.CARD, card.shard_card(meta, cfg.license, cfg.corpus))


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


def refuse_empty(cfg: ShardConfig, results: list[dict], failures) -> None:
    """0 rows is not a shard: one line saying why (every line rejected, every file failed), exit 2."""
    if sum(r["rows"] for r in results):
        return
    if failures.failed and all(r.get("failed") or not r.get("stats", {}).get("documents") for r in results):
        raise failures.nothing_read(cfg.corpus)
    reasons = _add_up(r.get("rejected_reasons") or {} for r in results)
    why = ", ".join(f"{n} {k}" for k, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:3])
    docs = sum(r.get("stats", {}).get("documents", 0) for r in results)
    raise ZooprepError(f"{', '.join(map(str, cfg.corpus))}: 0 instances for --processor {cfg.processor} from {docs} "
                       f"documents" + (f"; rejected lines: {why}" if why else "")
                       + "; check that the corpus has the layout this processor reads (docs/shard.md)")


