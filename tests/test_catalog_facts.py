"""Every catalog field that has a source fact equals it: datasets.yaml against datasets_facts.yaml,
models.yaml and recipes.yaml against zoo_facts.yaml (../shared/reference), not only the
hyper-parameters: URLs, sizes, licences, parts, users, notes, masking (dynamic / static / none),
paths, flags. A deliberate deviation is allowed only where conflicts.yaml records it.

The raw YAML files are compared (not the loaded catalog objects), so what is checked is exactly
what the catalog ships.
"""
from __future__ import annotations

import re

import pytest
import yaml

from manifests.catalog import DATA_DIR

UNKNOWN = "unknown"
META_NOTE = re.compile(r"^Extra \(not in the brief's list\)\.\s*")


def _load(path):
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def catalog() -> dict:
    return {name: _load(DATA_DIR / f"{name}.yaml")[name] for name in ("datasets", "models", "recipes", "conflicts")}


@pytest.fixture(scope="module")
def zoo(reference_dir) -> dict:
    return _load(reference_dir / "zoo_facts.yaml")


@pytest.fixture(scope="module")
def dataset_facts(reference_dir) -> dict:
    return _load(reference_dir / "datasets_facts.yaml")


def recorded_conflict(catalog: dict, kind: str, entity: str, field: str) -> bool:
    """conflicts.yaml records that sources disagree on ``field`` of ``kind:entity``."""
    for c in catalog["conflicts"]:
        subject = c.get("subject", "")
        if subject.startswith(f"{kind}:{entity} ") and field in subject:
            return True
    return False


class Diff:
    def __init__(self):
        self.items: list[str] = []

    def eq(self, where: str, field: str, got, want) -> None:
        if got != want:
            self.items.append(f"{where}.{field}: catalog {got!r} != fact {want!r}")

    def contains(self, where: str, field: str, texts: list, fact: str) -> None:
        fact = META_NOTE.sub("", fact).strip()  # the research notes' remark about themselves is no fact
        if fact and not any(fact in str(t) for t in texts):
            self.items.append(f"{where}.{field}: fact {fact[:90]!r} is in no catalog note")

    def check(self) -> None:
        assert not self.items, f"{len(self.items)} catalog values differ from their facts:\n" + "\n".join(self.items)


# ------------------------------------------------------------------------------- datasets
# catalog field <- fact keys, first present wins (facts name the same thing differently per entry)
DATASET_FIELDS = {
    "name": ("name",),
    "url": ("url", "link"),
    "size": ("size",),
    "origin": ("main_origin", "derived_from"),
    "format": ("format", "format_as_distributed"),
    "licence": ("license",),
    "sources": ("source",),
}
# facts that the catalog keeps as notes (each must be found in one of the entry's notes)
DATASET_NOTE_FACTS = ("format_as_used_by_uer", "also_used_for", "combined_note", "uer_format", "preprocessing_by_uer",
                      "notes", "composition", "content", "links")
DATASET_OTHER_FACTS = ("id", "distribution", "parts", "used_by_models")


def test_every_dataset_fact_key_is_checked(dataset_facts):
    known = set(DATASET_NOTE_FACTS) | set(DATASET_OTHER_FACTS) | {k for keys in DATASET_FIELDS.values() for k in keys}
    keys = {k for d in dataset_facts["datasets"] for k in d}
    assert keys <= known, f"fact keys no test compares: {sorted(keys - known)}"


def test_datasets_equal_their_facts(catalog, dataset_facts, zoo):
    model_ids = {m["id"] for m in zoo["models"] + zoo["extra_models"]}
    ours = {d["id"]: d for d in catalog["datasets"]}
    facts = {d["id"]: d for d in dataset_facts["datasets"]}
    assert set(ours) == set(facts)
    diff = Diff()
    for did, f in facts.items():
        c = ours[did]
        where = f"dataset:{did}"
        for field, keys in DATASET_FIELDS.items():
            want = next((f[k] for k in keys if k in f), UNKNOWN)
            if recorded_conflict(catalog, "dataset", did, field):
                continue
            diff.eq(where, field, c.get(field), want)
        diff.eq(where, "distribution", c.get("distribution"), f.get("distribution"))
        want_parts = [{k: p[k] for k in ("id", "size", "link", "upstream") if k in p} for p in f.get("parts", [])]
        diff.eq(where, "parts", c.get("parts"), want_parts)
        users = f.get("used_by_models", [])
        diff.eq(where, "used_by", sorted(c.get("used_by") or []), sorted(u for u in users if u in model_ids))
        for u in users:
            if u not in model_ids:  # a sentence, not a model id: kept as a note
                diff.contains(where, "used_by_models", c.get("notes", []), u)
        for key in DATASET_NOTE_FACTS:
            if key in f:
                diff.contains(where, key, c.get("notes", []), str(f[key]))
    diff.check()


