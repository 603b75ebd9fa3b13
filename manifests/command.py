"""`zooprep zoo ...`: query the model-zoo catalog. Commands parse options and delegate."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

zoo_app = typer.Typer(help="The UER model zoo catalog: models, datasets, tokenizers, recipes.", no_args_is_help=True)


def _emit(obj) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def _catalog():
    from manifests.catalog import load_catalog

    return load_catalog()


@zoo_app.command("list")
def list_models(
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Only models trained on this dataset id."),
    family: Optional[str] = typer.Option(None, "--family", help="Only this family (roberta-char, gpt2, bert, ...)."),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", help="Only models with this tokenizer id (see `zoo tokenizers`)."),
    seq_len: Optional[int] = typer.Option(None, "--seq-len", help="Only models with a recipe stage at this sequence length."),
    stages: Optional[int] = typer.Option(None, "--stages", help="Only models whose recipe has this many stages (0: no recipe)."),
    on_page: Optional[bool] = typer.Option(None, "--on-page/--not-on-page", help="Only models of the zoo page / only the others."),
    has_hf: Optional[bool] = typer.Option(None, "--has-hf/--no-hf", help="Only models with / without a Hugging Face repository."),
    page_only: bool = typer.Option(False, "--page-only", help="Same as --on-page."),
    fmt: str = typer.Option("text", "--format", help="text, json, csv or md."),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    wide: bool = typer.Option(False, "--wide", help="Text: every column (datasets, tokenizer, hf_id, download), wider than 100 characters."),
) -> None:
    """List the catalog's models, filtered; text (100 columns; --wide: all), JSON, CSV or markdown."""
    from manifests.catalog import CatalogError
    from manifests.views import LIST_FORMATS, ListQuery, list_text, model_summary, select_models

    fmt = "json" if as_json else fmt
    if fmt not in LIST_FORMATS:
        raise CatalogError(f"unknown list format '{fmt}' (choose from {', '.join(LIST_FORMATS)})")
    cat = _catalog()
    q = ListQuery(dataset, family, include_extra=not page_only, tokenizer=tokenizer, seq_len=seq_len, stages=stages,
                  on_page=on_page, has_hf=has_hf)
    models = select_models(cat, q)
    if fmt == "json":
        _emit([model_summary(cat, m) for m in models])
    else:
        typer.echo(list_text(cat, models, fmt, wide=wide), nl=False)


@zoo_app.command("tokenizers")
def tokenizers(as_json: bool = typer.Option(False, "--json")) -> None:
    """The vocabularies and sentencepiece models, and where to get their files."""
    from manifests.views import tokenizers_data, tokenizers_text

    cat = _catalog()
    if as_json:
        _emit(tokenizers_data(cat))
    else:
        typer.echo(tokenizers_text(cat), nl=False)


