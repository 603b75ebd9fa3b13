"""`shard --validation-share F | --validation-docs N`: build each split from its own documents
(instances/holdout.py chooses them) with the unit pipeline as it is, then lay them out as a
``DatasetDict`` (dataset_dict.json, train/, validation/) and commit. Without the options `shard`
never comes here, so single-split outputs keep their exact bytes.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from corpusprep.atomic import write_json
from corpusprep.executors import make_executor
from corpusprep.instances.arrow_io import write_datasets_metadata
from corpusprep.instances.build import UnitContext
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.holdout import SPLITS, Holdout, threshold_for
from corpusprep import shipping
from corpusprep.instances.shard_parts import (_finished_results, _run_pending, _summarize, build_metadata, dataset_info,
                                           plan_digest, sources_with_checksums)
from corpusprep.outdir import OutputDir


def _place(parts: Path, final: Path, prefix: str, results: list[dict]) -> list[dict]:
    """Move a split's parts (unit order, empty ones dropped) to ``final/prefix`` as data-XXXXX-of-YYYYY.arrow."""
    keep = [r for r in results if r["rows"] > 0] or results[:1]
    (final / prefix).mkdir(parents=True, exist_ok=True)
    files = []
    for i, r in enumerate(keep):
        name = f"{prefix}/data-{i:05d}-of-{len(keep):05d}.arrow"
        (parts / r["part"]).rename(final / name)
        files.append({"path": name, "sha256": r["sha256"], "rows": r["rows"]})
    return files


def run_split(cfg: ShardConfig, tok, schema, dtype: str, units, work: Path, od: OutputDir, unit_fn, sources,
               build_id: dict, failures, tgt_tok=None) -> tuple[dict, int, int]:
    """--validation-share / --validation-docs: each split built from its own documents, laid out as a
    ``DatasetDict`` (dataset_dict.json, train/, validation/); zooprep.json ``files`` and ``counts`` are the
    train split's, ``splits.validation`` holds the validation split's."""
    with make_executor(cfg.executor, cfg.workers, cfg.ray_address) as executor:
        threshold = threshold_for(cfg, units, executor.map)
    by_split, resumed, built = {}, 0, 0
    for i, name in enumerate(SPLITS):
        parts = work / ("parts" if i == 0 else f"parts-{name}")
        parts.mkdir(exist_ok=True)
        results = _finished_results(units, parts)
        resumed += len(results)
        ctx = UnitContext(cfg, tok, schema, shipping.path(parts), Holdout(i == 1, cfg.seed, threshold), tgt_tok)
        built += _run_pending(cfg, ctx, units, results, unit_fn, od)
        by_split[name] = (parts, [results[u.index] for u in units])
    for _, results in by_split.values():
        for r in results:
            if r.get("failed"):
                failures.add_record(r["failed"])
    source_info = sources_with_checksums(sources)
    final, written, split_meta = od.stage, [], {}
    for name, (parts, results) in by_split.items():
        files = _place(parts, final, name, results)
        fingerprint = hashlib.sha256("".join(f["sha256"] for f in files).encode()).hexdigest()[:16]
        counts = _summarize(results, cfg.row_len, cfg.processor, cfg.full_sentences)
        split_meta[name] = {"files": files, "counts": counts, "fingerprint": fingerprint}
    train = split_meta["train"]
    samples = [s for _, results in by_split.values() for r in results for s in r.get("reject_samples", [])]
    meta = build_metadata(cfg, tok, dtype, source_info, train["counts"], train["files"], samples)
    meta["splits"] = {"validation": {k: split_meta["validation"][k] for k in ("files", "counts")},
                      "holdout": {"threshold": str(threshold), "seed": cfg.seed}}
    meta["failed_files"] = failures.as_list()
    write_json(final / "zooprep.json", meta)
    info = dataset_info(meta, cfg)
    for name, sm in split_meta.items():
        bare = [f["path"].split("/", 1)[1] for f in sm["files"]]
        write_datasets_metadata(final / name, schema, bare, sm["fingerprint"], info)
        written += [f"{name}/dataset_info.json", f"{name}/state.json"]
    write_json(final / "dataset_dict.json", {"splits": list(SPLITS)})
    from corpusprep import card

    card.write_text(final / card.CARD, card.shard_card(meta, cfg.license, cfg.corpus))
    od.commit(last=["dataset_dict.json", *written, "zooprep.json"], plan=plan_digest(build_id),
              summary={"instances": train["counts"]["instances"], "files": len(train["files"])})
    return meta, resumed, built