# ------------------------------------------------------------------------------- models
def test_models_equal_their_facts(catalog, zoo):
    ours = {m["id"]: m for m in catalog["models"]}
    diff = Diff()
    for f in zoo["models"] + zoo["extra_models"]:
        mid = f["id"]
        c = ours[mid]
        where = f"model:{mid}"
        for field in ("family", "hf_repo", "size_name", "reported_dev_score_avg"):
            if field in f and not recorded_conflict(catalog, "model", mid, field):
                diff.eq(where, field, c.get(field), f[field])
        diff.eq(where, "uer_checkpoint_name", c.get("uer_checkpoint_name"), f.get("uer_checkpoint_name", UNKNOWN))
        if f.get("extra"):  # the facts' extra models are off the zoo page (its other models may be too)
            diff.eq(where, "extra", c.get("extra"), True)
        if isinstance(f.get("corpus"), list) and not recorded_conflict(catalog, "model", mid, "corpus"):
            want = UNKNOWN if f["corpus"] == [UNKNOWN] else f["corpus"]
            diff.eq(where, "datasets", c.get("datasets"), want)
        urls = [link["url"] for link in c.get("links", [])]
        if f.get("weiyun_link") and not recorded_conflict(catalog, "model", mid, "links"):
            # "https://..." or "Model https://... ; Vocab https://...": every address is a catalog link
            for url in re.findall(r"https?://\S+", f["weiyun_link"]):
                if url not in urls:
                    diff.items.append(f"{where}.links: fact link {url!r} not among {urls}")
        tr, rc = f.get("training_recipe") or {}, c.get("recipe") or {}
        if "hf_conversion_layers_num" in tr:
            diff.eq(where, "recipe.layers_num", rc.get("layers_num"), tr["hf_conversion_layers_num"])
        if "checkpoint_prefix" in tr:
            diff.eq(where, "recipe.checkpoint_prefix", rc.get("checkpoint_prefix"), tr["checkpoint_prefix"])
        if "config_path" in tr and not str(tr["config_path"]).startswith("custom") and not recorded_conflict(catalog, "model", mid, "config"):
            diff.eq(where, "recipe.config_path", rc.get("config_path"), tr["config_path"])
        notes = c.get("notes", [])
        for key in ("notes", "finetune_grid_for_reported_scores"):
            if isinstance(f.get(key), str):
                diff.contains(where, key, notes, f[key])
    diff.check()


# ------------------------------------------------------------------------------- recipes
SHARED_RECIPES = {
    "roberta-char-cluecorpussmall-2stage": "roberta_char_cluecorpussmall_2stage",
    "roberta-word-cluecorpussmall-2stage": "roberta_word_cluecorpussmall_2stage",
    "gpt2-cluecorpussmall-2stage": "gpt2_cluecorpussmall_2stage",
}
NUMBERS = ("seq_length", "total_steps", "batch_size_per_gpu", "world_size", "learning_rate", "save_checkpoint_steps",
           "report_steps")


def _fact_recipes(zoo) -> dict[str, dict]:
    """catalog recipe id -> its fact recipe (a shared recipe, or a model's own training_recipe)."""
    out = {rid: zoo["meta"]["recipes"][key] for rid, key in SHARED_RECIPES.items()}
    for m in zoo["models"] + zoo["extra_models"]:
        tr = m.get("training_recipe") or {}
        if isinstance(tr.get("stages"), list):
            out.setdefault(m["id"], tr)
    return out


def _flags_text(stage: dict) -> str:
    pre = stage.get("preprocess")
    parts = [str(stage.get("flags", ""))]
    if isinstance(pre, dict):
        parts += [str(x) for x in pre.get("flags", [])]
    elif isinstance(pre, str):
        parts.append(pre)
    return " ".join(parts)


def fact_masking(stage: dict) -> str | None:
    """dynamic / static / none as the facts state it; None where they do not say."""
    if stage.get("dynamic_masking") is True or "--dynamic_masking" in _flags_text(stage).replace("no --dynamic_masking", ""):
        return "dynamic"
    if stage.get("dynamic_masking") is False or "no --dynamic_masking" in _flags_text(stage):
        return "static"
    if stage.get("data_processor") == "lm" or stage.get("target") in ("lm", "bilm"):
        return "none"
    return None


def _model_flags(value) -> list[str]:
    return re.findall(r"--\S+(?: (?!--)\S+)*", value) if isinstance(value, str) else list(value or [])


