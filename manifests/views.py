"""What the ``zoo`` commands print: pure functions from the catalog to JSON-able data or text."""
from __future__ import annotations

from dataclasses import dataclass

from manifests.catalog import Catalog, CatalogError
from manifests.figures import DEFAULT_UTILISATION, model_figures
from manifests.params import human
from manifests.schema import Model, is_known


@dataclass(frozen=True)
class ListQuery:
    dataset: str | None = None
    family: str | None = None
    include_extra: bool = True
    tokenizer: str | None = None
    seq_len: int | None = None  # a recipe stage trains at this sequence length
    stages: int | None = None  # number of recipe stages
    on_page: bool | None = None  # True: zoo-page models only, False: the others only
    has_hf: bool | None = None  # has a Hugging Face repository


@dataclass(frozen=True)
class FigureOptions:
    gpu: str = "A100"
    precision: str = "mixed"
    utilisation: float | None = DEFAULT_UTILISATION  # None: the utilisation model


LIST_FORMATS = ("text", "json", "csv", "md")

_SOURCE_KINDS = (("zoo_page", "page"), ("wiki_", "page"), ("hf_", "HF card"), ("uer_configs", "config"),
                 ("uer_repo", "UER-py repository"), ("uer_readme", "UER-py README"), ("vocab_sources", "vocab files"),
                 ("spm_and_vocab", "vocab files"), ("uer_cli", "trainer command line"), ("tencentpretrain_cli", "trainer command line"),
                 ("deepspeed", "trainer command line"))
UNKNOWN_SOURCE = "unknown: no source states it"


def source_label(source_id: str) -> str:
    """'page: zoo_page_zh', 'HF card: hf_card_t5', ... (what kind of source an id is)."""
    kind = next((k for prefix, k in _SOURCE_KINDS if source_id.startswith(prefix)), "corpus/dataset README")
    return f"{kind}: {source_id}"


def _sources(ids) -> str:
    return "; ".join(source_label(i) for i in ids) if ids else "zooprep catalog"


def _with_sources(obj: dict, default: str, overrides: dict | None = None) -> dict:
    """Every field as {value, source}; 'unknown' values name no source."""
    overrides = overrides or {}
    out = {}
    for k, v in obj.items():
        if k == "sources":
            continue
        src = UNKNOWN_SOURCE if v == "unknown" else overrides.get(k, default)
        out[k] = {"value": v, "source": src}
    return out


def _show(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, list):
        return ", ".join(str(x) for x in v) if v else "-"
    return str(v)


def model_summary(cat: Catalog, m: Model) -> dict:
    """The object ``zoo list --json`` emits per model."""
    links = {"weights": [l.url for l in m.links if l.kind == "weights" and l.current],
             "vocab": [l.url for l in m.links if l.kind == "vocab" and l.current],
             "huggingface": next((l.url for l in m.links if l.kind == "hf"), None)}
    arch = cat.architecture(m.architecture)
    recipe = cat.recipe_of(m.id)
    return {"id": m.id, "name": m.name, "family": m.family, "datasets": m.datasets, "links": links,
            "hf_id": m.hf_repo, "on_zoo_page": not m.extra, "tokenizer": m.tokenizer, "target": m.target,
            "layers": arch.layers, "hidden": arch.hidden, "heads": arch.heads, "recipe": m.recipe.id,
            "recipe_status": m.recipe.status, "stages": len(recipe.stages) if recipe else 0,
            "seq_lengths": [s.seq_length for s in recipe.stages] if recipe else []}


def select_models(cat: Catalog, q: ListQuery) -> list[Model]:
    if q.dataset:
        cat.dataset(q.dataset)
    if q.family and q.family not in cat.families():
        raise CatalogError(f"unknown family '{q.family}' (families: {', '.join(cat.families())})")
    if q.tokenizer:
        cat.tokenizer(q.tokenizer)
    out = []
    for m in cat.models.values():
        recipe = cat.recipe_of(m.id)
        stages = recipe.stages if recipe else []
        if q.family and m.family != q.family:
            continue
        if q.dataset and not (isinstance(m.datasets, list) and q.dataset in m.datasets):
            continue
        if (not q.include_extra or q.on_page is True) and m.extra:
            continue
        if q.on_page is False and not m.extra:
            continue
        if q.tokenizer and m.tokenizer != q.tokenizer:
            continue
        if q.seq_len is not None and q.seq_len not in [s.seq_length for s in stages]:
            continue
        if q.stages is not None and len(stages) != q.stages:
            continue
        if q.has_hf is not None and bool(m.hf_repo) != q.has_hf:
            continue
        out.append(m)
    return out


