"""Printed recipes against the recorded command lines of UER-py, TencentPretrain and DeepSpeed."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from manifests.catalog import DATA_DIR, load_catalog
from manifests.configs import model_config
from manifests.recipe_check import check_plan
from manifests.recipe_commands import FORMATS, Unknown, build_plan
from manifests.trainer_cli import check_argv, load_trainer

from conftest import REPO, SHARED, SHARED_SKIP, cli

TRAINERS = SHARED / "reference" / "trainers"  # plain copies of the recorded commits (see its SOURCES.md)


def _trainer_copy(folder: str, project: str) -> Path:
    """The shared copy of a trainer at the commit its YAML records; skips when absent or at another commit."""
    src = TRAINERS / folder
    if not src.is_dir():
        pytest.skip(f"{src} is absent: {SHARED_SKIP}")
    commit = load_trainer("uer" if folder == "UER-py" else "tencentpretrain").commit
    if commit not in (TRAINERS / "SOURCES.md").read_text(encoding="utf-8"):
        pytest.skip(f"{TRAINERS / 'SOURCES.md'} does not list {project}@{commit[:7]}, the recorded commit")
    return src


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


def _planned(cat):
    return [m.id for m in cat.models.values() if cat.recipe_of(m.id)]


def _flat(step) -> str:
    return " ".join(str(a) for a in step.argv)


# ---------------------------------------------------------------- every command parses
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_printed_command_parses_with_its_trainer(cat, fmt):
    checked = 0
    for mid in _planned(cat):
        report = check_plan(build_plan(cat, mid, fmt))
        bad = [(s.title, s.problems) for s in report.steps if s.problems]
        assert not bad, (mid, fmt, bad)
        checked += len(report.steps)
        for step, sc in zip(report.plan.steps, report.steps):  # every unknown is explained
            n_unknown = sum(isinstance(a, Unknown) for a in step.argv)
            assert len(sc.fill) == n_unknown, (mid, step.title)
    assert checked > 100


def test_the_check_refuses_what_the_trainers_refuse():
    assert "invalid choice: 't5'" in check_argv("uer", "pretrain.py", ["--output_model_path", "x", "--target", "t5"])[0]
    assert "invalid choice: 'bert'" in check_argv("uer", "pretrain.py", ["--output_model_path", "x", "--target", "bert"])[0]
    assert "unrecognized arguments: --deepspeed" in check_argv("uer", "pretrain.py", ["--output_model_path", "x", "--deepspeed"])[0]
    assert check_argv("tencentpretrain", "pretrain.py", ["--output_model_path", "x", "--deepspeed"]) == []
    assert "labels_num" in check_argv("uer", "pretrain.py", ["--output_model_path", "x", "--target", "lm", "cls"])[0]
    assert check_argv("uer", "pretrain.py", ["--output_model_path", "x", "--target", "lm", "cls", "--labels_num", "2"]) == []
    assert "required" in check_argv("uer", "preprocess.py", ["--seq_length", "128"])[0]  # --corpus_path is required
    assert "invalid int value" in check_argv("uer", "preprocess.py", ["--corpus_path", "c", "--seq_length", "x"])[0]
    assert "unrecognized" in check_argv("uer", "scripts/convert_albert_from_uer_to_huggingface.py", ["--layers_num", "12"])[0]
    assert "the following arguments are required" in check_argv("deepspeed", "m/zero_to_fp32.py", ["m"])[0]


def test_check_reports_a_broken_step_and_the_cli_exit_code(cat):
    plan = build_plan(cat, "bert-jdbinary-cls", "uer")
    plan.steps[1].argv += ["--target", "bert"]
    report = check_plan(plan)
    assert not report.ok and "invalid choice: 'bert'" in report.text()
    zp = build_plan(cat, "gpt2-couplet", "zooprep")
    zp.steps[1].argv.append("--no-such-option")
    assert "No such option: --no-such-option" in check_plan(zp).text()
    zp = build_plan(cat, "gpt2-couplet", "zooprep")
    zp.steps[1].argv[zp.steps[1].argv.index("--processor") + 1] = "gpt"
    assert "zooprep shard has no processor 'gpt'" in check_plan(zp).text()
    from typer.testing import CliRunner

    from cli import app

    res = CliRunner().invoke(app, ["zoo", "recipe", "t5-small-cluecorpussmall", "--format", "uer", "--check"])
    assert res.exit_code == 0 and "0 refused" in res.output and "dbiir/UER-py@5743050 pretrain.py" in res.output
    res = CliRunner().invoke(app, ["zoo", "recipe", "bert-weibo", "--format", "tencentpretrain", "--check"])
    # every command parses, but values remain to fill in: --check passes only when none remain
    assert res.exit_code == 1 and "unknown: LEARNING_RATE (--learning_rate): a number" in res.output
    assert "0 refused" in res.output and "value(s) to fill in: " in res.output


def test_recorded_command_lines_are_what_the_recorder_reads(tmp_path):
    """The YAML is exactly what record_trainer_cli reads from the recorded commit (no hand edits)."""
    src = _trainer_copy("UER-py", "dbiir/UER-py")
    sys.path.insert(0, str(REPO / "tools"))
    from record_trainer_cli import main

    recorded = yaml.safe_load((DATA_DIR / "cli_uer-py.yaml").read_text(encoding="utf-8"))
    out = tmp_path / "uer.yaml"
    main(["--src-dir", str(src), "--project", "dbiir/UER-py", "--commit", recorded["commit"],
          "--date", str(recorded["commit_date"]), "--opts", "uer/opts.py", "--out", str(out), *recorded["scripts"]])
    assert yaml.safe_load(out.read_text(encoding="utf-8")) == recorded


@pytest.mark.slow
@pytest.mark.parametrize("tool,folder,project", [("uer", "UER-py", "dbiir/UER-py"),
                                                 ("tencentpretrain", "TencentPretrain", "Tencent/TencentPretrain")])
def test_printed_commands_parse_with_the_real_trainer_scripts(tool, folder, project):
    """Cross-check of the recorded command lines: the real scripts (argparse stopped after parsing) accept every command."""
    src = _trainer_copy(folder, project)
    res = subprocess.run([sys.executable, str(REPO / "tools" / "parse_with_real_trainer.py"), "--src-dir", str(src),
                          "--tool", tool], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and " 0 refused" in res.stdout, res.stdout[-3000:] + res.stderr[-3000:]


def test_recorded_facts_of_current_uer():
    uer = load_trainer("uer").scripts
    target = next(o for o in uer["pretrain.py"]["options"] if o["flags"] == ["--target"])
    assert target["choices"] == ["sp", "lm", "mlm", "bilm", "cls"] and target["nargs"] == "+"
    flags = {f for o in uer["pretrain.py"]["options"] for f in o["flags"]}
    assert {"--span_masking", "--span_geo_prob", "--span_max_length", "--labels_num"} <= flags
    assert not any(f.startswith("--deepspeed") for f in flags) and "--dynamic_masking" not in flags
    t5conv = {f for o in uer["scripts/convert_t5_from_uer_to_huggingface.py"]["options"] for f in o["flags"]}
    assert "--decoder_layers_num" in t5conv


# ---------------------------------------------------------------- the defects of issue 13
def test_targets_are_current_values_and_agree_with_zoo_config(cat):
    for mid in _planned(cat):
        plan = build_plan(cat, mid, "uer")
        pretrain = [s for s in plan.steps if s.script == "pretrain.py"]
        last = pretrain[-1].argv
        i = last.index("--target")
        targets = []
        for a in last[i + 1:]:
            if isinstance(a, str) and a.startswith("--"):
                break
            targets.append(a)
        assert set(targets) <= {"sp", "lm", "mlm", "bilm", "cls"}, (mid, targets)
        try:
            cfg = model_config(cat, mid, "uer")
        except Exception:
            continue
        if "target" in cfg:
            assert cfg["target"] == targets, (mid, cfg["target"], targets)
        proc = last[last.index("--data_processor") + 1]
        if "data_processor" in cfg and isinstance(proc, str):
            assert cfg["data_processor"] == proc, (mid, cfg["data_processor"], proc)


def test_t5_span_masking_reaches_pretrain(cat):
    for fmt in FORMATS:
        plan = build_plan(cat, "t5-small-cluecorpussmall", fmt)
        for step in (s for s in plan.steps if s.script == "pretrain.py"):
            text = _flat(step)
            assert "--span_masking --span_geo_prob 0.3 --span_max_length 5" in text, fmt
            assert "--target lm" in text and "--data_processor t5" in text
        conv = plan.steps[-1]
        assert "--layers_num 6" in _flat(conv) and "--decoder_layers_num 6" in _flat(conv)
    base = build_plan(cat, "t5-base-cluecorpussmall", "uer").steps[-1]
    assert "--layers_num 12 --decoder_layers_num 12 --type t5" in _flat(base)


def test_cls_stages_have_labels_num(cat):
    jd = _flat(build_plan(cat, "bert-jdbinary-cls", "uer").steps[1])
    assert "--target cls --labels_num 2" in jd
    amazon = build_plan(cat, "bert-amazonreview-cls", "tencentpretrain")
    assert any(u.var == "LABELS_NUM" for u in amazon.unknown)
    lstm = build_plan(cat, "lstm-lm-cls-mixed-amazon", "uer")
    assert "--target lm cls --labels_num" in _flat(lstm.steps[3])


def test_gpt2_xlarge_deepspeed_only_with_tencentpretrain(cat):
    uer = build_plan(cat, "gpt2-xlarge-cluecorpussmall", "uer")
    assert not any("deepspeed" in _flat(s) or "zero_to_fp32" in _flat(s) for s in uer.steps)
    assert uer.steps[-1].argv[uer.steps[-1].argv.index("--input_model_path") + 1] == \
        "models/cluecorpussmall_gpt2_xlarge_seq1024_model.bin-250000"
    tp = build_plan(cat, "gpt2-xlarge-cluecorpussmall", "tencentpretrain")
    titles = [s.title for s in tp.steps]
    zero = [s for s in tp.steps if s.tool == "deepspeed"]
    assert len(zero) == 2 and titles[-1] == "convert to Hugging Face format"
    stage1_weights = zero[0].argv[-1]
    assert stage1_weights == "models/cluecorpussmall_gpt2_xlarge_seq128_model.bin"
    stage2 = [s for s in tp.steps if s.script == "pretrain.py"][1]
    assert stage2.argv[0] == "deepspeed" and stage2.argv[stage2.argv.index("--pretrained_model_path") + 1] == stage1_weights
    assert tp.steps[-1].argv[tp.steps[-1].argv.index("--input_model_path") + 1] == zero[1].argv[-1]
    assert zero[1].argv[1] == "models/cluecorpussmall_gpt2_xlarge_seq1024_model/zero_to_fp32.py"


def test_unknown_initialisation_stays_unknown(cat):
    from manifests.views import FigureOptions, show_data, show_text

    for mid in ("bert-webqa2019", "bert-jdbinary-cls", "bert-weibo"):
        assert "init unknown" in show_text(cat, mid, FigureOptions())
        assert show_data(cat, mid, FigureOptions())["recipe"]["stages"][0]["init_checkpoint"]["value"] == "unknown"
        plan = build_plan(cat, mid, "uer")
        assert any(u.var == "PRETRAINED_MODEL" and "delete this flag" in u.fill for u in plan.unknown)
    # a stated random start stays random, a stated model start names it
    assert "init random" in show_text(cat, "roberta-char-L2-H128", FigureOptions())
    large = build_plan(cat, "bert-large-mixedcorpus", "uer")
    assert any("RoBERTa-wwm-ext-large" in u.fill for u in large.unknown)


def test_placeholders_are_safe_to_paste(cat, tmp_path):
    """Pasted unchanged, a command with an unknown stops with the fill-in message; with values set it runs."""
    step = build_plan(cat, "bert-weibo", "uer").steps[1]
    cmd = step.shell().replace("python3 pretrain.py", "printf '%s\\n'", 1)
    res = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)
    assert res.returncode != 0 and "fill in:" in res.stderr and res.stdout == ""
    env = "export CORPUS_PATH=c WORLD_SIZE=2 GPU_RANKS='0 1' SAVE_CHECKPOINT_STEPS=10 LEARNING_RATE=1e-4 WARMUP=0.1 " \
          "BATCH_SIZE_PER_GPU=32 SEQ_LENGTH=128 PRETRAINED_MODEL=p.bin; "
    res = subprocess.run(["bash", "-c", env + cmd], capture_output=True, text=True)
    args = res.stdout.split()
    assert res.returncode == 0 and args[args.index("--gpu_ranks") + 1: args.index("--gpu_ranks") + 3] == ["0", "1"]
    assert check_argv("uer", "pretrain.py", args) == []
    for mid in _planned(cat):  # every printed command is valid shell
        for fmt in FORMATS:
            for s in build_plan(cat, mid, fmt).steps:
                assert subprocess.run(["bash", "-n", "-c", s.shell()]).returncode == 0, (mid, fmt, s.shell())


def test_no_internal_wording_in_user_output(cat):
    from manifests.render import render_tables
    from manifests.views import FigureOptions, show_text

    texts = [show_text(cat, m, FigureOptions()) for m in cat.models]
    texts += [build_plan(cat, m, f).text() for m in _planned(cat) for f in FORMATS]
    texts += [render_tables(cat, "zh"), render_tables(cat, "en")]
    for t in texts:
        for bad in ("brief", "Extra (", "warmup unknown (default)", "<unknown:"):
            assert bad not in t, (bad, t[:200])


def test_own_config_paths_are_not_presented_as_shipped(cat):
    from manifests.views import FigureOptions, show_text

    text = show_text(cat, "roberta-char-L6-H256", FigureOptions())
    assert "UER-py ships none for this shape" in text and "models/bert/L6_H256_config.json` writes" in text
    assert "models/bert/tiny_config.json (shipped by UER-py)" in show_text(cat, "roberta-char-L2-H128", FigureOptions())


def test_own_corpus_recipe_is_adapted(cat):
    plan = build_plan(cat, "roberta-word-base", "zooprep", own=_own("data/my_reviews.txt", spm="my.model"))
    argv = [[str(a) for a in s.argv] for s in plan.steps]
    assert all(a[0] in ("zooprep", "python3") for a in argv) and plan.adapted
    assert argv[0][:5] == ["zooprep", "clean", "data/my_reviews.txt", "--format", "auto"]
    shards = [a for a in argv if a[:2] == ["zooprep", "shard"]]
    assert len(shards) == 2 and all(a[a.index("--spm") + 1] == "my.model" for a in shards)
    assert shards[0][shards[0].index("--manifest-dataset") + 1] == "my_reviews"
    from manifests.catalog import stage_ref

    assert stage_ref("my_reviews", shards[1][shards[1].index("--recipe-stage") + 1]).adapted
    assert check_plan(plan).ok


def _own(corpus, vocab=None, spm=None):
    from manifests.recipe_commands import OwnData

    return OwnData(corpus, vocab, spm)


def test_shard_records_an_adapted_stage(tmp_path, google_vocab):
    import json
    import sys

    corpus = tmp_path / "mine.txt"
    corpus.write_text("今天天气很好，我们去公园散步。\n这家店的菜很好吃，下次还来。\n" * 20, encoding="utf-8")
    out = tmp_path / "shard"
    repo = Path(__file__).resolve().parent.parent
    res = cli("shard", str(corpus), "--out", str(out), "--seq-len", "32", "--processor", "mlm", "--vocab", str(google_vocab),
              "--manifest-dataset", "mine", "--recipe-stage", "roberta-char-cluecorpussmall-2stage/1", timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    meta = json.loads((out / "zooprep.json").read_text(encoding="utf-8"))
    assert meta["manifest"] == {"dataset": "mine", "recipe_stage": "roberta-char-cluecorpussmall-2stage/1", "adapted": True,
                                "recipe_datasets": ["cluecorpussmall"]}


# ---------------------------------------------------------------- the page
@pytest.fixture(scope="module")
def page(reference_dir):
    return (reference_dir / "Modelzoo.zh.md").read_text(encoding="utf-8")


def test_render_reproduces_the_whole_page(cat, page):
    from manifests.render import compare_pages, render_tables

    assert compare_pages(page, render_tables(cat, "zh")) == []
    rendered = render_tables(cat, "zh")
    for text in ("11.4M 评论", "从87.6提高到88.5", "将models/rnn_config.json中的hidden_size设置为512", "其他预训练模型",
                 "MixedCorpus包含百度百科", "albert_base_config.json"):
        assert text in rendered, text
    assert "steps" not in rendered and "Corpus:" not in rendered  # no English, no facts from other sources


@pytest.mark.parametrize("old,new", [
    ("从87.6提高到88.5", "从87.6提高到88.6"),  # a sentence
    ("https://share.weiyun.com/5HYbmBh", "https://share.weiyun.com/XXXX"),  # a link
    ("[gpt2_lyric]:https://share.weiyun.com/jBv5weES\n", ""),  # a link definition
    ("| [**中文歌词GPT-2预训练模型**][gpt2_lyric] | https://huggingface.co/uer/gpt2-chinese-lyric |\n", ""),  # a row
    ("MixedCorpus包含百度百科，中文维基百科，网站问答，人民日报，文献和评论。\n", ""),  # the footnote
])
def test_render_check_fails_when_the_page_changes(cat, page, old, new):
    from manifests.render import compare_pages, normalize_line, render_tables

    assert old in page
    diffs = compare_pages(page.replace(old, new), render_tables(cat, "zh"))
    key = normalize_line(old)[:20]
    assert diffs and any(key in d for d in diffs), diffs


def test_render_check_follows_the_catalog(tmp_path, page):
    """A changed catalog row or cell shows as a difference (the tables are generated, the text is data)."""
    from manifests.catalog import Catalog, read_catalog_data
    from manifests.render import compare_pages, render_tables

    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    models = data / "models.yaml"
    models.write_text(models.read_text(encoding="utf-8").replace("训练语料为微博。", "训练语料为微博和论坛。", 1)
                      .replace("https://share.weiyun.com/TLn5VpSW", "https://example.org/moved"), encoding="utf-8")
    other = Catalog(read_catalog_data(data), data)
    diffs = compare_pages(page, render_tables(other, "zh"))
    assert len(diffs) == 2 and any("论坛" in d for d in diffs) and any("example.org/moved" in d for d in diffs)


def test_layout_only_changes_are_not_differences(cat, page):
    from manifests.render import compare_pages, render_tables

    relaxed = page.replace("|      [2/256][2_256]       |", "| [2/256][2_256] |").replace("\n\n", "\n\n\n")
    assert compare_pages(relaxed, render_tables(cat, "zh")) == []
