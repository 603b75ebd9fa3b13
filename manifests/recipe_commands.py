"""Turn a model's recipe into the runnable command sequence, stage by stage.

Three syntaxes: ``zooprep`` (clean + shard + export with this project, then the trainer's
pretrain.py), ``uer`` (UER-py preprocess.py + pretrain.py) and ``tencentpretrain`` (its scripts).
Values the sources do not state are printed as shell parameters that stop the command with a
message, ``"${LEARNING_RATE:?fill in: the learning rate, not stated by the sources}"``: pasted
unchanged they fail with that message, never with a default. Every printed trainer command can be
checked with :func:`check_plan` against the recorded command lines of the trainers.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from manifests.catalog import Catalog, CatalogError
from manifests.schema import Model, Recipe, Stage, is_known
from manifests.targets import renamed, uer_targets

FORMATS = ("zooprep", "uer", "tencentpretrain")
def zooprep_processors() -> tuple[str, ...]:
    """What `zooprep shard --processor` offers: the processor registry."""
    from corpusprep.instances.data_processors import names

    return tuple(names())


ZOOPREP = "zooprep"  # the installed console script
LABELLED_KEEP = "min_length,max_length,chinese_share,char_spam,line_spam,exact_dup"  # clean ops that drop rows

# what a user must fill in when a source leaves a value unstated
_FILL = {
    "learning_rate": "the learning rate, not stated by the sources",
    "warmup": "the warmup share of total_steps, not stated (pretrain.py default 0.1)",
    "batch_size_per_gpu": "the batch size per GPU, not stated by the sources",
    "world_size": "the number of GPUs, not stated by the sources",
    "gpu_ranks": "one GPU rank per process, e.g. 0 1 2 3",
    "total_steps": "the number of training steps, not stated by the sources",
    "save_checkpoint_steps": "how often to save a checkpoint, not stated by the sources",
    "seq_length": "the sequence length, not stated by the sources",
    "data_processor": "the data processor, not stated by the sources",
    "labels_num": "the number of classes of the cls objective, not stated by the sources",
}


@dataclass(frozen=True)
class Unknown:
    """A value no source states: printed as a shell parameter that stops with a message when unset."""

    var: str
    fill: str
    split: bool = False  # a list (e.g. GPU ranks): expands to several words

    def shell(self) -> str:
        text = re.sub(r"[`\"'$\\{}]", "", self.fill)  # characters that would end or change the shell word
        word = f"${{{self.var}:?fill in: {text}}}"
        return word if self.split else f'"{word}"'

    def __str__(self) -> str:
        return self.shell()


Arg = str | Unknown


@dataclass
class Step:
    stage: int | None
    title: str
    argv: list[Arg]
    notes: list[str] = field(default_factory=list)
    tool: str = "uer"  # whose command line parses it: zooprep, uer, tencentpretrain, deepspeed

    @property
    def script(self) -> str:
        """The script (or zooprep sub-command) the arguments after it belong to."""
        return str(self.argv[1])

    def shell(self) -> str:
        """One shell command, long ones wrapped with backslash continuations."""
        parts = [a.shell() if isinstance(a, Unknown) else shlex.quote(a) for a in self.argv]
        line, lines = "", []
        for p in parts:
            if line and p.startswith("--") and len(line) > 60:
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
    unknown: list[Unknown]
    notes: list[str]
    adapted: bool = False  # True: commands for the user's own corpus (--corpus)

    @property
    def runnable(self) -> bool:
        return not self.unknown

    def as_dict(self) -> dict:
        return {"model": self.model, "recipe": self.recipe, "format": self.format, "runnable": self.runnable,
                "adapted": self.adapted,
                "unknown": [{"variable": u.var, "fill_in": u.fill} for u in self.unknown], "notes": self.notes,
                "steps": [{"stage": s.stage, "title": s.title, "tool": s.tool, "argv": [str(a) for a in s.argv],
                           "shell": s.shell(), "notes": s.notes} for s in self.steps]}

    def text(self) -> str:
        out = [comment(f"{self.model}: recipe {self.recipe} ({self.format} syntax)")]
        if self.unknown:
            out.append("# NOT RUNNABLE AS IS: the sources do not state these values; set them first:")
            out += [comment(f"  {u.var}: {u.fill}") for u in self.unknown]
        out += [comment(n) for n in self.notes]
        for s in self.steps:
            out.append("")
            out.append(comment(f"[{'stage ' + str(s.stage) if s.stage else ('set-up' if s.stage == 0 else 'final')}] {s.title}"))
            out += [comment(f"  {n}") for n in s.notes]
            out.append(s.shell())
        return "\n".join(out) + "\n"


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


def comment(text: str) -> str:
    """One ``#`` comment line whatever ``text`` holds: a newline (or any control character) in a user
    value is shown escaped, so it can never end the comment and start a command."""
    return "# " + _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


@dataclass(frozen=True)
class OwnData:
    """The user's own corpus and tokenizer files (``zoo recipe --corpus PATH [--vocab|--spm PATH]``)."""

    corpus: str
    vocab: str | None = None
    spm: str | None = None

    @property
    def name(self) -> str:
        stem = Path(self.corpus.rstrip("/")).name.split(".")[0]
        return re.sub(r"[^A-Za-z0-9_-]+", "_", stem) or "corpus"