_LIST_COLUMNS = ("id", "family", "L/H", "datasets", "tokenizer", "seq", "recipe", "hf_id", "download")


def list_rows(cat: Catalog, models: list[Model]) -> list[tuple[str, ...]]:
    rows = []
    for m in models:
        s = model_summary(cat, m)
        rows.append((m.id, m.family, f"{_show(s['layers'])}/{_show(s['hidden'])}",
                     "+".join(m.datasets) if isinstance(m.datasets, list) else "unknown", m.tokenizer,
                     "+".join(str(x) for x in s["seq_lengths"]) or "-", m.recipe.status, m.hf_repo or "-",
                     (s["links"]["weights"] or ["-"])[0]))
    return rows


_NARROW_COLUMNS = ("id", "family", "L/H", "seq", "recipe")  # the text table's default: fits 100 columns


def list_text(cat: Catalog, models: list[Model], fmt: str = "text", wide: bool = False) -> str:
    """The model list as an aligned table (text: the narrow columns unless ``wide``), CSV or markdown."""
    rows = list_rows(cat, models)
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(_LIST_COLUMNS)
        w.writerows(rows)
        return buf.getvalue()
    if fmt == "md":
        esc = [[c.replace("|", "\\|") for c in r] for r in rows]
        return "\n".join(["| " + " | ".join(_LIST_COLUMNS) + " |", "|" + "---|" * len(_LIST_COLUMNS),
                          *("| " + " | ".join(r) + " |" for r in esc)]) + "\n"
    keep = range(len(_LIST_COLUMNS)) if wide else [_LIST_COLUMNS.index(c) for c in _NARROW_COLUMNS]
    table = [[r[i] for i in keep] for r in [_LIST_COLUMNS, *rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
    more = "" if wide else "; --wide adds datasets, tokenizer, hf_id and download (zoo show MODEL: everything)"
    return "\n".join(lines) + f"\n{len(models)} model(s){more}\n"


def _stage_overrides(recipe, st, m: Model) -> dict:
    from manifests.recipe_commands import stage_init

    o = {"stage": "zooprep catalog", "init_checkpoint": "inference: " + stage_init(recipe, st) + " (from the recipe's stages and init_from)"}
    if not st.warmup_stated and is_known(st.warmup):
        o["warmup"] = "inference: pretrain.py's default; the source's command sets no --warmup"
    if not m.recipe.checkpoint_prefix_stated:
        o["output_model_path"] = "inference: zooprep's file name (the source's name is not stated)"
    if st.labels_num is not None and st.labels_source:
        o["labels_num"] = st.labels_source
    return o


def show_data(cat: Catalog, model_id: str, fig: FigureOptions) -> dict:
    """Everything about one model; every field as {value, source}."""
    from manifests.recipe_commands import stage_init

    m = cat.model(model_id)
    arch = cat.architecture(m.architecture)
    tok = cat.tokenizer(m.tokenizer)
    recipe = cat.recipe_of(m.id)
    model_src = _sources(m.sources)
    page_src = source_label("zoo_page_zh")
    hf_src = _sources([x for x in m.sources if x.startswith("hf_")]) if any(x.startswith("hf_") for x in m.sources) else model_src
    model = _with_sources(m.model_dump(mode="json", exclude={"links"}), model_src,
                          {"id": "zooprep catalog id", "page": page_src, "hf_repo": hf_src, "extra": page_src,
                           "recipe": "zooprep catalog (recipe reference); config_path: the recipe's --config_path"})
    model["links"] = [{"value": l.model_dump(mode="json"),
                       "source": source_label(l.source) if l.source else (page_src if m.page and l.kind in ("weights", "vocab") and l.current
                                                                         else hf_src if l.kind in ("hf", "card") else model_src)}
                      for l in m.links]
    arch_src = (f"config: UER-py {arch.config_file}" if arch.config_file else f"inference: {arch.config_rule}")
    architecture = _with_sources(arch.model_dump(mode="json"), arch_src, {"id": "zooprep catalog id", "notes": "zooprep catalog"})
    tokenizer = _with_sources(tok.model_dump(mode="json"), _sources(tok.sources), {"id": "zooprep catalog id"})
    rec = None
    if recipe:
        rsrc = _sources(recipe.sources)
        rec = _with_sources(recipe.model_dump(mode="json", exclude={"stages"}), rsrc, {"id": "zooprep catalog id"})
        rec["stages"] = []
        for st in recipe.stages:
            row = _with_sources(st.model_dump(mode="json"), rsrc, _stage_overrides(recipe, st, m))
            row["init_checkpoint"]["value"] = stage_init(recipe, st)
            rec["stages"].append(row)
    figures = model_figures(cat, m, fig.gpu, fig.precision, fig.utilisation)
    return {"model": model, "architecture": architecture, "tokenizer": tokenizer, "recipe": rec,
            "datasets": ([_with_sources(cat.dataset(d).model_dump(mode="json"), _sources(cat.dataset(d).sources),
                                        {"id": "zooprep catalog id", "zooprep": "zooprep (reader family for clean --format)"})
                          for d in m.datasets] if isinstance(m.datasets, list) else {"value": "unknown", "source": UNKNOWN_SOURCE}),
            "conflicts": [c.model_dump(mode="json") for c in cat.conflicts if m.id in c.subject or (recipe and recipe.id in c.subject)],
            "figures": {"value": figures, "source": "inference: zooprep's estimate from the recipe and the shape (see assumptions)"}}


def _fmt_big(v) -> str:
    if v is None:
        return "unknown"
    return f"{v:.3g}" if isinstance(v, float) else f"{v:,}"


def _config_line(cat: Catalog, m: Model) -> str:
    arch = cat.architecture(m.architecture)
    if arch.config_file:
        import re

        line = f"  config: {arch.config_file} (shipped by UER-py)"
        named = re.search(r"([A-Za-z0-9_./]+_config\.json)", m.page.description or "") if m.page else None
        if named and named.group(1).split("/")[-1] != arch.config_file.split(" ")[0].split("/")[-1]:
            line += f"; the zoo page calls it {named.group(1)} (its older name)"
        return line
    out = "  config: UER-py ships none for this shape"
    if arch.config_rule:
        out += f" ({arch.config_rule})"
    if m.recipe.config_path:
        out += f"; `zooprep zoo config {m.id} --format uer --out {m.recipe.config_path}` writes the one the recipe reads"
    return out


def show_text(cat: Catalog, model_id: str, fig: FigureOptions) -> str:
    from manifests.recipe_commands import stage_init

    m = cat.model(model_id)
    a = cat.architecture(m.architecture)
    t = cat.tokenizer(m.tokenizer)
    recipe = cat.recipe_of(m.id)
    f = model_figures(cat, m, fig.gpu, fig.precision, fig.utilisation)
    out = [f"{m.id}  ({m.name})", f"  family: {m.family}   on zoo page: {not m.extra}   target: {m.target}",
           f"  datasets: {_show(m.datasets)}"]
    if m.page:
        out.append(f"  zoo page row: {m.page.label}" + (f"  (page says: {m.page.description})" if m.page.description else ""))
    for l in m.links:
        out.append(f"  link [{l.kind}{'' if l.current else ', old'}]: {l.url}" + (f"  ({l.note})" if l.note else ""))
    if m.hf_repo:
        out.append(f"  Hugging Face id: {m.hf_repo}")
    out.append(f"  tokenizer: {t.id} ({t.kind}, file {t.file}, vocab {t.vocab_size}, sha256 {t.sha256})"
               + (f"; get it: {t.download}" if t.download else (f"; ships with UER-py as {t.uer_path}" if is_known(t.uer_path) else "")))
    out.append(f"  architecture: {a.id}: layers {a.layers}, hidden {a.hidden}, heads {_show(a.heads)}, "
               f"feed-forward {_show(a.feedforward)}, emb {a.emb_size}, max len {_show(a.max_seq_length)}, vocab {a.vocab_size}")
    out.append(_config_line(cat, m))
    p = f["parameters"]
    if p["backbone"] is None:
        out.append(f"  parameters: unknown ({p['missing']})")
    else:
        out.append(f"  parameters: {human(p['backbone'])} backbone ({p['backbone']:,}, HF-class convention), "
                   f"{human(p['total'])} with pretraining heads ({p['total']:,})")
    out.append(f"  recipe: {m.recipe.id or '-'} (status {m.recipe.status})"
               + (f", trained by {m.recipe.trained_by}" if m.recipe.trained_by else ""))
    if recipe:
        for st, sf in zip(recipe.stages, f["stages"]):
            warm = (f"{st.warmup}" + ("" if st.warmup_stated or not is_known(st.warmup) else " (pretrain.py default; the source sets none)"))
            out.append(f"    stage {st.stage}: {'+'.join(st.datasets)}, processor {st.data_processor}, seq {st.seq_length}, "
                       f"steps {st.total_steps}, batch/GPU {st.batch_size_per_gpu} x {st.world_size} GPUs, "
                       f"lr {st.learning_rate}, warmup {warm}, masking {st.masking}, init {stage_init(recipe, st)}")
            util = f", utilisation {sf['utilisation']:.1%}" if sf.get("utilisation") else ""
            out.append(f"      tokens {_fmt_big(sf['tokens'])}, FLOPs {_fmt_big(sf['flops'])}, "
                       f"{fig.gpu.upper()} GPU-hours {_fmt_big(sf['gpu_hours'])}{util}"
                       + (f" (~{sf['wall_hours']:.3g} h on {st.world_size} GPUs)" if sf["wall_hours"] else "")
                       + (f"  [missing: {', '.join(sf['missing'])}]" if sf["missing"] else ""))
        out.append("  assumptions:")
        out += [f"    - {a_}" for a_ in f["assumptions"]]
    confl = [c for c in cat.conflicts if m.id in c.subject or (recipe and recipe.id in c.subject)]
    if confl:
        out.append("  conflicts between sources:")
        for c in confl:
            out.append(f"    - {c.subject}: follows {c.follows} ({c.reason})")
    for n in m.notes:
        out.append(f"  note: {n}")
    out.append(f"  sources: {_sources(m.sources)}")
    return "\n".join(out) + "\n"


def tokenizers_data(cat: Catalog) -> list[dict]:
    """Every tokenizer with where its file comes from."""
    rows = []
    for t in cat.tokenizers.values():
        where = t.download or (f"ships with UER-py: {t.uer_path} (dbiir/UER-py)" if is_known(t.uer_path) else "unknown: no source says")
        rows.append({"id": t.id, "kind": t.kind, "file": t.file, "vocab_size": t.vocab_size, "uer_flag": t.uer_flag,
                     "get_it": where, "models": sorted(m.id for m in cat.models.values() if m.tokenizer == t.id),
                     "source": _sources(t.sources)})
    return rows


def tokenizers_text(cat: Catalog) -> str:
    out = []
    for r in tokenizers_data(cat):
        out.append(f"{r['id']}: {r['kind']}, file {r['file']}, vocab {r['vocab_size']}, {len(r['models'])} model(s)")
        out.append(f"    get it: {r['get_it']}")
    return "\n".join(out) + "\n"


def datasets_data(cat: Catalog) -> list[dict]:
    return [{"id": d.id, "name": d.name, "size": d.size, "licence": d.licence, "models": len(d.used_by),
             "zooprep_format": d.zooprep.format} for d in cat.datasets.values()]


def datasets_text(cat: Catalog) -> str:
    rows = [("id", "models", "clean --format", "size")]
    for d in datasets_data(cat):
        size = d["size"] if len(d["size"]) < 70 else d["size"][:67] + "..."
        rows.append((d["id"], str(d["models"]), d["zooprep_format"] or "-", size))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3] for r in rows) + "\n"


