"""Catalog checks beyond the schema: unique ids, cross-references, shape rules, file checksums."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from corpusprep.atomic import sha256_file
from manifests.catalog import Catalog
from manifests.schema import is_known


@dataclass
class ValidationReport:
    errors: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # what was verified (one line per check group)
    not_checked: list[str] = field(default_factory=list)  # e.g. files absent from --vocab-dir

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {"ok": self.ok, "errors": self.errors, "checked": self.checked, "not_checked": self.not_checked}


def validate_catalog(cat: Catalog, vocab_dir: str | Path | None = None) -> ValidationReport:
    rep = ValidationReport()
    _unique_ids(cat, rep)
    _references(cat, rep)
    _used_by(cat, rep)
    _shapes(cat, rep)
    _recipes(cat, rep)
    _page_rows(cat, rep)
    _printed_commands(cat, rep)
    if vocab_dir is not None:
        _checksums(cat, Path(vocab_dir), rep)
    else:
        rep.not_checked.append("tokenizer files: no --vocab-dir given")
    return rep


def _unique_ids(cat: Catalog, rep: ValidationReport) -> None:
    d = cat.data
    for name, items in (("sources", d.sources), ("datasets", d.datasets), ("tokenizers", d.tokenizers),
                        ("architectures", d.architectures), ("models", d.models), ("recipes", d.recipes), ("conflicts", d.conflicts)):
        dup = [k for k, n in Counter(i.id for i in items).items() if n > 1]
        if dup:
            rep.errors.append(f"{name}: duplicate ids {', '.join(dup)}")
    rep.checked.append("ids unique in every table")


def _references(cat: Catalog, rep: ValidationReport) -> None:
    err = rep.errors

    def src(owner: str, ids):
        for s in ids:
            if s not in cat.sources:
                err.append(f"{owner}: unknown source '{s}'")

    for m in cat.models.values():
        if m.tokenizer not in cat.tokenizers:
            err.append(f"model {m.id}: unknown tokenizer '{m.tokenizer}'")
        if m.architecture not in cat.architectures:
            err.append(f"model {m.id}: unknown architecture '{m.architecture}'")
        if isinstance(m.datasets, list):
            for d in m.datasets:
                if d not in cat.datasets:
                    err.append(f"model {m.id}: unknown dataset '{d}'")
        if m.recipe.id and m.recipe.id not in cat.recipes:
            err.append(f"model {m.id}: unknown recipe '{m.recipe.id}'")
        if m.recipe.status in ("known", "partial") and not m.recipe.id:
            err.append(f"model {m.id}: recipe status {m.recipe.status} but no recipe id")
        if not m.extra and not any(l.kind == "weights" and l.current for l in m.links):
            err.append(f"model {m.id}: zoo-page model without a current download link")
        if m.tokenizer in cat.tokenizers and m.architecture in cat.architectures:
            tv, av = cat.tokenizers[m.tokenizer].vocab_size, cat.architectures[m.architecture].vocab_size
            if is_known(tv) and is_known(av) and tv != av:
                err.append(f"model {m.id}: tokenizer vocab {tv} != architecture vocab {av}")
        src(f"model {m.id}", m.sources)
    for d in cat.datasets.values():
        src(f"dataset {d.id}", d.sources)
    for t in cat.tokenizers.values():
        src(f"tokenizer {t.id}", t.sources)
        if t.derived_from and t.derived_from not in cat.tokenizers:
            err.append(f"tokenizer {t.id}: derived_from unknown tokenizer '{t.derived_from}'")
    for r in cat.recipes.values():
        src(f"recipe {r.id}", r.sources)
        for s in r.stages:
            for d in s.datasets:
                if d not in cat.datasets:
                    err.append(f"recipe {r.id} stage {s.stage}: unknown dataset '{d}'")
    for c in cat.conflicts:
        src(f"conflict {c.id}", [cl.source for cl in c.claims] + [c.follows])
        if c.follows not in {cl.source for cl in c.claims} and c.follows not in cat.sources:
            err.append(f"conflict {c.id}: follows '{c.follows}', which is not a source")
    rep.checked.append("cross-references: tokenizers, architectures, datasets, recipes, sources, vocab sizes")


def _used_by(cat: Catalog, rep: ValidationReport) -> None:
    for d in cat.datasets.values():
        actual = [m.id for m in cat.models_on(d.id)]
        if sorted(actual) != sorted(d.used_by):
            missing = sorted(set(actual) - set(d.used_by))
            extra = sorted(set(d.used_by) - set(actual))
            rep.errors.append(f"dataset {d.id}: used_by disagrees with the models (missing {missing}, extra {extra})")
    rep.checked.append("dataset used_by lists match the models' datasets")


def _shapes(cat: Catalog, rep: ValidationReport) -> None:
    n_rule = 0
    for a in cat.architectures.values():
        if a.heads_rule:
            n_rule += 1
            h = a.hidden
            if not (is_known(h) and is_known(a.heads) and h % 64 == 0 and a.heads == h // 64):
                rep.errors.append(f"architecture {a.id}: heads {a.heads} != hidden/64 ({h}/64)")
            if is_known(a.emb_size) and a.emb_size != h:
                rep.errors.append(f"architecture {a.id}: emb_size {a.emb_size} != hidden {h}")
            if is_known(a.feedforward) and a.feedforward != 4 * h:
                rep.errors.append(f"architecture {a.id}: feedforward {a.feedforward} != 4*hidden")
        if is_known(a.hidden) and is_known(a.heads) and a.heads and a.hidden % a.heads:
            rep.errors.append(f"architecture {a.id}: hidden {a.hidden} not divisible by heads {a.heads}")
        if a.config_file is None and a.config_rule is None:
            rep.errors.append(f"architecture {a.id}: neither config_file nor config_rule")
    rep.checked.append(f"shape rules: heads == hidden/64, emb == hidden, ff == 4*hidden on {n_rule} architectures where the zoo page states the rule")


def _recipes(cat: Catalog, rep: ValidationReport) -> None:
    for r in cat.recipes.values():
        nums = [s.stage for s in r.stages]
        if nums != list(range(1, len(nums) + 1)):
            rep.errors.append(f"recipe {r.id}: stages must be numbered 1..n, got {nums}")
        for s in r.stages:
            ref = s.init_checkpoint
            if ref and ref.startswith("stage:") and not (ref[6:].isdigit() and int(ref[6:]) < s.stage):
                rep.errors.append(f"recipe {r.id} stage {s.stage}: init_checkpoint {ref} is not an earlier stage")
            if ref and ref.startswith("model:") and ref[6:] not in cat.models:
                rep.errors.append(f"recipe {r.id} stage {s.stage}: init_checkpoint names unknown model {ref[6:]}")
            if is_known(s.total_steps) and is_known(s.save_checkpoint_steps) and s.total_steps % s.save_checkpoint_steps:
                rep.errors.append(f"recipe {r.id} stage {s.stage}: total_steps {s.total_steps} is not a multiple of "
                                  f"save_checkpoint_steps {s.save_checkpoint_steps} (no checkpoint at the last step)")
            if is_known(s.batch_size_per_gpu) and is_known(s.world_size) and is_known(s.gpu_ranks) and len(s.gpu_ranks) != s.world_size:
                rep.errors.append(f"recipe {r.id} stage {s.stage}: {len(s.gpu_ranks)} gpu_ranks for world_size {s.world_size}")
        if r.init_from.startswith("model:") and r.init_from[6:] not in cat.models:
            rep.errors.append(f"recipe {r.id}: init_from names unknown model {r.init_from[6:]}")
    used = {m.recipe.id for m in cat.models.values()}
    for rid in cat.recipes:
        if rid not in used:
            rep.errors.append(f"recipe {rid}: no model uses it")
    rep.checked.append("recipes: stage numbering, init checkpoints, a checkpoint at the last step, GPU ranks vs world size, every recipe used")


def _printed_commands(cat: Catalog, rep: ValidationReport) -> None:
    from manifests.catalog import CatalogError
    from manifests.recipe_check import check_plan
    from manifests.recipe_commands import FORMATS, build_plan

    n = 0
    for m in cat.models.values():
        if m.recipe.id is None or m.recipe.id not in cat.recipes:
            continue
        for fmt in FORMATS:
            try:
                plan = build_plan(cat, m.id, fmt)
            except CatalogError:
                continue  # a broken reference, reported by the cross-reference check
            for sc in check_plan(plan).steps:
                n += 1
                rep.errors += [f"model {m.id} ({fmt}) step {sc.index + 1} ({sc.title}): {p}" for p in sc.problems]
    rep.checked.append(f"recipes: {n} printed commands parse with the recorded trainer command lines and zooprep's CLI")


def _page_rows(cat: Catalog, rep: ValidationReport) -> None:
    rows = [(m.page.section, m.page.order) for m in cat.models.values() if m.page]
    dup = [k for k, n in Counter(rows).items() if n > 1]
    if dup:
        rep.errors.append(f"zoo page rows used twice: {dup}")
    for m in cat.models.values():
        if (m.page is None) != m.extra:
            rep.errors.append(f"model {m.id}: extra={m.extra} but page row {'missing' if m.page is None else 'present'}")
    rep.checked.append(f"zoo page rows: {len(rows)} rows, unique positions")


def _checksums(cat: Catalog, vocab_dir: Path, rep: ValidationReport) -> None:
    n_ok = 0
    for t in cat.tokenizers.values():
        if not is_known(t.file):
            rep.not_checked.append(f"tokenizer {t.id}: file name unknown")
            continue
        path = vocab_dir / t.file
        if not path.is_file():
            rep.not_checked.append(f"tokenizer {t.id}: {path} absent")
            continue
        if not is_known(t.sha256):
            rep.not_checked.append(f"tokenizer {t.id}: no sha256 recorded")
            continue
        digest = sha256_file(path)
        if digest != t.sha256:
            rep.errors.append(f"tokenizer {t.id}: {path} sha256 {digest} != catalog {t.sha256}")
            continue
        if is_known(t.bytes) and path.stat().st_size != t.bytes:
            rep.errors.append(f"tokenizer {t.id}: {path} has {path.stat().st_size} bytes, catalog {t.bytes}")
            continue
        if t.kind == "wordpiece" and is_known(t.vocab_size):
            with open(path, "rb") as fh:
                lines = sum(1 for _ in fh)
            if lines != t.vocab_size:
                rep.errors.append(f"tokenizer {t.id}: {path} has {lines} lines, catalog vocab_size {t.vocab_size}")
                continue
        n_ok += 1
    rep.checked.append(f"tokenizer files: {n_ok} matched sha256/bytes/vocab size in {vocab_dir}")