class _Values:
    """Reads stage fields; an unstated one becomes an :class:`Unknown` (one variable per field and stage)."""

    def __init__(self, multi_stage: bool):
        self.multi = multi_stage
        self.unknown: dict[str, Unknown] = {}

    def unknown_for(self, stage: int | None, name: str, fill: str, split: bool = False) -> Unknown:
        var = (f"STAGE{stage}_" if self.multi and stage else "") + name.upper()
        return self.unknown.setdefault(var, Unknown(var, fill, split))

    def __call__(self, stage: Stage, name: str) -> Arg:
        v = getattr(stage, name)
        if not is_known(v):
            return self.unknown_for(stage.stage, name, _FILL.get(name, f"{name}, not stated by the sources"),
                                    split=name == "gpu_ranks")
        return _fmt_num(v)


def _fmt_num(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _fill(template: str, model: Model) -> str:
    prefix = model.recipe.checkpoint_prefix or model.id.replace("-", "_")
    return template.replace("{checkpoint_prefix}", prefix)


def stage_init(recipe: Recipe, st: Stage) -> str:
    """Where a stage's weights start: 'random', 'stage:N', 'model:ID', 'external:...' or 'unknown'."""
    if st.init_checkpoint:
        return st.init_checkpoint
    if st.stage != recipe.stages[0].stage:
        return "unknown"
    if recipe.init_from == "random":
        return "random"
    if not is_known(recipe.init_from):
        return "unknown"
    return recipe.init_from if recipe.init_from.startswith(("model:", "external:")) else f"external:{recipe.init_from}"


def _deepspeed(recipe: Recipe, fmt: str) -> bool:
    """DeepSpeed runs only with TencentPretrain: UER-py's pretrain.py has no DeepSpeed options."""
    return recipe.framework == "tencentpretrain+deepspeed" and fmt != "uer"


def _trainer(recipe: Recipe, fmt: str) -> str:
    if fmt == "uer":
        return "uer"
    if fmt == "tencentpretrain" or recipe.framework != "uer":
        return "tencentpretrain"
    return "uer"


def build_plan(cat: Catalog, model_id: str, fmt: str = "zooprep", vocab_dir: str = "models",
               raw_dir: str = "raw", work_dir: str = "work", own: OwnData | None = None) -> Plan:
    """The full command sequence for ``model_id``; raises CatalogError when no recipe is known."""
    if fmt not in FORMATS:
        raise CatalogError(f"unknown recipe format '{fmt}' (choose from {', '.join(FORMATS)})")
    if own is not None and own.vocab and own.spm:
        raise CatalogError("give --vocab or --spm, not both")
    model = cat.model(model_id)
    recipe = cat.recipe_of(model_id)
    if recipe is None:
        who = f" (trained by {model.recipe.trained_by})" if model.recipe.trained_by else ""
        raise CatalogError(f"no training recipe is known for '{model_id}'{who}: recipe status '{model.recipe.status}'")
    tok = cat.tokenizer(model.tokenizer)
    val = _Values(len(recipe.stages) > 1)
    notes = list(recipe.notes)
    if model.recipe.status == "partial":
        notes.insert(0, "partial recipe: only the facts the sources state are filled in")
    if not model.recipe.checkpoint_prefix_stated and "{checkpoint_prefix}" in "".join(str(s.output_model_path) for s in recipe.stages):
        notes.append("checkpoint file names follow zooprep's pattern; UER's name for this model is not stated")
    spm = tok.kind == "sentencepiece"
    if own is not None and (own.vocab or own.spm):
        tok_path: Arg = own.vocab or own.spm
        spm = own.spm is not None
    elif is_known(tok.file):
        tok_path = f"{vocab_dir}/{tok.file}"
    else:
        tok_path = val.unknown_for(None, "vocab_file", "the vocab the model was trained with, not stated by the sources")
    config_path: Arg
    if model.recipe.config_path is None:
        config_path = val.unknown_for(None, "config_path", "the model config file, not stated by the sources")
    else:
        config_path = model.recipe.config_path
        arch = cat.architecture(model.architecture)
        if arch.config_file is None and arch.config_rule and "copy a bert config" in arch.config_rule:
            notes.append(f"UER ships no config for this size; write it with `{ZOOPREP} zoo config {model.id} --format uer --out {config_path}`")
    for st in recipe.stages:
        if renamed(st.target):
            notes.append(f"stage {st.stage}: the source's objective '{st.target}' is --target {' '.join(uer_targets(st.target))} "
                         "in current UER-py/TencentPretrain (the config file carries the same list)")
            break
    if own is not None:
        notes.append(f"adapted to your corpus {own.corpus}: " + (
            f"shard records the recipe stage with --manifest-dataset {own.name} (zooprep.json marks it adapted); "
            if fmt == "zooprep" else "preprocess.py reads it as one text file in the layout of the stage's data processor; ")
            + "the original corpus facts do not apply")

    ctx = _Ctx(cat, model, recipe, fmt, tok_path, spm, config_path, val, raw_dir, work_dir, own)
    steps: list[Step] = []
    for st in recipe.stages:
        steps += _data_steps(ctx, st)
        steps += _pretrain_steps(ctx, st)
    steps += _conversion_steps(ctx)
    unknown = dict(val.unknown)
    for a in (a for s in steps for a in s.argv if isinstance(a, Unknown)):  # e.g. another model's checkpoint
        unknown.setdefault(a.var, a)
    return Plan(model.id, recipe.id, fmt, steps, list(unknown.values()), notes, adapted=own is not None)


@dataclass
class _Ctx:
    cat: Catalog
    model: Model
    recipe: Recipe
    fmt: str
    tok_path: Arg
    spm: bool
    config_path: Arg
    val: _Values
    raw_dir: str
    work_dir: str
    own: OwnData | None
    outputs: dict = field(default_factory=dict)  # stage -> the weights file the next step reads
    cleaned: set = field(default_factory=set)


def _dataset_path(ctx: _Ctx, st: Stage) -> str:
    if is_known(st.dataset_path) and ctx.own is None:
        return str(st.dataset_path)
    return f"{ctx.work_dir}/{ctx.model.id}_stage{st.stage}_dataset.pt"


def _data_steps(ctx: _Ctx, st: Stage) -> list[Step]:
    proc = ctx.val(st, "data_processor")
    if ctx.fmt == "zooprep":
        return _zooprep_data_steps(ctx, st, proc)
    return [_preprocess_step(ctx, st, proc)]


def _zooprep_data_steps(ctx: _Ctx, st: Stage, proc: Arg) -> list[Step]:
    seq = ctx.val(st, "seq_length")
    steps, clean_dirs = [], []
    sources = [ctx.own.name] if ctx.own else list(st.datasets)
    labelled = proc in ("cls", "cls_mlm")
    for d in sources:
        out = f"{ctx.work_dir}/{d}/clean"
        if ctx.own and labelled:  # label<TAB>text lines go to shard as they are: no row is dropped
            clean_dirs.append(ctx.own.corpus)
            continue
        clean_dirs.append(out)
        if d in ctx.cleaned:
            continue
        ctx.cleaned.add(d)
        if ctx.own:
            nts = [f"your corpus: {ctx.own.corpus} (reader family detected per file)"]
            argv = [ZOOPREP, "clean", ctx.own.corpus, "--format", "auto", "--out", out, "--layout", "parquet"]
        else:
            ds = ctx.cat.dataset(d)
            nts = [f"raw corpus: {ds.name}; {ds.url if is_known(ds.url) else 'no public address known'}"]
            if ds.zooprep.note:
                nts.append(ds.zooprep.note)
            if ds.zooprep.format is None:
                nts.append("no zooprep reader family is known for this corpus: --format auto detects one per file")
            argv = [ZOOPREP, "clean", f"{ctx.raw_dir}/{d}", "--format", ds.zooprep.format or "auto", "--out", out,
                    "--layout", "parquet"]
        if labelled:  # labelled rows are the data: no length, share, spam or duplicate filter drops one
            argv += ["--disable", LABELLED_KEEP]
            nts.append("labelled rows: the filters and dedup are off, so every labelled row with text is kept")
        steps.append(Step(st.stage, f"clean {d}", argv, nts, tool="zooprep"))
    name = "+".join(sources)
    known = isinstance(proc, str) and isinstance(seq, str)
    shard_out = f"{ctx.work_dir}/{name}/shard-" + (f"{proc}-seq{seq}" if known else f"{_label(proc)}-stage{st.stage}")
    argv: list[Arg] = [ZOOPREP, "shard", *clean_dirs, "--out", shard_out, "--seq-len", seq, "--processor", proc,
                       "--spm" if ctx.spm else "--vocab", ctx.tok_path]
    if st.full_sentences is True:
        argv.append("--full-sentences")
    if st.masking == "static":
        dup = st.dup_factor if is_known(st.dup_factor) and st.dup_factor is not None else 5
        argv += ["--static-masking", "--dup-factor", str(dup)]
        if st.span_masking:
            argv += _span_flags(st, dash="-")
    if st.whole_word_masking:
        argv.append("--whole-word")
    argv += ["--seed", "7", "--manifest-dataset", name, "--recipe-stage", f"{ctx.recipe.id}/{st.stage}"]
    nts = []
    if st.masking == "dynamic":
        nts.append("dynamic masking: shard stores unmasked ids, pretrain.py masks each batch"
                   + (" (span masking flags go on pretrain.py)" if st.span_masking else ""))
    if labelled:
        nts.append("cls input: UER's label<TAB>text lines (read as they are, nothing dropped for length), "
                   "or clean output whose records carry the label in their meta")
    steps.append(Step(st.stage, f"shard for {_label(proc)}, seq {_label(seq)}", argv, nts, tool="zooprep"))
    steps.append(Step(st.stage, "export to the dataset file pretrain.py reads",
                      [ZOOPREP, "export", shard_out, "--to", "uer", "--out", _dataset_path(ctx, st)], tool="zooprep"))
    return steps


def _label(value: Arg) -> str:
    """A value for titles and file names: 'unknown' for an unstated one."""
    return "unknown" if isinstance(value, Unknown) else value


def _span_flags(st: Stage, dash: str = "_") -> list[str]:
    sm = st.span_masking
    return [f"--span{dash}masking", f"--span{dash}geo{dash}prob", _fmt_num(sm["geo_prob"]),
            f"--span{dash}max{dash}length", _fmt_num(sm["max_length"])]


def _preprocess_step(ctx: _Ctx, st: Stage, proc: Arg) -> Step:
    if ctx.own is not None:
        corpus: Arg = ctx.own.corpus
    elif is_known(st.corpus_path):
        corpus = str(st.corpus_path)
    else:
        names = ", ".join(ctx.cat.dataset(d).name for d in st.datasets)
        corpus = ctx.val.unknown_for(st.stage, "corpus_path", f"the {names} corpus as one text file, its path is not stated")
    flag = "--spm_model_path" if ctx.spm else "--vocab_path"
    argv: list[Arg] = ["python3", "preprocess.py", "--corpus_path", corpus, flag, ctx.tok_path,
                       "--dataset_path", _dataset_path(ctx, st)]
    if is_known(st.processes_num):  # parallelism only: when unstated, UER's default (1) gives the same data
        argv += ["--processes_num", _fmt_num(st.processes_num)]
    argv += ["--seq_length", ctx.val(st, "seq_length"), "--data_processor", proc]
    if st.masking == "dynamic":
        argv.append("--dynamic_masking")
    elif st.masking == "static" and is_known(st.dup_factor) and st.dup_factor is not None:
        argv += ["--dup_factor", str(st.dup_factor)]
    if st.full_sentences is True:
        argv.append("--full_sentences")
    if st.whole_word_masking:
        argv.append("--whole_word_masking")
    if st.span_masking:
        argv += _span_flags(st)
    nts = [f"flags as printed by the source: {st.preprocess_flags_printed}"] if st.preprocess_flags_printed else []
    seq = argv[argv.index("--seq_length") + 1]
    return Step(st.stage, f"preprocess ({_label(proc)}, seq {_label(seq)})", argv, nts, tool=_trainer(ctx.recipe, ctx.fmt))


def _final_checkpoint(cat: Catalog, model_id: str) -> Arg:
    """The last checkpoint UER writes for ``model_id`` (output path + '-' + total steps of its last stage)."""
    model = cat.model(model_id)
    recipe = cat.recipe_of(model_id)
    last = recipe.stages[-1] if recipe else None
    if last is None or not is_known(last.output_model_path) or not is_known(last.total_steps):
        return Unknown("PRETRAINED_MODEL", f"the final checkpoint of {model_id}, not stated")
    return f"{_fill(last.output_model_path, model)}-{last.total_steps}"


def _output_path(ctx: _Ctx, st: Stage) -> tuple[str, list[str]]:
    if is_known(st.output_model_path):
        out = _fill(str(st.output_model_path), ctx.model)
        if ctx.recipe.framework == "tencentpretrain+deepspeed" and not _deepspeed(ctx.recipe, ctx.fmt):
            out += ".bin"  # UER writes one file per checkpoint, not a DeepSpeed folder
        return out, []
    return (f"models/{ctx.model.id.replace('-', '_')}_stage{st.stage}_model.bin",
            ["output path: zooprep's name (the source does not state one)"])


def _init_args(ctx: _Ctx, st: Stage) -> tuple[list[Arg], list[str]]:
    init = stage_init(ctx.recipe, st)
    if init == "random":
        return [], []
    if init.startswith("stage:"):
        n = int(init[6:])
        return ["--pretrained_model_path", ctx.outputs[n]], []
    if init.startswith("model:"):
        return ["--pretrained_model_path", _final_checkpoint(ctx.cat, init[6:])], [f"initialised from {init[6:]}"]
    if init.startswith("external:"):
        what = init[9:]
        u = ctx.val.unknown_for(st.stage, "pretrained_model", f"the UER-format weights of {what}")
        return ["--pretrained_model_path", u], [f"initialised from {what} (converted to UER format)"]
    u = ctx.val.unknown_for(st.stage, "pretrained_model",
                            "the checkpoint this model started from: the sources do not say (random init or a pretrained model); "
                            "to train from scratch delete this flag")
    return ["--pretrained_model_path", u], ["initialisation: not stated by the sources (random or a pretrained model)"]


def _pretrain_steps(ctx: _Ctx, st: Stage) -> list[Step]:
    val, recipe = ctx.val, ctx.recipe
    deepspeed = _deepspeed(recipe, ctx.fmt)
    out_path, nts = _output_path(ctx, st)
    argv: list[Arg] = ["deepspeed" if deepspeed else "python3", "pretrain.py"]
    argv += ["--dataset_path", _dataset_path(ctx, st), "--spm_model_path" if ctx.spm else "--vocab_path", ctx.tok_path,
             "--config_path", ctx.config_path, "--output_model_path", out_path]
    world = val(st, "world_size")
    if is_known(st.gpu_ranks):
        ranks: list[Arg] = [str(r) for r in st.gpu_ranks]
    elif isinstance(world, str):
        ranks = [str(r) for r in range(int(world))]
    else:
        ranks = [val(st, "gpu_ranks")]
    argv += ["--world_size", world, "--gpu_ranks", *ranks]
    warmup = val(st, "warmup")
    argv += ["--total_steps", val(st, "total_steps"), "--save_checkpoint_steps", val(st, "save_checkpoint_steps"),
             "--learning_rate", val(st, "learning_rate"), "--warmup", warmup, "--batch_size", val(st, "batch_size_per_gpu"),
             "--data_processor", val(st, "data_processor")]
    targets = uer_targets(st.target)
    argv += ["--target", *(targets or [val(st, "target")])]
    if targets and "cls" in targets:
        argv += ["--labels_num", val(st, "labels_num")]
        if is_known(st.labels_num) and st.labels_source:
            nts.append(f"--labels_num {st.labels_num}: {st.labels_source}")
    if st.span_masking and st.masking == "dynamic":
        argv += _span_flags(st)  # masks are drawn by pretrain.py's loader, so it needs the span settings
    if is_known(st.report_steps):  # logging only: when unstated, the trainer's default applies
        argv += ["--report_steps", _fmt_num(st.report_steps)]
    init_args, init_notes = _init_args(ctx, st)
    argv += init_args
    nts += init_notes
    argv += st.model_flags
    if deepspeed:
        argv += st.deepspeed_flags
    elif st.deepspeed_flags:
        nts.append("the source trained with TencentPretrain + DeepSpeed (ZeRO); UER-py's pretrain.py has no DeepSpeed "
                   "options, so this runs plain data parallel: expect it to need far more GPU memory per process")
    if not st.warmup_stated and isinstance(warmup, str):
        nts.append(f"the source sets no --warmup: {warmup} is pretrain.py's default, printed explicitly")
    nts += [n for n in st.notes if "warmup" not in n and (deepspeed or "zero_to_fp32" not in n)]
    tool = _trainer(recipe, ctx.fmt)
    steps = [Step(st.stage, f"pretrain with {'TencentPretrain' if tool == 'tencentpretrain' else 'UER-py'}"
                  + (" + DeepSpeed" if deepspeed else ""), argv, nts, tool=tool)]
    if deepspeed:  # a DeepSpeed run writes a ZeRO folder; the next stage and the conversion read one weights file
        weights = f"{out_path}.bin"
        steps.append(Step(st.stage, "consolidate the DeepSpeed (ZeRO) checkpoint into one fp32 weights file",
                          ["python3", f"{out_path}/zero_to_fp32.py", out_path, weights],
                          ["zero_to_fp32.py is written into the folder by DeepSpeed; it reads the tag in 'latest' (the last step)",
                           "DeepSpeed releases that take an OUTPUT_DIR instead write OUTPUT_DIR/pytorch_model.bin (sharded above 5GB)"],
                          tool="deepspeed"))
        ctx.outputs[st.stage] = weights
    else:
        # UER saves OUTPUT-STEP at multiples of save_checkpoint_steps; the next step reads the one at total_steps
        if not is_known(st.save_checkpoint_steps):
            nts.append("pick a save interval that divides --total_steps: UER saves only at its multiples, "
                       "and the next step reads the checkpoint of the last step")
        ctx.outputs[st.stage] = (f"{out_path}-{st.total_steps}" if is_known(st.total_steps) else
                                 val.unknown_for(st.stage, "output", f"the last checkpoint written by stage {st.stage}, {out_path}-STEPS"))
    return steps


def _conversion_steps(ctx: _Ctx) -> list[Step]:
    conv = ctx.recipe.conversion
    if conv is None:
        return []
    last = ctx.outputs[max(ctx.outputs)]
    if "{stage2_output}" in conv.input_checkpoint:
        src: Arg = last  # the file the last stage wrote (checkpoint-STEPS, or the consolidated DeepSpeed weights)
    else:
        src = conv.input_checkpoint
    tool = _trainer(ctx.recipe, ctx.fmt)
    script = conv.script
    if tool == "tencentpretrain":
        script = script.replace("_from_uer_to_", "_from_tencentpretrain_to_")
    else:
        script = script.replace("_from_tencentpretrain_to_", "_from_uer_to_")
    argv: list[Arg] = ["python3", script, "--input_model_path", src, "--output_model_path", "pytorch_model.bin"]
    arch = ctx.cat.architecture(ctx.model.architecture)
    if ctx.model.recipe.layers_num and "albert" not in script:  # the ALBERT script has no --layers_num (one shared layer)
        argv += ["--layers_num", str(ctx.model.recipe.layers_num)]
    if arch.kind == "t5" and arch.decoder_layers:
        argv += ["--decoder_layers_num", str(arch.decoder_layers)]
    if conv.type_flag:
        argv += ["--type", conv.type_flag]
    return [Step(None, "convert to Hugging Face format", argv, list(conv.notes), tool=tool)]
