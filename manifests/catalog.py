"""Load the catalog YAML files into typed objects and look entities up by id.

Python API for the other stages::

    from manifests.catalog import load_catalog, stage_ref
    cat = load_catalog()
    cat.model("roberta-char-L8-H512").architecture      # -> "bert-L8-H512-v21128"
    stage_ref("cluecorpussmall", "roberta-char-cluecorpussmall-2stage/1")
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import yaml
from pydantic import ValidationError

from corpusprep.errors import InputError, ZooprepError
from manifests.schema import (
    Architecture,
    CatalogData,
    Conflict,
    Dataset,
    Model,
    Recipe,
    Source,
    Stage,
    Tokenizer,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
_FILES = ("sources", "datasets", "tokenizers", "architectures", "models", "recipes", "conflicts")


class CatalogError(ZooprepError):
    """An unknown id or an invalid reference into the catalog."""


def _close(word: str, choices: Iterable[str]) -> str:
    import difflib

    hits = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.5)
    return f" (did you mean: {', '.join(hits)}?)" if hits else ""


class Catalog:
    """The validated catalog with id lookups; built by :func:`load_catalog`."""

    def __init__(self, data: CatalogData, data_dir: Path):
        self.data = data
        self.data_dir = data_dir
        self.sources: dict[str, Source] = {s.id: s for s in data.sources}
        self.datasets: dict[str, Dataset] = {d.id: d for d in data.datasets}
        self.tokenizers: dict[str, Tokenizer] = {t.id: t for t in data.tokenizers}
        self.architectures: dict[str, Architecture] = {a.id: a for a in data.architectures}
        self.models: dict[str, Model] = {m.id: m for m in data.models}
        self.recipes: dict[str, Recipe] = {r.id: r for r in data.recipes}
        self.conflicts: list[Conflict] = list(data.conflicts)

    # lookups -----------------------------------------------------------------
    def _get(self, table: dict, kind: str, key: str):
        try:
            return table[key]
        except KeyError:
            raise CatalogError(f"unknown {kind} '{key}'{_close(key, table)}") from None

    def model(self, model_id: str) -> Model:
        return self._get(self.models, "model", model_id)

    def dataset(self, dataset_id: str) -> Dataset:
        return self._get(self.datasets, "dataset", dataset_id)

    def recipe(self, recipe_id: str) -> Recipe:
        return self._get(self.recipes, "recipe", recipe_id)

    def tokenizer(self, tokenizer_id: str) -> Tokenizer:
        return self._get(self.tokenizers, "tokenizer", tokenizer_id)

    def architecture(self, arch_id: str) -> Architecture:
        return self._get(self.architectures, "architecture", arch_id)

    # relations ---------------------------------------------------------------
    def models_on(self, dataset_id: str) -> list[Model]:
        """Models whose training data includes ``dataset_id`` (catalog order)."""
        self.dataset(dataset_id)
        return [m for m in self.models.values() if isinstance(m.datasets, list) and dataset_id in m.datasets]

    def recipes_on(self, dataset_id: str) -> list[tuple[Recipe, Stage]]:
        """(recipe, stage) pairs whose stage trains on ``dataset_id``."""
        self.dataset(dataset_id)
        return [(r, s) for r in self.recipes.values() for s in r.stages if dataset_id in s.datasets]

    def recipe_of(self, model_id: str) -> Recipe | None:
        ref = self.model(model_id).recipe
        return self.recipe(ref.id) if ref.id else None

    def families(self) -> list[str]:
        return sorted({m.family for m in self.models.values()})

    def conflicts_about(self, subject_fragment: str) -> list[Conflict]:
        return [c for c in self.conflicts if subject_fragment in c.subject]


def _read_yaml(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh) or {}
    except FileNotFoundError:
        raise InputError(path, "catalog file missing") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise InputError(path, f"invalid YAML: {getattr(exc, 'problem', exc)}", None if line is None else line + 1) from None


def read_catalog_data(data_dir: Path | str = DATA_DIR) -> CatalogData:
    """Read and schema-validate the YAML files of ``data_dir`` (no cross-reference checks)."""
    data_dir = Path(data_dir)
    raw = {}
    for name in _FILES:
        doc = _read_yaml(data_dir / f"{name}.yaml")
        if name not in doc:
            raise InputError(data_dir / f"{name}.yaml", f"top-level key '{name}' missing")
        raw[name] = doc[name]
    try:
        return CatalogData.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first["loc"]
        where = data_dir / f"{loc[0]}.yaml"
        entity = raw.get(loc[0], [])
        ident = entity[loc[1]].get("id", loc[1]) if len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(entity) else ""
        path = ".".join(str(p) for p in loc[2:])
        raise InputError(where, f"schema error in '{ident}' field {path}: {first['msg']} ({exc.error_count()} error(s))") from None


@functools.lru_cache(maxsize=4)
def _load_cached(data_dir: str) -> Catalog:
    return Catalog(read_catalog_data(data_dir), Path(data_dir))


def load_catalog(data_dir: Path | str | None = None) -> Catalog:
    """The catalog packaged with zooprep (or the one in ``data_dir``), schema-validated, cached."""
    return _load_cached(str(Path(data_dir or DATA_DIR).resolve()))


@dataclass(frozen=True)
class StageRef:
    """A validated (dataset, recipe stage) pair, as ``shard --manifest-dataset D --recipe-stage S`` names it.

    ``adapted``: the stage is run on another corpus than the one it trained on (the user's own data);
    ``recipe_datasets`` then names the corpora of the original stage.
    """

    dataset: str
    recipe: str
    stage: int
    processor: str
    seq_length: int | str
    models: tuple[str, ...]
    adapted: bool = False
    recipe_datasets: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.recipe}/{self.stage}"

    def as_dict(self) -> dict:
        return {"dataset": self.dataset, "recipe_stage": self.name, "processor": self.processor,
                "seq_length": self.seq_length, "models": list(self.models), "adapted": self.adapted,
                "recipe_datasets": list(self.recipe_datasets)}


def parse_stage(stage: str) -> tuple[str, int]:
    """Split 'RECIPE/N' (also 'RECIPE:N') into (recipe id, stage number)."""
    for sep in ("/", ":"):
        if sep in stage:
            rid, _, num = stage.rpartition(sep)
            if num.isdigit() and rid:
                return rid, int(num)
    raise CatalogError(f"recipe stage '{stage}' is not of the form RECIPE/N (e.g. roberta-char-cluecorpussmall-2stage/1)")


def stage_ref(dataset: str, stage: str, catalog: Catalog | None = None) -> StageRef:
    """Validate recipe stage ``stage`` ('RECIPE/N') for corpus ``dataset``; return its facts.

    ``dataset`` may join several ids with '+' (a stage trained on two corpora, e.g. gpt2-poem). A
    corpus the stage did not train on (another catalog corpus or the user's own, any name) gives an
    *adapted* reference; a name that looks like a typo of the stage's own corpus is refused.
    """
    import difflib

    cat = catalog or load_catalog()
    names = [n for n in dataset.split("+")]
    if not all(names):
        raise CatalogError(f"dataset '{dataset}' has an empty name")
    rid, num = parse_stage(stage)
    recipe = cat.recipe(rid)
    found = [s for s in recipe.stages if s.stage == num]
    if not found:
        raise CatalogError(f"recipe '{rid}' has no stage {num} (stages: {', '.join(str(s.stage) for s in recipe.stages)})")
    st = found[0]
    for name in names:
        if name in st.datasets or name in cat.datasets:
            continue
        close = difflib.get_close_matches(name, list(st.datasets) + list(cat.datasets), n=1, cutoff=0.85)
        if close:
            raise CatalogError(f"dataset '{name}' is not in the catalog; did you mean '{close[0]}'? "
                               "(to record your own corpus, give it a name of its own)")
    adapted = any(name not in st.datasets for name in names)
    users = tuple(m.id for m in cat.models.values() if m.recipe.id == rid)
    return StageRef(dataset, rid, num, str(st.data_processor), st.seq_length, users, adapted, tuple(st.datasets))


def manifest_record(dataset: str | None, stage: str | None) -> dict:
    """The ``manifest`` field of a shard's zooprep.json for ``--manifest-dataset``/``--recipe-stage``."""
    if stage is None:
        return {"dataset": dataset, "recipe_stage": None}
    ref = stage_ref(dataset, stage)
    rec = {"dataset": dataset, "recipe_stage": ref.name, "adapted": ref.adapted}
    if ref.adapted:
        rec["recipe_datasets"] = list(ref.recipe_datasets)
    return rec