def dataset_data(cat: Catalog, dataset_id: str) -> dict:
    d = cat.dataset(dataset_id)
    stages = [{"recipe": r.id, "stage": s.stage, "processor": s.data_processor, "seq_length": s.seq_length,
               "total_steps": s.total_steps, "batch_size_per_gpu": s.batch_size_per_gpu, "world_size": s.world_size,
               "learning_rate": s.learning_rate, "recipe_stage": f"{r.id}/{s.stage}",
               "models": [m.id for m in cat.models.values() if m.recipe.id == r.id]}
              for r, s in cat.recipes_on(dataset_id)]
    return {"dataset": d.model_dump(mode="json"), "models": [model_summary(cat, m) for m in cat.models_on(dataset_id)],
            "recipe_stages": stages}


def dataset_text(cat: Catalog, dataset_id: str) -> str:
    data = dataset_data(cat, dataset_id)
    d = data["dataset"]
    out = [f"{d['id']}  ({d['name']})"]
    for k in ("url", "size", "origin", "format", "licence", "distribution"):
        if d.get(k) is not None:
            out.append(f"  {k}: {d[k]}")
    for p in d["parts"]:
        out.append(f"  part {p['id']}: {p['size']}; {p['link']}")
    out.append(f"  zooprep: clean --format {d['zooprep']['format'] or '(no reader family fits)'}"
               + (f"  ({d['zooprep']['note']})" if d["zooprep"]["note"] else ""))
    out.append(f"  models trained on it ({len(data['models'])}):")
    out += [f"    {m['id']}" for m in data["models"]]
    out.append(f"  recipe stages ({len(data['recipe_stages'])}):")
    for s in data["recipe_stages"]:
        out.append(f"    {s['recipe_stage']}: {s['processor']}, seq {s['seq_length']}, steps {s['total_steps']}, "
                   f"batch/GPU {s['batch_size_per_gpu']} x {s['world_size']}, lr {s['learning_rate']}  -> {len(s['models'])} model(s)")
    for n in d["notes"]:
        out.append(f"  note: {n}")
    return "\n".join(out) + "\n"


