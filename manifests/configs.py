"""Model config JSON from the catalog: UER-py/TencentPretrain ``--config_path`` files or HF ``config.json``.

UER configs use the key layout of UER-py HEAD (2024): shape keys plus module keys (embedding,
encoder, mask, target, ...). The target written is the one the model was trained with (e.g. ``mlm``
for the RoBERTa models, whose shipped config files say ``[mlm, sp]``; see conflicts.yaml).
"""
from __future__ import annotations

from manifests.catalog import Catalog, CatalogError
from manifests.schema import Architecture, Model, is_known
from manifests.targets import objective_processor, uer_targets

CONFIG_FORMATS = ("uer", "hf")



def _need(arch: Architecture, model: Model, *names: str) -> None:
    missing = [n for n in names if not is_known(getattr(arch, n))]
    if missing:
        raise CatalogError(f"cannot write a config for '{model.id}': {', '.join(missing)} unknown in architecture {arch.id}")


def model_config(cat: Catalog, model_id: str, fmt: str = "uer", layers: int | None = None,
                 hidden: int | None = None) -> dict:
    """``layers``/``hidden``: a miniature of the same architecture (``shrunk``) for smoke runs."""
    if fmt not in CONFIG_FORMATS:
        raise CatalogError(f"unknown config format '{fmt}' (choose from {', '.join(CONFIG_FORMATS)})")
    model = cat.model(model_id)
    arch = cat.architecture(model.architecture)
    if layers is not None or hidden is not None:
        arch = shrunk(arch, model, layers, hidden)
    return uer_config(model, arch, final_objective(cat, model)) if fmt == "uer" else hf_config(cat, model, arch)


