"""Derived figures: parameter counts (vs known values and transformers), tokens, FLOPs, configs."""
from __future__ import annotations

import json

import pytest

from manifests.catalog import CatalogError, load_catalog
from manifests.configs import model_config
from manifests.figures import gpu_hours, model_figures, stage_tokens
from manifests.params import count_parameters
from manifests.schema import Architecture


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


def _params(cat, model_id, target=None):
    m = cat.model(model_id)
    return count_parameters(cat.architecture(m.architecture), target or m.target)


def test_bert_base_chinese_is_about_102m(cat):
    pc = _params(cat, "google-bert-base-chinese")
    assert 101.5e6 < pc.backbone < 103e6
    assert pc.backbone == 102_267_648  # BertModel(vocab 21128) incl. pooler, as HF reports for bert-base-chinese


def test_gpt2_formula_against_the_published_english_sizes():
    """GPT-2 small has 124,439,808 parameters and distilgpt2 81,912,576 (vocab 50257, 1024 positions)."""
    base = Architecture(id="x", kind="gpt2", layers=12, hidden=768, heads=12, feedforward=3072, max_seq_length=1024,
                        vocab_size=50257, tie_weights=True)
    assert count_parameters(base, "lm").total == 124_439_808
    distil = base.model_copy(update={"layers": 6})
    assert count_parameters(distil, "lm").total == 81_912_576


def test_roberta_sizes_grow_with_layers_and_hidden(cat):
    tiny, mini, base = (_params(cat, f"roberta-char-{s}").backbone for s in ("L2-H128", "L4-H256", "L12-H768"))
    assert tiny < mini < base
    assert 3e6 < tiny < 4e6  # 2/128 with a 21,128-token vocabulary: the embeddings dominate
    word = _params(cat, "roberta-word-tiny").backbone
    assert word - tiny == (100000 - 21128) * 128  # only the vocabulary differs


def test_unknown_shapes_give_unknown_counts(cat):
    pc = _params(cat, "gpt-mixedcorpus")
    assert pc.total is None and "unknown" in pc.reason
    assert _params(cat, "bert-wikizh-word").total is None  # word vocabulary size unknown


@pytest.mark.parametrize("model_id", ["roberta-char-L4-H256", "roberta-word-small", "gpt2-distil-cluecorpussmall",
                                      "google-albert-base-chinese", "t5-small-cluecorpussmall"])
def test_hf_config_builds_a_model_with_our_parameter_count(cat, model_id):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    cfg = model_config(cat, model_id, "hf")
    json.dumps(cfg)
    config = transformers.AutoConfig.for_model(**cfg)
    heads_cls = {"bert": transformers.BertForPreTraining if cat.model(model_id).target == "bert" else transformers.BertForMaskedLM,
                 "albert": transformers.AlbertForPreTraining, "gpt2": transformers.GPT2LMHeadModel,
                 "t5": transformers.T5ForConditionalGeneration}[cfg["model_type"]]
    with torch.device("meta"):
        model = heads_cls(config)
        backbone = transformers.AutoModel.from_config(config)
    n_heads_model = sum(p.numel() for p in model.parameters())
    n_backbone = sum(p.numel() for p in backbone.parameters())
    pc = _params(cat, model_id)
    assert pc.backbone == n_backbone
    if cfg["model_type"] in ("albert", "gpt2", "t5"):
        assert pc.total == n_heads_model
    else:  # BertForMaskedLM has no pooler; our total = backbone (with pooler) + MLM head
        assert pc.total == n_heads_model + pc.breakdown["pooler"]


def test_rnn_counts_match_torch(cat):
    torch = pytest.importorskip("torch")
    pc = _params(cat, "cluecorpussmall-lstm")
    assert pc.backbone == 21128 * 512 + sum(p.numel() for p in torch.nn.LSTM(512, 512, 2).parameters())
    pc = _params(cat, "cluecorpussmall-gru")
    assert pc.backbone == 21128 * 512 + sum(p.numel() for p in torch.nn.GRU(512, 512, 2).parameters())