def test_recipes_equal_their_facts(catalog, zoo):
    ours = {r["id"]: r for r in catalog["recipes"]}
    facts = _fact_recipes(zoo)
    # the catalog names a per-model recipe after the model, or the model points at a shared one
    by_model = {m["id"]: (m.get("recipe") or {}).get("id") for m in catalog["models"]}
    pairs = []
    for fid, fr in facts.items():
        rid = fid if fid in ours else by_model.get(fid)
        assert rid in ours, f"no catalog recipe for the facts of {fid}"
        pairs.append((rid, fid, fr))
    assert {rid for rid, _, _ in pairs} >= set(SHARED_RECIPES) | {"gpt2-poem", "gpt2-couplet", "gpt2-lyric", "gpt2-ancient"}
    diff = Diff()
    checked_masking = 0
    for rid, fid, fr in pairs:
        recipe = ours[rid]
        if fid in SHARED_RECIPES or fid == rid:  # a recipe of its own: recipe-level facts apply
            if "platform" in fr:
                diff.eq(f"recipe:{rid}", "platform", recipe.get("platform"), fr["platform"])
            if str(fr.get("init_from", "")).startswith("random"):
                diff.eq(f"recipe:{rid}", "init_from", recipe.get("init_from"), "random")
        stages = {s["stage"]: s for s in recipe["stages"]}
        for fs in fr["stages"]:
            where = f"recipe:{rid}(facts {fid}) stage {fs['stage']}"
            st = stages.get(fs["stage"])
            if st is None:
                diff.items.append(f"{where}: missing")
                continue
            for k in NUMBERS:
                if k not in fs or recorded_conflict(catalog, "recipe", rid, k):
                    continue
                v = fs[k]
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    diff.eq(where, k, st.get(k), v)
                elif v == UNKNOWN:
                    diff.eq(where, k, st.get(k, UNKNOWN), UNKNOWN)
            for k in ("data_processor", "target"):
                if isinstance(fs.get(k), str) and re.fullmatch(r"[a-z0-9_]+", fs[k]):
                    diff.eq(where, k, st.get(k), fs[k])
            pre = fs.get("preprocess")
            if isinstance(pre, dict):
                for k in ("corpus_path", "dataset_path", "processes_num"):
                    if k in pre:
                        diff.eq(where, k, st.get(k), pre[k])
            if isinstance(fs.get("gpu_ranks"), str):
                diff.eq(where, "gpu_ranks", st.get("gpu_ranks"), [int(x) for x in fs["gpu_ranks"].split()])
            if isinstance(fs.get("effective_batch_sequences"), int):
                diff.eq(where, "batch x world", st["batch_size_per_gpu"] * st["world_size"], fs["effective_batch_sequences"])
            want = fact_masking(fs)
            stated = "--dynamic_masking" in _flags_text(fs) or "dynamic_masking" in fs
            if want is not None and (stated or "masking" in st) and not recorded_conflict(catalog, "recipe", rid, "masking"):
                diff.eq(where, "masking", st.get("masking"), want)
                checked_masking += 1
            if isinstance(fs.get("full_sentences"), str) and fs["full_sentences"].startswith("not set"):
                diff.eq(where, "full_sentences", st.get("full_sentences"), False)
            if isinstance(fs.get("fp16"), str) and fs["fp16"].startswith("not used"):
                diff.eq(where, "fp16", st.get("fp16"), False)
            if isinstance(fs.get("warmup"), str) and "not given" in fs["warmup"]:
                diff.eq(where, "warmup", (st.get("warmup"), st.get("warmup_stated")), (0.1, False))
            if "model_flags" in fs and isinstance(fs["model_flags"], list):
                diff.eq(where, "model_flags", st.get("model_flags"), fs["model_flags"])
            if isinstance(fs.get("output_model_path"), str) and "output_model_path" in st:
                fact_path = fs["output_model_path"].split()[0]
                pattern = re.escape(st["output_model_path"]).replace(re.escape("{checkpoint_prefix}"), r"[\w.-]+")
                if not re.fullmatch(pattern, fact_path):
                    diff.items.append(f"{where}.output_model_path: catalog {st['output_model_path']!r} does not give {fact_path!r}")
            if fs["stage"] > 1 or str(fr.get("init_from", "random")).startswith("random"):
                diff.eq(where, "init_checkpoint is None", st.get("init_checkpoint") is None, fs["stage"] == 1)
    assert checked_masking >= 8, "too few stages state their masking"
    diff.check()


def test_fact_masking_reads_the_flags():
    assert fact_masking({"dynamic_masking": True}) == "dynamic"
    assert fact_masking({"preprocess": {"flags": ["--dynamic_masking", "--data_processor mlm"]}}) == "dynamic"
    assert fact_masking({"preprocess": "--seq_length 128 --target albert (no --dynamic_masking)"}) == "static"
    assert fact_masking({"data_processor": "lm"}) == "none"
    assert fact_masking({"target": "bert"}) is None
