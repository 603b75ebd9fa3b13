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


@dataclass(frozen=True)
class FigureOptions:
    gpu: str = "A100"
    precision: str = "mixed"
    utilisation: float = DEFAULT_UTILISATION


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
    return {"id": m.id, "name": m.name, "family": m.family, "datasets": m.datasets, "links": links,
            "on_zoo_page": not m.extra, "tokenizer": m.tokenizer, "target": m.target,
            "layers": arch.layers, "hidden": arch.hidden, "heads": arch.heads, "recipe": m.recipe.id,
            "recipe_status": m.recipe.status}


def select_models(cat: Catalog, q: ListQuery) -> list[Model]:
    if q.dataset:
        cat.dataset(q.dataset)
    if q.family and q.family not in cat.families():
        raise CatalogError(f"unknown family '{q.family}' (families: {', '.join(cat.families())})")
    out = []
    for m in cat.models.values():
        if q.family and m.family != q.family:
            continue
        if q.dataset and not (isinstance(m.datasets, list) and q.dataset in m.datasets):
            continue
        if not q.include_extra and m.extra:
            continue
        out.append(m)
    return out


def list_text(cat: Catalog, models: list[Model]) -> str:
    rows = [("id", "family", "L/H", "datasets", "recipe", "download")]
    for m in models:
        s = model_summary(cat, m)
        rows.append((m.id, m.family, f"{_show(s['layers'])}/{_show(s['hidden'])}",
                     _show(m.datasets if isinstance(m.datasets, list) else "unknown"),
                     m.recipe.status, (s["links"]["weights"] or ["-"])[0]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines) + f"\n{len(models)} model(s)\n"


def show_data(cat: Catalog, model_id: str, fig: FigureOptions) -> dict:
    m = cat.model(model_id)
    arch = cat.architecture(m.architecture)
    tok = cat.tokenizer(m.tokenizer)
    recipe = cat.recipe_of(m.id)
    return {"model": m.model_dump(mode="json"), "architecture": arch.model_dump(mode="json"),
            "tokenizer": tok.model_dump(mode="json"), "recipe": recipe.model_dump(mode="json") if recipe else None,
            "datasets": [cat.dataset(d).model_dump(mode="json") for d in m.datasets] if isinstance(m.datasets, list) else "unknown",
            "conflicts": [c.model_dump(mode="json") for c in cat.conflicts if m.id in c.subject or (recipe and recipe.id in c.subject)],
            "figures": model_figures(cat, m, fig.gpu, fig.precision, fig.utilisation)}


def _fmt_big(v) -> str:
    if v is None:
        return "unknown"
    return f"{v:.3g}" if isinstance(v, float) else f"{v:,}"


def show_text(cat: Catalog, model_id: str, fig: FigureOptions) -> str:
    d = show_data(cat, model_id, fig)
    m, a, t, r, f = d["model"], d["architecture"], d["tokenizer"], d["recipe"], d["figures"]
    out = [f"{m['id']}  ({m['name']})", f"  family: {m['family']}   on zoo page: {not m['extra']}   target: {m['target']}",
           f"  datasets: {_show(m['datasets'])}"]
    for l in m["links"]:
        out.append(f"  link [{l['kind']}{'' if l['current'] else ', old'}]: {l['url']}" + (f"  ({l['note']})" if l.get("note") else ""))
    out.append(f"  tokenizer: {t['id']} ({t['kind']}, file {t['file']}, vocab {t['vocab_size']}, sha256 {t['sha256']})")
    out.append(f"  architecture: {a['id']}: layers {a['layers']}, hidden {a['hidden']}, heads {_show(a['heads'])}, "
               f"feed-forward {_show(a['feedforward'])}, emb {a['emb_size']}, max len {_show(a['max_seq_length'])}, vocab {a['vocab_size']}")
    out.append(f"  config: {m['recipe'].get('config_path') or a.get('config_file') or a.get('config_rule')}")
    p = f["parameters"]
    if p["backbone"] is None:
        out.append(f"  parameters: unknown ({p['missing']})")
    else:
        out.append(f"  parameters: {human(p['backbone'])} backbone ({p['backbone']:,}, HF-class convention), "
                   f"{human(p['total'])} with pretraining heads ({p['total']:,})")
    out.append(f"  recipe: {m['recipe'].get('id') or '-'} (status {m['recipe']['status']})"
               + (f", trained by {m['recipe']['trained_by']}" if m['recipe'].get('trained_by') else ""))
    if r:
        for st, sf in zip(r["stages"], f["stages"]):
            out.append(f"    stage {st['stage']}: {'+'.join(st['datasets'])}, processor {st['data_processor']}, seq {st['seq_length']}, "
                       f"steps {st['total_steps']}, batch/GPU {st['batch_size_per_gpu']} x {st['world_size']} GPUs, "
                       f"lr {st['learning_rate']}, warmup {st['warmup']}{'' if st['warmup_stated'] else ' (default)'}, "
                       f"masking {st['masking']}, init {st['init_checkpoint'] or 'random'}")
            out.append(f"      tokens {_fmt_big(sf['tokens'])}, FLOPs {_fmt_big(sf['flops'])}, "
                       f"{fig.gpu.upper()} GPU-hours {_fmt_big(sf['gpu_hours'])}"
                       + (f" (~{sf['wall_hours']:.3g} h on {st['world_size']} GPUs)" if sf["wall_hours"] else "")
                       + (f"  [missing: {', '.join(sf['missing'])}]" if sf["missing"] else ""))
        out.append("  assumptions:")
        out += [f"    - {a_}" for a_ in f["assumptions"]]
    if d["conflicts"]:
        out.append("  conflicts between sources:")
        for c in d["conflicts"]:
            out.append(f"    - {c['subject']}: follows {c['follows']} ({c['reason']})")
    for n in m["notes"]:
        out.append(f"  note: {n}")
    out.append(f"  sources: {_show(m['sources'])}")
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
    lines.append(f"GPU-hours: all stages, {fig.precision} precision, {fig.utilisation:.0%} utilisation; "
                 "formulas and assumptions: `zoo show MODEL`; 'unknown' where the recipe or shape is not stated")
    return "\n".join(lines) + "\n"
