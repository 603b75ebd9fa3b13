"""`python cli.py zoo ...`: valid JSON, non-empty text, clear errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

runner = CliRunner()
from conftest import REPO, cli


def _run(*args, code=0):
    res = runner.invoke(app, ["zoo", *args])
    assert res.exit_code == code, (args, res.output, res.exception)
    return res.output


def test_list_json_has_the_required_fields():
    rows = json.loads(_run("list", "--json"))
    assert len(rows) == 86
    for r in rows:
        assert {"id", "name", "family", "datasets", "links"} <= set(r)
    tiny = next(r for r in rows if r["id"] == "roberta-char-L2-H128")
    assert tiny["links"]["weights"] == ["https://share.weiyun.com/5mXkEvxN"]
    assert tiny["links"]["huggingface"] == "https://huggingface.co/uer/chinese_roberta_L-2_H-128"


def test_list_filters():
    weibo = json.loads(_run("list", "--dataset", "weibo", "--json"))
    assert sorted(r["id"] for r in weibo) == ["bert-large-weibo-mlm", "bert-weibo"]
    gpt2 = json.loads(_run("list", "--family", "gpt2", "--page-only", "--json"))
    assert len(gpt2) == 6 and all(r["family"] == "gpt2" for r in gpt2)
    text = _run("list", "--family", "roberta-word")
    assert "roberta-word-medium" in text and "5 model(s)" in text


def test_show_prints_figures_and_assumptions():
    text = _run("show", "roberta-char-L8-H512", "--gpu", "H100")
    assert "parameters:" in text and "H100 GPU-hours" in text and "assumptions:" in text
    data = json.loads(_run("show", "gpt2-poem", "--json"))
    assert data["model"]["id"]["value"] == "gpt2-poem"
    assert data["figures"]["value"]["stages"][0]["tokens"] == 200_000 * 64 * 8 * 128
    assert any("poem" in c["subject"] for c in data["conflicts"])


def test_figures_table():
    rows = {r["id"]: r for r in json.loads(_run("figures", "--family", "roberta-char", "--json"))}
    assert len(rows) == 24
    assert rows["roberta-char-L2-H128"]["gpu_hours"] < rows["roberta-char-L12-H768"]["gpu_hours"]
    assert rows["roberta-char-L12-H768"]["tokens"] == 1_000_000 * 64 * 8 * 128 + 250_000 * 16 * 8 * 512
    weibo = json.loads(_run("figures", "--dataset", "weibo", "--json"))
    assert all(r["gpu_hours"] is None for r in weibo)
    assert "unknown" in _run("figures", "--dataset", "weibo", "--gpu", "V100")


def test_unknowns_are_shown_as_unknown():
    text = _run("show", "bert-weibo")
    assert "seq unknown" in text and "batch/GPU unknown" in text
    assert "unknown" in _run("dataset", "weibo")


def test_datasets_and_dataset():
    rows = json.loads(_run("datasets", "--json"))
    assert {"cluecorpussmall", "weibo", "couplet_clean"} <= {r["id"] for r in rows}
    data = json.loads(_run("dataset", "cluecorpussmall", "--json"))
    assert len(data["models"]) >= 29
    stages = {s["recipe_stage"] for s in data["recipe_stages"]}
    assert "roberta-char-cluecorpussmall-2stage/1" in stages and "gpt2-cluecorpussmall-2stage/2" in stages
    assert "recipe stages" in _run("dataset", "couplet_clean")


def test_validate(google_vocab):
    out = _run("validate", "--vocab-dir", str(google_vocab.parent))
    assert "catalog valid" in out and "skipped" in out
    assert json.loads(_run("validate", "--json"))["ok"] is True


def test_recipe_zooprep_has_clean_shard_export_pretrain_convert():
    text = _run("recipe", "roberta-char-L8-H512", "--format", "zooprep")
    for piece in ("zooprep clean raw/cluecorpussmall --format cluecorpussmall",
                  "--seq-len 128 --processor mlm --vocab models/google_zh_vocab.txt",
                  "--manifest-dataset cluecorpussmall --recipe-stage roberta-char-cluecorpussmall-2stage/1",
                  "zooprep export", "--world_size 8 --gpu_ranks 0 1 2 3 4 5 6 7",
                  "--pretrained_model_path models/cluecorpussmall_roberta_medium_seq128_model.bin-1000000",
                  "convert_bert_from_uer_to_huggingface.py", "--layers_num 8"):
        assert piece in text.replace("\\\n    ", ""), piece
    assert "NOT RUNNABLE" not in text


def test_recipe_json_stage_refs_are_valid_for_shard():
    from manifests.catalog import stage_ref

    plan = json.loads(_run("recipe", "roberta-word-base", "--format", "zooprep", "--json"))
    assert plan["runnable"] is True
    shards = [s["argv"] for s in plan["steps"] if s["argv"][:2] == ["zooprep", "shard"]]
    assert len(shards) == 2 and "--spm" in shards[0]
    for argv in shards:
        ds = argv[argv.index("--manifest-dataset") + 1]
        st = argv[argv.index("--recipe-stage") + 1]
        ref = stage_ref(ds, st)
        assert str(ref.seq_length) == argv[argv.index("--seq-len") + 1]


def test_recipe_uer_and_tencentpretrain_syntax():
    uer = _run("recipe", "gpt2-couplet", "--format", "uer")
    assert "python3 preprocess.py --corpus_path corpora/couplet.txt" in uer
    assert "--seq_length 64" in uer and "--learning_rate 0.0005" in uer
    tp = _run("recipe", "gpt2-distil-cluecorpussmall", "--format", "tencentpretrain")
    assert "convert_gpt2_from_tencentpretrain_to_huggingface.py" in tp
    lyric = _run("recipe", "gpt2-lyric", "--format", "uer").replace("\\\n    ", "")
    assert "--pretrained_model_path models/cluecorpussmall_gpt2_seq1024_model.bin-250000" in lyric  # as on the card
    partial = _run("recipe", "bert-weibo", "--format", "uer")
    assert "NOT RUNNABLE AS IS" in partial and '"${LEARNING_RATE:?fill in: the learning rate' in partial


def test_config_and_render(tmp_path, reference_dir):
    cfg = json.loads(_run("config", "roberta-char-L2-H128", "--format", "hf"))
    assert cfg["num_hidden_layers"] == 2 and cfg["vocab_size"] == 21128
    out = tmp_path / "c.json"
    _run("config", "gpt2-distil-cluecorpussmall", "--format", "uer", "--out", str(out))
    assert json.loads(out.read_text())["layers_num"] == 6
    zh = _run("render", "--lang", "zh")
    assert "[2_128]:https://share.weiyun.com/5mXkEvxN" in zh
    assert "Wikizh+BertEncoder+BertTarget" in _run("render", "--lang", "en")
    assert "0 difference(s)" in _run("render", "--check", str(reference_dir / "Modelzoo.zh.md"))
    assert len(_run("conflicts")) > 0


def test_errors_are_one_clear_line():
    res = cli("zoo", "show", "roberta-char-L2-H12", timeout=60)
    assert res.returncode == 2
    assert res.stderr.strip().startswith("error: unknown model 'roberta-char-L2-H12'") and "Traceback" not in res.stderr
    res = cli("zoo", "recipe", "google-bert-base-chinese", timeout=60)
    assert res.returncode == 2 and "no training recipe" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
def test_zooprep_recipe_commands_run_end_to_end(tmp_path, corpora_dir, google_vocab):
    """The clean -> shard -> export commands `zoo recipe` prints run as printed on a real corpus sample."""
    from manifests.catalog import stage_ref

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "couplet_clean").symlink_to(corpora_dir / "couplets", target_is_directory=True)
    plan = json.loads(_run("recipe", "gpt2-couplet", "--format", "zooprep", "--json", "--vocab-dir", str(google_vocab.parent),
                           "--raw-dir", str(raw), "--work-dir", str(tmp_path / "work")))
    ours = [s["argv"] for s in plan["steps"] if s["argv"][0] == "zooprep"]
    assert [a[1] for a in ours] == ["clean", "shard", "export"]
    for argv in ours:
        argv = list(argv)
        if argv[1] == "export":
            argv[argv.index("--out") + 1] = str(tmp_path / "couplet.pt")
        res = cli(*argv[1:], timeout=120)
        assert res.returncode == 0, (argv, res.stderr[-2000:])
    shard_dir = ours[1][ours[1].index("--out") + 1]
    meta = json.loads((Path(shard_dir) / "zooprep.json").read_text(encoding="utf-8"))
    assert meta["seq_len"] == 64 and meta["processor"] == "lm"
    ref = stage_ref(meta["manifest"]["dataset"], meta["manifest"]["recipe_stage"])
    assert ref.recipe == "gpt2-couplet" and ref.seq_length == meta["seq_len"]
    assert (tmp_path / "couplet.pt").stat().st_size > 0


def test_list_filters_and_export_formats():
    rows = json.loads(_run("list", "--tokenizer", "cluecorpussmall_spm", "--stages", "2", "--has-hf", "--json"))
    assert sorted(r["id"] for r in rows) == ["roberta-word-base", "roberta-word-medium", "roberta-word-mini",
                                             "roberta-word-small", "roberta-word-tiny"]
    assert rows[0]["hf_id"].startswith("uer/roberta-") and rows[0]["seq_lengths"] == [128, 512]
    long = json.loads(_run("list", "--seq-len", "1024", "--json"))
    assert {r["id"] for r in long} >= {"gpt2-cluecorpussmall", "gpt2-xlarge-cluecorpussmall"}
    off = json.loads(_run("list", "--not-on-page", "--json"))
    on = json.loads(_run("list", "--on-page", "--json"))
    assert len(on) == 59 and len(on) + len(off) == 86 and not any(r["on_zoo_page"] for r in off)
    assert all(r["hf_id"] is None for r in json.loads(_run("list", "--no-hf", "--json")))
    csv_text = _run("list", "--family", "gpt2", "--format", "csv")
    import csv
    import io

    table = list(csv.DictReader(io.StringIO(csv_text)))
    assert table and table[0]["hf_id"] == "uer/gpt2-chinese-cluecorpussmall"
    md = _run("list", "--dataset", "weibo", "--format", "md").splitlines()
    assert md[0].startswith("| id |") and len(md) == 4
    assert "hf_id" in _run("list", "--family", "t5")
    res = runner.invoke(app, ["zoo", "list", "--format", "xml"])
    assert res.exit_code != 0


def test_tokenizers_say_where_to_get_the_files():
    rows = {r["id"]: r for r in json.loads(_run("tokenizers", "--json"))}
    assert rows["google_zh_vocab"]["get_it"].startswith("ships with UER-py: models/google_zh_vocab.txt")
    assert all(r["get_it"] for r in rows.values())
    assert "get it:" in _run("tokenizers")


def _sourced(node, path="") -> list[str]:
    """Paths of {value, source} leaves without a source."""
    bad = []
    if isinstance(node, dict) and set(node) == {"value", "source"}:
        if not node["source"]:
            bad.append(path)
    elif isinstance(node, dict):
        for k, v in node.items():
            bad += _sourced(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            bad += _sourced(v, f"{path}[{i}]")
    return bad


def test_show_json_names_a_source_for_every_field():
    for mid in ("roberta-char-L6-H256", "bert-webqa2019", "gpt2-xlarge-cluecorpussmall", "hfl-bert-wwm"):
        data = json.loads(_run("show", mid, "--json"))
        for part in ("model", "architecture", "tokenizer"):
            for v in data[part].values():
                assert all(set(x) == {"value", "source"} for x in (v if isinstance(v, list) else [v])), (mid, part)
        assert not _sourced(data), mid
    d = json.loads(_run("show", "roberta-char-L6-H256", "--json"))
    assert d["architecture"]["layers"]["source"].startswith("inference:")  # no config shipped for 6/256
    assert d["model"]["page"]["source"] == "page: zoo_page_zh"
    assert d["model"]["hf_repo"]["source"].startswith("HF card:")
    assert d["recipe"]["stages"][0]["warmup"]["source"].startswith("inference: pretrain.py's default")
    w = json.loads(_run("show", "bert-webqa2019", "--json"))
    assert w["recipe"]["stages"][0]["learning_rate"] == {"value": "unknown", "source": "unknown: no source states it"}


def test_gpu_hours_come_from_a_size_and_length_dependent_utilisation():
    rows = {r["id"]: r for r in json.loads(_run("figures", "--json"))}
    tiny = json.loads(_run("show", "roberta-char-L2-H128", "--json"))["figures"]["value"]
    base = json.loads(_run("show", "roberta-char-L12-H768", "--json"))["figures"]["value"]
    xl = json.loads(_run("show", "gpt2-xlarge-cluecorpussmall", "--json"))["figures"]["value"]
    u_tiny, u_base = tiny["stages"][0]["utilisation"], base["stages"][0]["utilisation"]
    assert u_tiny < 0.05 < u_base < 0.5
    assert base["stages"][1]["utilisation"] != u_base  # depends on the sequence length too
    assert tiny["stages"][0]["wall_hours"] > 1  # 1M steps of L2-H128 on 8 GPUs: hours, not minutes
    assert any("weakest" in a for a in tiny["assumptions"])
    assert rows["roberta-char-L2-H128"]["gpu_hours"] < rows["roberta-char-L12-H768"]["gpu_hours"]
    assert xl["stages"][1]["gpu_hours"] is None or xl["stages"][1]["utilisation"] > u_base
    flat = json.loads(_run("show", "roberta-char-L2-H128", "--json", "--utilisation", "0.4"))["figures"]["value"]
    assert flat["stages"][0]["utilisation"] == 0.4


def test_recipe_for_your_own_corpus():
    text = _run("recipe", "roberta-word-small", "--format", "zooprep", "--corpus", "data/weibo_posts", "--spm", "my_spm.model")
    flat = text.replace("\\\n    ", "")
    assert "zooprep clean data/weibo_posts --format auto" in flat
    assert "--spm my_spm.model" in flat and "--manifest-dataset weibo_posts --recipe-stage roberta-word-cluecorpussmall-2stage/1" in flat
    assert "adapted to your corpus" in text and "python cli.py" not in text
    assert "--corpus_path x " in _run("recipe", "gpt2-poem", "--format", "uer", "--corpus", "x")  # every syntax
    assert runner.invoke(app, ["zoo", "recipe", "gpt2-poem", "--vocab", "v.txt"]).exit_code != 0