def shrunk(arch: Architecture, model: Model, layers: int | None, hidden: int | None) -> Architecture:
    """The same architecture (family, embeddings, encoder, options) with fewer layers / a smaller hidden
    size: heads of 32 dimensions (at most the original count), feed-forward 4x hidden, a factorized
    (ALBERT) embedding kept smaller than the hidden size."""
    _need(arch, model, "hidden", "layers")
    h = hidden if hidden is not None else arch.hidden
    n = layers if layers is not None else arch.layers
    if h < 8 or n < 1:
        raise CatalogError(f"--hidden must be at least 8 and --layers at least 1 (got {h}, {n})")
    upd: dict = {"hidden": h, "layers": n}
    if hidden is not None:
        heads = max(1, min(arch.heads if is_known(arch.heads) and arch.heads else 1, h // 32))
        while h % heads:
            heads -= 1
        upd.update(heads=heads, feedforward=4 * h)
        if is_known(arch.emb_size) and arch.emb_size:
            upd["emb_size"] = max(8, h // 2) if arch.emb_size != arch.hidden else h
    if arch.decoder_layers and layers is not None:
        upd["decoder_layers"] = n
    return arch.model_copy(update=upd)


def final_objective(cat: Catalog, model: Model) -> str | None:
    """The objective of the model's last training stage (recipe first, then the model's own field)."""
    recipe = cat.recipe_of(model.id)
    for value in ([recipe.stages[-1].target] if recipe else []) + [model.target]:
        try:
            if uer_targets(value):
                return value
        except ValueError:
            continue
    return None


def uer_config(model: Model, arch: Architecture, target: str | None) -> dict:
    k = arch.kind
    if k in ("bert", "albert", "gpt2", "t5"):
        _need(arch, model, "emb_size", "feedforward", "hidden", "heads", "layers")
        cfg = {"emb_size": arch.emb_size, "feedforward_size": arch.feedforward, "hidden_size": arch.hidden,
               "hidden_act": arch.hidden_act, "heads_num": arch.heads, "layers_num": arch.layers}
        if k == "t5":
            cfg["decoder_layers_num"] = arch.decoder_layers
        else:
            cfg["max_seq_length"] = arch.max_seq_length
        cfg["dropout"] = arch.dropout
    elif k in ("lstm", "gru", "bilstm", "gatedcnn"):
        _need(arch, model, "emb_size", "hidden", "layers")
        cfg = {"emb_size": arch.emb_size, "hidden_size": arch.hidden, "layers_num": arch.layers}
        if k == "gatedcnn":
            cfg.update(kernel_size=arch.kernel_size, block_size=arch.block_size)
        if is_known(arch.max_seq_length):
            cfg["max_seq_length"] = arch.max_seq_length
        cfg["dropout"] = arch.dropout
    else:
        raise CatalogError(f"cannot write a config for '{model.id}': the {k} encoder's shape is not stated")
    if objective_processor(target):
        cfg["data_processor"] = objective_processor(target)
    cfg["embedding"] = list(arch.embedding)
    if arch.relative_position_embedding:
        cfg["relative_position_embedding"] = True
    if arch.remove_embedding_layernorm:
        cfg["remove_embedding_layernorm"] = True
    if k == "t5":
        cfg.update(tgt_embedding=["word"], share_embedding=True)
    cfg["encoder"] = arch.encoder
    if arch.mask:
        cfg["mask"] = arch.mask
    if arch.layernorm_positioning == "pre":
        cfg["layernorm_positioning"] = "pre"
    if k == "t5":
        cfg.update(remove_attention_scale=True, layernorm="t5", remove_transformer_bias=True, decoder="transformer")
    if arch.factorized_embedding_parameterization:
        cfg["factorized_embedding_parameterization"] = True
    if arch.parameter_sharing:
        cfg["parameter_sharing"] = True
    if uer_targets(target):
        cfg["target"] = uer_targets(target)
    if arch.tie_weights:
        cfg["tie_weights"] = True
    return {key: v for key, v in cfg.items() if v is not None}


def hf_config(cat: Catalog, model: Model, arch: Architecture) -> dict:
    tok = cat.tokenizer(model.tokenizer)
    _need(arch, model, "vocab_size", "hidden", "layers")
    special = tok.special_ids
    common = {"vocab_size": arch.vocab_size}
    if tok.hf_tokenizer_class and is_known(tok.hf_tokenizer_class):
        common["tokenizer_class"] = tok.hf_tokenizer_class
    k = arch.kind
    if k == "bert":
        _need(arch, model, "heads", "feedforward", "max_seq_length")
        return {"architectures": ["BertForMaskedLM"], "model_type": "bert", "hidden_size": arch.hidden,
                "num_hidden_layers": arch.layers, "num_attention_heads": arch.heads, "intermediate_size": arch.feedforward,
                "hidden_act": arch.hidden_act, "hidden_dropout_prob": arch.dropout, "attention_probs_dropout_prob": arch.dropout,
                "max_position_embeddings": arch.max_seq_length, "type_vocab_size": 2, "initializer_range": 0.02,
                "layer_norm_eps": 1e-12, "pad_token_id": special.pad if special else 0, **common}
    if k == "albert":
        _need(arch, model, "heads", "feedforward", "max_seq_length", "emb_size")
        return {"architectures": ["AlbertForMaskedLM"], "model_type": "albert", "embedding_size": arch.emb_size,
                "hidden_size": arch.hidden, "num_hidden_layers": arch.layers, "num_attention_heads": arch.heads,
                "intermediate_size": arch.feedforward, "hidden_act": arch.hidden_act, "hidden_dropout_prob": arch.dropout,
                "attention_probs_dropout_prob": arch.dropout, "max_position_embeddings": arch.max_seq_length,
                "type_vocab_size": 2, "num_hidden_groups": 1, "inner_group_num": 1, "layer_norm_eps": 1e-12,
                "pad_token_id": special.pad if special else 0, **common}
    if k == "gpt2":
        _need(arch, model, "heads", "feedforward", "max_seq_length")
        # UER's gelu_fast is the tanh approximation HF calls gelu_new
        return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": arch.hidden, "n_layer": arch.layers,
                "n_head": arch.heads, "n_inner": arch.feedforward, "n_positions": arch.max_seq_length, "n_ctx": arch.max_seq_length,
                "activation_function": "gelu_new", "embd_pdrop": arch.dropout, "attn_pdrop": arch.dropout, "resid_pdrop": arch.dropout,
                "layer_norm_epsilon": 1e-5, "bos_token_id": special.cls if special else None,
                "eos_token_id": special.sep if special else None, "tie_word_embeddings": True, **common}
    if k == "t5":
        _need(arch, model, "heads", "feedforward")
        return {"architectures": ["T5ForConditionalGeneration"], "model_type": "t5", "d_model": arch.hidden,
                "d_ff": arch.feedforward, "d_kv": arch.hidden // arch.heads, "num_layers": arch.layers,
                "num_decoder_layers": arch.decoder_layers or arch.layers, "num_heads": arch.heads,
                "relative_attention_num_buckets": 32, "feed_forward_proj": arch.hidden_act or "relu", "dropout_rate": arch.dropout,
                "layer_norm_epsilon": 1e-6, "tie_word_embeddings": True, "pad_token_id": special.pad if special else 0,
                "decoder_start_token_id": special.pad if special else 0, **common}
    raise CatalogError(f"'{model.id}' ({k} encoder) has no Hugging Face Transformers equivalent; use --format uer")