def conflicts_text(cat: Catalog) -> str:
    out = []
    for c in cat.conflicts:
        out.append(f"{c.id}: {c.subject}")
        for cl in c.claims:
            mark = "*" if cl.source == c.follows else " "
            out.append(f"  {mark} {cl.source}: {cl.value}")
        out.append(f"    follows {c.follows}: {c.reason}")
    return "\n".join(out) + "\n"


def unknown_fields(m: Model) -> list[str]:
    """Top-level model fields the sources leave unknown (shown to users as 'unknown')."""
    return [k for k, v in m.model_dump().items() if not is_known(v) and v is not None]


def figures_rows(cat: Catalog, models: list[Model], fig: FigureOptions) -> list[dict]:
    """Per model: parameters and, summed over the recipe's stages, tokens, FLOPs and GPU-hours."""
    rows = []
    for m in models:
        f = model_figures(cat, m, fig.gpu, fig.precision, fig.utilisation)
        stages = f["stages"]
        complete = bool(stages) and all(s["gpu_hours"] is not None for s in stages)
        rows.append({"id": m.id, "parameters": f["parameters"]["total"], "backbone": f["parameters"]["backbone"],
                     "stages": len(stages),
                     "tokens": sum(s["tokens"] for s in stages) if complete else None,
                     "flops": sum(s["flops"] for s in stages) if complete else None,
                     "gpu_hours": sum(s["gpu_hours"] for s in stages) if complete else None})
    return rows


def figures_text(rows: list[dict], fig: FigureOptions) -> str:
    head = ("id", "params", "tokens", "FLOPs", f"{fig.gpu.upper()} GPU-h")
    table = [head] + [(r["id"], human(r["parameters"]), human(r["tokens"]) if r["tokens"] else "unknown",
                       f"{r['flops']:.3g}" if r["flops"] else "unknown",
                       f"{r['gpu_hours']:,.0f}" if r["gpu_hours"] is not None else "unknown") for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(t, widths))) for t in table]
    util = "the utilisation model" if fig.utilisation is None else f"{fig.utilisation:.0%} utilisation"
    lines.append(f"GPU-hours: all stages, {fig.precision} precision, {util}; "
                 "formulas and assumptions: `zoo show MODEL`; 'unknown' where the recipe or shape is not stated")
    return "\n".join(lines) + "\n"