def test_uer_configs_equal_the_shipped_files(cat, reference_dir):
    pairs = {"gpt2-distil-cluecorpussmall": "gpt2/distil_config.json", "gpt2-xlarge-cluecorpussmall": "gpt2/xlarge_config.json",
             "albert-base-cluecorpussmall-uer": "albert/base_config.json", "t5-small-cluecorpussmall": "t5/small_config.json",
             "cluecorpussmall-lstm": "rnn/lstm_config.json", "cluecorpussmall-gatedcnn": "cnn/gatedcnn_9_config.json",
             "google-bert-base-chinese": "bert/base_config.json", "cluecorpussmall-bilstm-elmo": "rnn/bilstm_config.json",
             "cluecorpussmall-gru": "rnn/gru_config.json", "gpt2-cluecorpussmall": "gpt2/config.json",
             "gpt2-medium-cluecorpussmall": "gpt2/medium_config.json", "albert-large-cluecorpussmall-uer": "albert/large_config.json",
             "t5-base-cluecorpussmall": "t5/base_config.json", "google-albert-xxlarge-chinese": "albert/xxlarge_config.json"}
    for model_id, rel in pairs.items():
        shipped = json.loads((reference_dir / "uer_configs" / rel).read_text(encoding="utf-8"))
        assert model_config(cat, model_id, "uer") == shipped, model_id
    # RoBERTa: same shape as the shipped tiny config, but the target it was trained with (conflicts.yaml)
    shipped = json.loads((reference_dir / "uer_configs/bert/tiny_config.json").read_text(encoding="utf-8"))
    ours = model_config(cat, "roberta-char-L2-H128", "uer")
    assert {k: v for k, v in ours.items() if k not in ("target", "data_processor")} == \
           {k: v for k, v in shipped.items() if k not in ("target", "data_processor")}
    assert ours["target"] == ["mlm"]


def test_unnamed_roberta_size_config_follows_the_page_rule(cat):
    cfg = model_config(cat, "roberta-char-L6-H512", "uer")
    assert (cfg["layers_num"], cfg["hidden_size"], cfg["emb_size"], cfg["feedforward_size"], cfg["heads_num"]) == (6, 512, 512, 2048, 8)


def test_config_errors(cat):
    with pytest.raises(CatalogError, match="no Hugging Face"):
        model_config(cat, "cluecorpussmall-lstm", "hf")
    with pytest.raises(CatalogError, match="not stated"):
        model_config(cat, "gpt-mixedcorpus", "uer")


def test_tokens_flops_and_gpu_hours(cat):
    st1 = cat.recipe("roberta-char-cluecorpussmall-2stage").stages[0]
    tokens, missing = stage_tokens(st1)
    assert tokens == 1_000_000 * 64 * 8 * 128 and not missing
    fig = model_figures(cat, cat.model("roberta-char-L12-H768"), gpu="A100", precision="mixed", utilisation=0.5)
    s1, s2 = fig["stages"]
    pc = _params(cat, "roberta-char-L12-H768")
    assert s1["flops"] == pytest.approx(6 * pc.compute * tokens + 12 * 12 * 768 * 128 * tokens)
    assert s1["gpu_hours"] == pytest.approx(s1["flops"] / (312e12 * 0.5) / 3600)
    assert s1["wall_hours"] == pytest.approx(s1["gpu_hours"] / 8)
    assert s2["tokens"] == 250_000 * 16 * 8 * 512
    slower = model_figures(cat, cat.model("roberta-char-L12-H768"), gpu="V100", precision="fp32")["stages"][0]["gpu_hours"]
    assert slower > s1["gpu_hours"] * 10
    assert any("utilisation" in a for a in fig["assumptions"])


def test_figures_with_unknown_recipe_values_say_what_is_missing(cat):
    fig = model_figures(cat, cat.model("bert-weibo"))
    st = fig["stages"][0]
    assert st["tokens"] is None and st["gpu_hours"] is None
    assert "batch_size_per_gpu" in st["missing"] and "seq_length" in st["missing"]


def test_gpu_hours_rejects_unknown_gpu():
    with pytest.raises(CatalogError, match="unknown GPU"):
        gpu_hours(1e18, gpu="K80")
    with pytest.raises(CatalogError, match="utilisation"):
        gpu_hours(1e18, utilisation=1.5)