@zoo_app.command("show")
def show(
    model: str = typer.Argument(..., help="Model id (see `zoo list`)."),
    gpu: str = typer.Option("A100", "--gpu", help="GPU for the GPU-hours estimate: A100, V100, H100."),
    precision: str = typer.Option("mixed", "--precision", help="fp32, tf32 or mixed (fp16/bf16 tensor cores)."),
    utilisation: Optional[float] = typer.Option(None, "--utilisation", help="A flat model FLOPs utilisation (0-1] instead of the utilisation model."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Everything known about one model, with parameter count, tokens, FLOPs and GPU-hours."""
    from manifests.views import FigureOptions, show_data, show_text

    cat = _catalog()
    fig = FigureOptions(gpu, precision, utilisation)
    if as_json:
        _emit(show_data(cat, model, fig))
    else:
        typer.echo(show_text(cat, model, fig), nl=False)


@zoo_app.command("figures")
def figures(
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Only models trained on this dataset id."),
    family: Optional[str] = typer.Option(None, "--family", help="Only this family."),
    gpu: str = typer.Option("A100", "--gpu", help="A100, V100 or H100."),
    precision: str = typer.Option("mixed", "--precision", help="fp32, tf32 or mixed."),
    utilisation: Optional[float] = typer.Option(None, "--utilisation", help="A flat model FLOPs utilisation (0-1] instead of the utilisation model."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Parameters, tokens, training FLOPs and GPU-hours for many models at once."""
    from manifests.views import FigureOptions, ListQuery, figures_rows, figures_text, select_models

    cat = _catalog()
    fig = FigureOptions(gpu, precision, utilisation)
    rows = figures_rows(cat, select_models(cat, ListQuery(dataset, family)), fig)
    if as_json:
        _emit(rows)
    else:
        typer.echo(figures_text(rows, fig), nl=False)


@zoo_app.command("datasets")
def datasets(as_json: bool = typer.Option(False, "--json")) -> None:
    """List the training corpora."""
    from manifests.views import datasets_data, datasets_text

    cat = _catalog()
    if as_json:
        _emit(datasets_data(cat))
    else:
        typer.echo(datasets_text(cat), nl=False)


@zoo_app.command("dataset")
def dataset(dataset_id: str = typer.Argument(..., help="Dataset id (see `zoo datasets`)."),
            as_json: bool = typer.Option(False, "--json")) -> None:
    """One corpus: its facts, the models trained on it and their recipe stages."""
    from manifests.views import dataset_data, dataset_text

    cat = _catalog()
    if as_json:
        _emit(dataset_data(cat, dataset_id))
    else:
        typer.echo(dataset_text(cat, dataset_id), nl=False)


@zoo_app.command("validate")
def validate(
    vocab_dir: Optional[Path] = typer.Option(None, "--vocab-dir", help="Folder with vocab/spm files to checksum (absent files are reported, not failed)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Check the catalog: schema, cross-references, shape rules, file checksums. Exit 1 on errors."""
    from manifests.validate import validate_catalog

    rep = validate_catalog(_catalog(), vocab_dir)
    if as_json:
        _emit(rep.as_dict())
    else:
        for line in rep.checked:
            typer.echo(f"ok       {line}")
        for line in rep.not_checked:
            typer.echo(f"skipped  {line}")
        for line in rep.errors:
            typer.echo(f"ERROR    {line}")
        typer.echo("catalog valid" if rep.ok else f"{len(rep.errors)} error(s)")
    if not rep.ok:
        raise typer.Exit(1)


@zoo_app.command("recipe")
def recipe(
    model: str = typer.Argument(..., help="Model id."),
    fmt: str = typer.Option("zooprep", "--format", help="zooprep, uer or tencentpretrain."),
    vocab_dir: str = typer.Option("models", "--vocab-dir", help="Where the vocab/spm files live in the printed commands."),
    raw_dir: str = typer.Option("raw", "--raw-dir", help="Where the raw corpora live (zooprep format)."),
    work_dir: str = typer.Option("work", "--work-dir", help="Where zooprep writes intermediate data."),
    corpus: Optional[str] = typer.Option(None, "--corpus", help="Your own corpus (file or folder): zooprep commands for it, recorded as an adapted recipe stage."),
    vocab: Optional[str] = typer.Option(None, "--vocab", help="With --corpus: your vocab file instead of the model's."),
    spm: Optional[str] = typer.Option(None, "--spm", help="With --corpus: your sentencepiece model instead of the model's."),
    check: bool = typer.Option(False, "--check", help="Parse every printed command with the recorded command line of its trainer (and zooprep's); exit 1 if one is refused or a value remains to fill in."),
    sets: Optional[List[str]] = typer.Option(None, "--set", help="Fill in an unknown value: NAME=VALUE (the printed variable name, e.g. LEARNING_RATE=1e-4); repeatable."),
    values: Optional[Path] = typer.Option(None, "--values", help="Fill in unknown values from a YAML mapping NAME: value (--set wins)."),
    smoke: bool = typer.Option(False, "--smoke", help="A runnable miniature of the recipe on a sample of --corpus: tiny config, one process, a few steps."),
    device: str = typer.Option("cpu", "--device", help="With --smoke: cpu (no --gpu_ranks) or gpu (--gpu_ranks 0)."),
    layers: int = typer.Option(2, "--layers", help="With --smoke: layers of the tiny model."),
    hidden: int = typer.Option(64, "--hidden", help="With --smoke: hidden size of the tiny model."),
    steps: int = typer.Option(3, "--steps", help="With --smoke: training steps per stage (a loss is printed at each)."),
    lines: int = typer.Option(400, "--lines", help="With --smoke: lines of --corpus in the sample."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The complete command sequence per stage: data preparation, pretraining, conversion to HF."""
    from corpusprep.errors import ZooprepError
    from manifests.recipe_commands import OwnData, build_plan
    from manifests.recipe_values import fill, read_values

    own = OwnData(corpus, vocab, spm) if corpus else None
    if own is None and (vocab or spm):
        raise ZooprepError("--vocab/--spm go with --corpus (your own data)")
    if smoke:
        from manifests.smoke import SmokeOptions, smoke_plan

        if min(layers, hidden, steps, lines) < 1:
            raise ZooprepError("--layers, --hidden, --steps and --lines must be at least 1")
        plan = smoke_plan(_catalog(), model, fmt, corpus, vocab, spm, work_dir=work_dir, vocab_dir=vocab_dir,
                          opts=SmokeOptions(device, layers, hidden, steps, 4, lines))
    else:
        plan = build_plan(_catalog(), model, fmt, vocab_dir=vocab_dir, raw_dir=raw_dir, work_dir=work_dir, own=own)
    plan = fill(plan, read_values(sets, values))
    if check:
        from manifests.recipe_check import check_plan

        report = check_plan(plan)
        if as_json:
            _emit(report.as_dict())
        else:
            typer.echo(report.text(), nl=False)
        if not report.ok or not plan.runnable:
            raise typer.Exit(1)
        return
    if as_json:
        _emit(plan.as_dict())
    else:
        typer.echo(plan.text(), nl=False)


def _file_outputs(command: str, out: Path, overwrite: bool):
    """The rerun rule for a file `zoo` writes (corpusprep.outdir): OUT + OUT.card.json, the catalog as input."""
    from corpusprep.outdir import FileOutputs
    from corpusprep.outdir.fileout import card_beside
    from corpusprep.outdir.rerun import cli_options
    from manifests.catalog import DATA_DIR

    outputs = FileOutputs(command, [Path(out)], card_beside(out), [DATA_DIR], overwrite=overwrite,
                          rerun_options=cli_options())
    outputs.check()
    return outputs


@zoo_app.command("config")
def config(
    model: str = typer.Argument(..., help="Model id."),
    fmt: str = typer.Option("uer", "--format", help="uer (UER-py/TencentPretrain --config_path) or hf (config.json)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write to this file (atomically, with OUT.card.json) instead of stdout."),
    layers: Optional[int] = typer.Option(None, "--layers", help="A miniature: this many layers (same architecture otherwise)."),
    hidden: Optional[int] = typer.Option(None, "--hidden", help="A miniature: this hidden size (heads of 32 dims, feed-forward 4x)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished OUT written with other options."),
) -> None:
    """Write the model's config JSON (or a small one of the same architecture: --layers/--hidden)."""
    from corpusprep.atomic import json_bytes
    from manifests.configs import model_config

    cfg = model_config(_catalog(), model, fmt, layers=layers, hidden=hidden)
    if out is not None:
        with _file_outputs("zoo config", out, overwrite) as outputs:
            with outputs.open(out, "wb") as fh:
                fh.write(json_bytes(cfg))
            outputs.commit({"model": model, "format": fmt, "layers": layers, "hidden": hidden})
        typer.echo(f"wrote {out}", err=True)
    else:
        _emit(cfg)


@zoo_app.command("render")
def render(
    lang: str = typer.Option("zh", "--lang", help="zh (the zoo page itself) or en (its tables, descriptions from the catalog)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write to this file (atomically) instead of stdout."),
    check: Optional[Path] = typer.Option(None, "--check", help="Compare the whole rendered zh page with this page (e.g. Modelzoo.zh.md); exit 1 on any difference."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished OUT written with other options."),
) -> None:
    """Regenerate the zoo page (zh) or its tables (en) from the catalog."""
    from corpusprep.errors import InputError
    from manifests.render import compare_pages, render_tables

    cat = _catalog()
    if check:
        try:
            page = check.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(check, "file not found") from None
        except IsADirectoryError:
            raise InputError(check, "is a directory; --check takes the page file") from None
        except UnicodeDecodeError as exc:
            raise InputError(check, f"not a UTF-8 text page (byte {exc.start})") from None
        diffs = compare_pages(page, render_tables(cat, "zh"))
        for d in diffs:
            typer.echo(d)
        typer.echo(f"{check}: {len(page.splitlines())} page lines compared with the rendered page "
                   "(cell padding and runs of spaces ignored), "
                   f"{len(diffs)} difference(s)")
        if diffs:
            raise typer.Exit(1)
        return
    text = render_tables(cat, lang)
    if out is not None:
        with _file_outputs("zoo render", out, overwrite) as outputs:
            with outputs.open(out) as fh:
                fh.write(text)
            outputs.commit({"lang": lang})
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(text, nl=False)


@zoo_app.command("conflicts")
def conflicts(as_json: bool = typer.Option(False, "--json")) -> None:
    """Facts where the sources disagree, and which one the catalog follows."""
    from manifests.views import conflicts_text

    cat = _catalog()
    if as_json:
        _emit([c.model_dump(mode="json") for c in cat.conflicts])
    else:
        typer.echo(conflicts_text(cat), nl=False)
