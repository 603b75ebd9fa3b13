"""Turn a model's recipe into the runnable command sequence, stage by stage.

Three syntaxes: ``zooprep`` (clean + shard + export with this project, then UER's pretrain.py),
``uer`` (UER-py preprocess.py + pretrain.py) and ``tencentpretrain`` (same flags, TencentPretrain's
scripts). Values the sources do not state are printed as ``<unknown:FIELD>`` and the plan is marked
not runnable, so a missing fact never turns into a silent default.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from manifests.catalog import Catalog, CatalogError
from manifests.schema import Model, Recipe, Stage, is_known

FORMATS = ("zooprep", "uer", "tencentpretrain")
from corpusprep.instances.data_processors import names as _shard_processors  # noqa: E402

ZOOPREP_PROCESSORS = _shard_processors()  # what `shard --processor` implements (the registry)


@dataclass
class Step:
    stage: int | None
    title: str
    argv: list[str]
    notes: list[str] = field(default_factory=list)

    def shell(self) -> str:
        """One shell command, long ones wrapped with backslash continuations."""
        parts, line, lines = [shlex.quote(a) if not a.startswith("<") else a for a in self.argv], "", []
        for p in parts:
            if line and (p.startswith("--") and len(line) > 60):
                lines.append(line + " \\")
                line = "    " + p
            else:
                line = f"{line} {p}" if line else p
        lines.append(line)
        return "\n".join(lines)


@dataclass
class Plan:
    model: str
    recipe: str
    format: str
    steps: list[Step]
    unknown: list[str]
    notes: list[str]

    @property
    def runnable(self) -> bool:
        return not self.unknown

    def as_dict(self) -> dict:
        return {"model": self.model, "recipe": self.recipe, "format": self.format, "runnable": self.runnable,
                "unknown": self.unknown, "notes": self.notes,
                "steps": [{"stage": s.stage, "title": s.title, "argv": s.argv, "notes": s.notes} for s in self.steps]}

    def text(self) -> str:
        out = [f"# {self.model}: recipe {self.recipe} ({self.format} syntax)"]
        if self.unknown:
            out.append(f"# NOT RUNNABLE AS IS: the sources do not state {', '.join(sorted(set(self.unknown)))}")
        out += [f"# {n}" for n in self.notes]
        for s in self.steps:
            out.append("")
            out.append(f"# [{'stage ' + str(s.stage) if s.stage else 'final'}] {s.title}")
            out += [f"#   {n}" for n in s.notes]
            out.append(s.shell())
        return "\n".join(out) + "\n"


class _Values:
    """Reads stage fields, recording the unknown ones."""

    def __init__(self):
        self.unknown: list[str] = []

    def __call__(self, stage: Stage, name: str):
        v = getattr(stage, name)
        if not is_known(v):
            self.unknown.append(f"stage {stage.stage} {name}")
            return f"<unknown:{name}>"
        return v


def _fmt_num(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _fill(template: str, model: Model) -> str:
    prefix = model.recipe.checkpoint_prefix or model.id.replace("-", "_")
    return template.replace("{checkpoint_prefix}", prefix)


def build_plan(cat: Catalog, model_id: str, fmt: str = "zooprep", vocab_dir: str = "models",
               raw_dir: str = "raw", work_dir: str = "work") -> Plan:
    """The full command sequence for ``model_id``; raises CatalogError when no recipe is known."""
    if fmt not in FORMATS:
        raise CatalogError(f"unknown recipe format '{fmt}' (choose from {', '.join(FORMATS)})")
    model = cat.model(model_id)
    recipe = cat.recipe_of(model_id)
    if recipe is None:
        who = f" (trained by {model.recipe.trained_by})" if model.recipe.trained_by else ""
        raise CatalogError(f"no training recipe is known for '{model_id}'{who}: recipe status '{model.recipe.status}'")
    tok = cat.tokenizer(model.tokenizer)
    val = _Values()
    notes = [n for n in recipe.notes]
    if model.recipe.status == "partial":
        notes.insert(0, "partial recipe: only the facts the sources state are filled in")
    if not model.recipe.checkpoint_prefix_stated and "{checkpoint_prefix}" in "".join(str(s.output_model_path) for s in recipe.stages):
        notes.append("checkpoint file names follow zooprep's pattern; UER's name for this model is not stated")
    tok_path = f"{vocab_dir}/{tok.file}" if is_known(tok.file) else "<unknown:vocab file>"
    if not is_known(tok.file):
        val.unknown.append("tokenizer file")
    config_path = model.recipe.config_path
    if config_path is None:
        config_path = "<unknown:config_path>"
        val.unknown.append("config_path")
    else:
        arch = cat.architecture(model.architecture)
        if arch.config_file is None and arch.config_rule and "copy a bert config" in arch.config_rule:
            notes.append(f"no config is shipped for this size: write it with `python cli.py zoo config {model.id} --format uer --out {config_path}`")

    steps: list[Step] = []
    outputs: dict[int, str] = {}
    cleaned: set[str] = set()
    for st in recipe.stages:
        steps += _data_steps(cat, model, recipe, st, fmt, tok, tok_path, val, raw_dir, work_dir, cleaned)
        steps.append(_pretrain_step(cat, model, recipe, st, fmt, tok, tok_path, config_path, val, outputs, work_dir))
    conv = _conversion_step(model, recipe, fmt, outputs)
    if conv:
        steps.append(conv)
    return Plan(model.id, recipe.id, fmt, steps, val.unknown, notes)


def _dataset_path(st: Stage, model: Model, work_dir: str) -> str:
    if is_known(st.dataset_path):
        return str(st.dataset_path)
    return f"{work_dir}/{model.id}_stage{st.stage}_dataset.pt"


def _data_steps(cat, model, recipe, st, fmt, tok, tok_path, val, raw_dir, work_dir, cleaned) -> list[Step]:
    proc = val(st, "data_processor")
    seq = val(st, "seq_length")
    ds_path = _dataset_path(st, model, work_dir)
    if fmt == "zooprep" and proc in ZOOPREP_PROCESSORS:
        steps = []
        clean_dirs = []
        for d in st.datasets:
            ds = cat.dataset(d)
            out = f"{work_dir}/{d}/clean"
            clean_dirs.append(out)
            if d in cleaned:
                continue
            cleaned.add(d)
            family = ds.zooprep.format or "text"
            nts = [f"raw corpus: {ds.name}; {ds.url if is_known(ds.url) else 'no public address known'}"]
            if ds.zooprep.note:
                nts.append(ds.zooprep.note)
            if ds.zooprep.format is None:
                nts.append("no zooprep reader family fits this corpus: --format text is a placeholder, pick the right one")
            steps.append(Step(st.stage, f"clean {d}", ["python", "cli.py", "clean", f"{raw_dir}/{d}", "--format", family,
                                                       "--out", out, "--layout", "parquet"], nts))
        shard_out = f"{work_dir}/{'+'.join(st.datasets)}/shard-{proc}-seq{seq}"
        argv = ["python", "cli.py", "shard", *clean_dirs, "--out", shard_out, "--seq-len", _fmt_num(seq), "--processor", proc,
                "--spm" if tok.kind == "sentencepiece" else "--vocab", tok_path]
        if st.full_sentences is True:
            argv.append("--full-sentences")
        if st.masking == "static":
            dup = st.dup_factor if is_known(st.dup_factor) and st.dup_factor is not None else 5
            argv += ["--static-masking", "--dup-factor", str(dup)]
        if st.whole_word_masking:
            argv.append("--whole-word")
        argv += ["--seed", "7", "--manifest-dataset", "+".join(st.datasets), "--recipe-stage", f"{recipe.id}/{st.stage}"]
        nts = ["dynamic masking happens at training time (UER --dynamic_masking): shard stores unmasked ids"] if st.masking == "dynamic" else []
        steps.append(Step(st.stage, f"shard for {proc}, seq {seq}", argv, nts))
        steps.append(Step(st.stage, "export to the UER dataset file pretrain.py reads",
                          ["python", "cli.py", "export", shard_out, "--to", "uer", "--out", ds_path]))
        return steps
    nts = []
    if fmt == "zooprep":
        nts.append(f"zooprep's shard has no '{proc}' processor: this stage uses UER's preprocess.py")
    corpus = val(st, "corpus_path")
    flag = tok.uer_flag if tok.uer_flag != "unknown" else "--vocab_path"
    argv = ["python3", "preprocess.py", "--corpus_path", str(corpus), flag, tok_path, "--dataset_path", ds_path]
    if is_known(st.processes_num):  # parallelism only: when unstated, UER's default (1) gives the same data
        argv += ["--processes_num", _fmt_num(st.processes_num)]
    argv += ["--seq_length", _fmt_num(seq), "--data_processor", str(proc)]
    if st.masking == "dynamic":
        argv.append("--dynamic_masking")
    elif st.masking == "static" and is_known(st.dup_factor) and st.dup_factor is not None:
        argv += ["--dup_factor", str(st.dup_factor)]
    if st.full_sentences is True:
        argv.append("--full_sentences")
    if st.whole_word_masking:
        argv.append("--whole_word_masking")
    if st.span_masking:
        argv += ["--span_masking", "--span_geo_prob", _fmt_num(st.span_masking["geo_prob"]),
                 "--span_max_length", _fmt_num(st.span_masking["max_length"])]
    if st.preprocess_flags_printed:
        nts.append(f"flags as printed by the source: {st.preprocess_flags_printed}")
    return [Step(st.stage, f"preprocess ({proc}, seq {seq})", argv, nts)]


def _final_checkpoint(cat: Catalog, model_id: str) -> str:
    """The last checkpoint UER writes for ``model_id`` (output path + '-' + total steps of its last stage)."""
    model = cat.model(model_id)
    recipe = cat.recipe_of(model_id)
    last = recipe.stages[-1] if recipe else None
    if last is None or not is_known(last.output_model_path) or not is_known(last.total_steps):
        return f"<unknown:checkpoint of {model_id}>"
    return f"{_fill(last.output_model_path, model)}-{last.total_steps}"


def _pretrain_step(cat, model, recipe: Recipe, st: Stage, fmt, tok, tok_path, config_path, val, outputs, work_dir) -> Step:
    flag = tok.uer_flag if tok.uer_flag != "unknown" else "--vocab_path"
    out_path = _fill(str(val(st, "output_model_path")), model)
    outputs[st.stage] = out_path
    deepspeed = recipe.framework == "tencentpretrain+deepspeed"
    argv = ["deepspeed" if deepspeed else "python3", "pretrain.py"]
    argv += ["--dataset_path", _dataset_path(st, model, work_dir), flag, tok_path, "--config_path", config_path,
             "--output_model_path", out_path]
    world = val(st, "world_size")
    ranks = st.gpu_ranks if is_known(st.gpu_ranks) else (list(range(world)) if isinstance(world, int) else None)
    argv += ["--world_size", _fmt_num(world), "--gpu_ranks", *([str(r) for r in ranks] if ranks else ["<unknown:gpu_ranks>"])]
    argv += ["--total_steps", _fmt_num(val(st, "total_steps")),
             "--save_checkpoint_steps", _fmt_num(val(st, "save_checkpoint_steps")),
             "--learning_rate", _fmt_num(val(st, "learning_rate")),
             "--warmup", _fmt_num(val(st, "warmup")),
             "--batch_size", _fmt_num(val(st, "batch_size_per_gpu")),
             "--data_processor", str(val(st, "data_processor")), "--target", str(val(st, "target"))]
    if is_known(st.report_steps):  # logging only: when unstated, UER's default applies
        argv += ["--report_steps", _fmt_num(st.report_steps)]
    if st.init_checkpoint:
        ref = st.init_checkpoint
        if ref.startswith("stage:"):
            n = int(ref[6:])
            prev = next(s for s in recipe.stages if s.stage == n)
            steps_prev = prev.total_steps if is_known(prev.total_steps) else "<unknown:total_steps>"
            argv += ["--pretrained_model_path", f"{outputs.get(n, '<unknown:stage output>')}-{steps_prev}"]
        elif ref.startswith("model:"):
            argv += ["--pretrained_model_path", _final_checkpoint(cat, ref[6:])]
        else:
            argv += ["--pretrained_model_path", f"<{ref}>"]
    argv += st.model_flags
    nts = []
    if not st.warmup_stated and is_known(st.warmup):
        nts.append("--warmup: the source sets none; UER's default (0.1) is printed explicitly")
    if recipe.init_from.startswith("model:") and st.stage == 1:
        nts.append(f"initialised from {recipe.init_from[6:]}")
    nts += [n for n in st.notes if "warmup" not in n]
    tool = "TencentPretrain" if fmt == "tencentpretrain" or recipe.framework != "uer" else "UER-py"
    return Step(st.stage, f"pretrain with {tool}", argv, nts)


def _conversion_step(model: Model, recipe: Recipe, fmt: str, outputs: dict) -> Step | None:
    conv = recipe.conversion
    if conv is None:
        return None
    last = outputs.get(max(outputs)) if outputs else "<unknown>"
    src = conv.input_checkpoint.replace("{stage2_output}", last)
    script = conv.script
    if fmt == "tencentpretrain":
        script = script.replace("_from_uer_to_", "_from_tencentpretrain_to_")
    argv = ["python3", script, "--input_model_path", src, "--output_model_path", "pytorch_model.bin"]
    if model.recipe.layers_num:
        argv += ["--layers_num", str(model.recipe.layers_num)]
    if conv.type_flag:
        argv += ["--type", conv.type_flag]
    return Step(None, "convert to Hugging Face format", argv, list(conv.notes))
