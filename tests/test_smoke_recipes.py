"""`zoo recipe MODEL --smoke` runs end to end in the real UER-py, and `--set` fills every unknown.

The smoke recipes are run step by step as printed (the sample line through bash, zooprep steps with
this checkout's cli.py, every `python3 SCRIPT` with the unmodified UER-py copy in
../shared/reference/trainers/UER-py at commit 5743050, see its SOURCES.md; read in place, never
copied), each on a CPU in a few seconds: a 2-layer hidden-64 model, 3 steps per stage. Every
pretraining stage must print a loss at each step and the conversion must write its weights file.
One miniature also runs in the unmodified TencentPretrain copy beside it (commit ed79843).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from manifests.catalog import load_catalog
from manifests.recipe_check import check_plan
from manifests.recipe_commands import FORMATS, OwnData, Unknown, build_plan
from manifests.recipe_values import fill
from manifests.smoke import ShellStep, SmokeOptions, smoke_plan

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ZOOPREP_SHARED", REPO.parent / "shared"))
UER = SHARED / "reference" / "trainers" / "UER-py"
TRAINERS = {"uer": UER, "zooprep": UER, "tencentpretrain": SHARED / "reference" / "trainers" / "TencentPretrain"}
VOCABS = SHARED / "reference" / "vocab"
DOCS = REPO / "demo" / "cluecorpussmall" / "clue_sampled.txt"  # one document per line
SENTENCES = REPO / "demo" / "cluecorpussmall" / "clue_bert_sampled.txt"  # sentences, blank line between documents

# (model, corpus layout, format): a char RoBERTa (2 stages), T5 (span masking, 2 stages), GPT-2 (lm),
# ALBERT (sop pairs, 2 stages), a cls model (label<TAB>text straight to shard)
SMOKE = [
    ("roberta-char-L2-H128", "docs", "uer"),
    ("t5-small-cluecorpussmall", "docs", "uer"),
    ("gpt2-poem", "docs", "uer"),
    ("albert-base-cluecorpussmall-uer", "sentences", "uer"),
    ("bert-jdbinary-cls", "labelled", "zooprep"),
    ("gpt2-poem", "docs", "tencentpretrain"),  # the same miniature in TencentPretrain's scripts
]


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


def _corpus(kind: str, tmp: Path) -> Path:
    if kind == "docs":
        return DOCS
    if kind == "sentences":
        return SENTENCES
    lines = [t for t in DOCS.read_text(encoding="utf-8").splitlines() if t.strip()][:300]
    path = tmp / "labelled.tsv"
    path.write_text("".join(f"{i % 2}\t{t}\n" for i, t in enumerate(lines)), encoding="utf-8")
    return path


def _run(step, cwd: Path, trainer: Path = UER) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(REPO),  # nothing written into shared/
               OMP_NUM_THREADS="1")  # tiny models: threads only contend on a shared CI machine
    if isinstance(step, ShellStep):
        cmd = ["bash", "-c", step.shell()]
    elif step.tool == "zooprep":
        cmd = [sys.executable, str(REPO / "cli.py"), *map(str, step.argv[1:])]
    else:
        assert step.argv[0] == "python3", step.argv
        cmd = [sys.executable, str(trainer / step.argv[1]), *map(str, step.argv[2:])]
        cwd = trainer  # as UER's README runs them (it reads models/special_tokens_map.json); every path is absolute
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("model,layout,fmt", SMOKE, ids=[f"{m}-{f}" for m, _, f in SMOKE])
def test_smoke_recipe_runs_in_real_uer(cat, model, layout, fmt, tmp_path):
    trainer = TRAINERS[fmt]
    if not (trainer / "pretrain.py").is_file():
        pytest.skip(f"{trainer} is absent: the real trainer code (../shared/reference/trainers) is not laid beside "
                    "this checkout")
    tok = cat.tokenizer(cat.model(model).tokenizer)
    corpus = str(_corpus(layout, tmp_path))
    plan = smoke_plan(cat, model, fmt, corpus, vocab=str(VOCABS / tok.file),
                      work_dir=str(tmp_path / "work"), opts=SmokeOptions(steps=3, lines=200))
    assert plan.runnable, [u.var for u in plan.unknown]
    assert not [s.problems for s in check_plan(plan).steps if s.problems]
    full = build_plan(cat, model, fmt, own=OwnData(corpus, str(VOCABS / tok.file)))  # the recipe on this corpus
    # the same recipe: the same scripts in the same order, the same processors and targets per stage
    assert [s.script for s in plan.steps if s.tool != "shell" and s.argv[1] != "zoo"] == [s.script for s in full.steps]
    for mini, orig in zip([s for s in plan.steps if s.script == "pretrain.py"],
                          [s for s in full.steps if s.script == "pretrain.py"]):
        for flag in ("--data_processor", "--target", "--span_masking", "--labels_num"):
            assert (flag in mini.argv) == (flag in orig.argv)
            if flag in orig.argv:
                i, j = mini.argv.index(flag), orig.argv.index(flag)
                assert mini.argv[i + 1] == orig.argv[j + 1] or isinstance(orig.argv[j + 1], Unknown), flag
    losses = 0
    import time

    for step in plan.steps:
        t0 = time.perf_counter()
        res = _run(step, tmp_path, trainer)
        print(f"{time.perf_counter() - t0:6.1f}s  {step.title}")
        assert res.returncode == 0, f"{step.title}: {step.shell()}\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
        if step.script == "pretrain.py":
            found = re.findall(r"loss\s*[:=]?\s*([0-9.]+)", res.stdout + res.stderr)
            assert len(found) >= 3, f"{step.title}: no loss printed at each step\n{res.stdout[-2000:]}"
            losses += 1
    assert losses == len([s for s in full.steps if s.script == "pretrain.py"])
    converted = tmp_path / "work" / f"smoke-{model}" / "pytorch_model.bin"
    assert converted.is_file() == any(s.script.startswith("scripts/convert_") for s in full.steps)


def _values_for(plan) -> dict:
    """A plausible value for every unknown of a plan (what a user would pass with --set)."""
    out = {}
    for u in plan.unknown:
        name = u.var.split("_", 1)[1] if u.var.startswith("STAGE") else u.var
        out[u.var] = {"WORLD_SIZE": "2", "GPU_RANKS": "0 1", "TOTAL_STEPS": "1000", "SAVE_CHECKPOINT_STEPS": "500",
                      "LEARNING_RATE": "1e-4", "WARMUP": "0.1", "BATCH_SIZE_PER_GPU": "32", "SEQ_LENGTH": "128",
                      "DATA_PROCESSOR": "mlm", "LABELS_NUM": "2", "TARGET": "mlm"}.get(name, f"path/{u.var.lower()}")
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_set_fills_every_unknown_of_every_partial_recipe(cat, fmt):
    partial = 0
    for mid in [m.id for m in cat.models.values() if cat.recipe_of(m.id)]:
        plan = build_plan(cat, mid, fmt)
        if plan.runnable:
            continue
        partial += 1
        plan = fill(plan, _values_for(plan))
        assert plan.runnable and not any(isinstance(a, Unknown) for s in plan.steps for a in s.argv), mid
        report = check_plan(plan)
        assert report.ok, (mid, fmt, [(s.title, s.problems) for s in report.steps if s.problems])
        for step in plan.steps:
            assert subprocess.run(["bash", "-n", "-c", step.shell()]).returncode == 0, step.shell()
    assert partial >= 5


def test_cli_set_values_and_check(tmp_path):
    def zoo(*args):
        return subprocess.run([sys.executable, "cli.py", "zoo", "recipe", *args], cwd=REPO, capture_output=True,
                              text=True, timeout=120)

    res = zoo("bert-jdbinary-cls", "--format", "uer", "--check")
    assert res.returncode == 1 and "value(s) to fill in" in res.stdout and "LEARNING_RATE" in res.stdout
    values = tmp_path / "v.yaml"
    values.write_text("WORLD_SIZE: 2\nGPU_RANKS: [0, 1]\nSAVE_CHECKPOINT_STEPS: 1000\nWARMUP: 0.1\n"
                      "BATCH_SIZE_PER_GPU: 32\n", encoding="utf-8")
    res = zoo("bert-jdbinary-cls", "--format", "uer", "--values", str(values), "--set", "LEARNING_RATE=2e-5")
    assert res.returncode == 0
    assert "--gpu_ranks 0 1" in res.stdout and "--learning_rate 2e-5" in res.stdout
    assert "PRETRAINED_MODEL" in res.stdout.split("\n\n")[0]  # the header says which remain
    res = zoo("bert-jdbinary-cls", "--format", "uer", "--values", str(values), "--set", "LEARNING_RATE=2e-5",
              "--set", "PRETRAINED_MODEL=models/start.bin", "--set", "CORPUS_PATH=jd_binary.tsv", "--check")
    assert res.returncode == 0, res.stdout + res.stderr
    res = zoo("bert-jdbinary-cls", "--set", "NO_SUCH=1")
    assert res.returncode == 2 and "NO_SUCH: not a value to fill in" in res.stderr
    res = zoo("roberta-char-L2-H128", "--format", "uer", "--corpus", "my.txt")
    assert res.returncode == 0 and "--corpus_path my.txt" in res.stdout


def test_labelled_data_keeps_every_row(cat):
    own = build_plan(cat, "bert-jdbinary-cls", "zooprep", own=OwnData("mine.tsv"))
    assert [s.script for s in own.steps][:2] == ["shard", "export"]  # no clean: label<TAB>text straight to shard
    assert own.steps[0].argv[2] == "mine.tsv"
    catalog = build_plan(cat, "bert-jdbinary-cls", "zooprep")
    clean = catalog.steps[0]
    assert clean.script == "clean" and "--disable" in clean.argv
    disabled = clean.argv[clean.argv.index("--disable") + 1].split(",")
    assert {"min_length", "exact_dup", "chinese_share"} <= set(disabled)


def test_smoke_needs_one_corpus_file_and_keeps_the_recipe_shape(cat, tmp_path):
    from manifests.catalog import CatalogError

    with pytest.raises(CatalogError, match="give --corpus FILE"):
        smoke_plan(cat, "gpt2-poem", "uer", None)
    with pytest.raises(CatalogError, match="one text file"):
        smoke_plan(cat, "gpt2-poem", "uer", str(tmp_path))
    gpu = smoke_plan(cat, "roberta-char-L2-H128", "uer", "c.txt", opts=SmokeOptions(device="gpu"))
    cpu = smoke_plan(cat, "roberta-char-L2-H128", "uer", "c.txt")
    for plan, ranks in ((gpu, ["0"]), (cpu, None)):
        for step in (s for s in plan.steps if s.script == "pretrain.py"):
            argv = [str(a) for a in step.argv]
            assert argv[argv.index("--world_size") + 1] == "1"
            got = argv[argv.index("--gpu_ranks") + 1:argv.index("--gpu_ranks") + 2] if "--gpu_ranks" in argv else None
            assert got == ranks
    stage2 = [s for s in cpu.steps if s.script == "pretrain.py"][1]
    init = str(stage2.argv[stage2.argv.index("--pretrained_model_path") + 1])
    assert init.endswith("_seq128_model.bin-3") and "smoke-roberta-char-L2-H128/models/" in init  # stage 1's smoke weights
