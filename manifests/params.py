"""Parameter counts computed from an architecture (pure functions, no torch).

Counting convention (stated so numbers can be checked against other tools):

* ``backbone``: what the Hugging Face model class of the same shape holds: ``BertModel`` (word,
  position and 2 segment embeddings, embedding LayerNorm, layers, pooler), ``AlbertModel``
  (factorised embedding + one shared layer + pooler), ``GPT2Model`` (tied LM head adds nothing),
  ``T5Model`` (shared embedding, encoder, decoder, relative-position buckets = 32), PyTorch
  ``nn.LSTM``/``nn.GRU`` plus the word embedding for the RNN language models.
* ``heads``: the pretraining heads on top (MLM transform + output bias with tied weights, NSP/SOP
  classifier, untied LM output layer of the RNNs).
* UER's own segment embedding has 3 rows (0 = padding) instead of 2; ``uer_extra`` holds that
  difference so UER checkpoints can be reconciled too.

``compute`` is what the FLOPs estimate multiplies (parameters touched per token in matrix
multiplications, counting a shared ALBERT layer once per application and the output projection).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from manifests.schema import Architecture, is_known

T5_BUCKETS = 32
MLM_PREDICTED_SHARE = 0.15  # UER's mlm target projects only the masked positions to the vocabulary


@dataclass(frozen=True)
class ParamCount:
    backbone: int | None
    heads: int | None = 0
    uer_extra: int = 0
    compute: float | None = None  # matmul parameters per token for the FLOPs estimate
    breakdown: dict = field(default_factory=dict)
    reason: str | None = None  # why a count is missing

    @property
    def total(self) -> int | None:
        if self.backbone is None or self.heads is None:
            return None
        return self.backbone + self.heads


def _missing(reason: str) -> ParamCount:
    return ParamCount(backbone=None, heads=None, reason=reason)


def _transformer_layer(h: int, f: int) -> int:
    """Post/pre-LN encoder layer with biases: attention (Q,K,V,O), 2 LayerNorms, 2 FFN linears."""
    return 4 * (h * h + h) + 2 * h + (h * f + f) + (f * h + h) + 2 * h


def count_parameters(arch: Architecture, target: str | None = None) -> ParamCount:
    """Parameter count of ``arch``; ``target`` (mlm, bert, albert, lm, ...) selects the heads."""
    fields = {"layers": arch.layers, "hidden": arch.hidden, "vocab_size": arch.vocab_size}
    missing = [k for k, v in fields.items() if not is_known(v)]
    if missing:
        return _missing(f"{', '.join(missing)} unknown")
    counter = _COUNTERS.get(arch.kind)
    if counter is None:
        return _missing(f"no parameter formula for '{arch.kind}' encoders")
    return counter(arch, target or "")


def _bert(a: Architecture, target: str) -> ParamCount:
    v, h, f, n, p = a.vocab_size, a.hidden, a.feedforward, a.layers, a.max_seq_length
    if not all(is_known(x) for x in (f, p)):
        return _missing("feedforward or max_seq_length unknown")
    emb = v * h + p * h + 2 * h + 2 * h
    layers = n * _transformer_layer(h, f)
    pooler = h * h + h
    mlm_head = (h * h + h) + 2 * h + v  # transform dense + LayerNorm + output bias (weights tied)
    nsp = 2 * h + 2
    heads = 0
    out_share = 0.0
    if target in ("mlm", "bert", "cls") or not target:
        heads = mlm_head + (nsp if target in ("bert", "") else 0)
        out_share = MLM_PREDICTED_SHARE
    if target == "cls":
        heads = 2 * h + 2  # a classifier of unknown label count; 2 labels assumed
        out_share = 0.0
    compute = layers + pooler + out_share * (v * h + h * h)
    return ParamCount(emb + layers + pooler, heads, uer_extra=h, compute=compute,
                      breakdown={"embeddings": emb, "layers": layers, "pooler": pooler, "heads": heads})


def _albert(a: Architecture, target: str) -> ParamCount:
    v, h, f, n, p, e = a.vocab_size, a.hidden, a.feedforward, a.layers, a.max_seq_length, a.emb_size
    if not all(is_known(x) for x in (f, p, e)):
        return _missing("feedforward, max_seq_length or emb_size unknown")
    emb = v * e + p * e + 2 * e + 2 * e
    mapping = e * h + h
    layer = _transformer_layer(h, f)
    stored_layers = layer if a.parameter_sharing else n * layer
    pooler = h * h + h
    heads = (h * e + e) + 2 * e + v + (2 * h + 2)  # MLM transform to E + LN + tied output bias + SOP
    compute = mapping + n * layer + pooler + MLM_PREDICTED_SHARE * (v * e + h * e)
    return ParamCount(emb + mapping + stored_layers + pooler, heads, uer_extra=e, compute=compute,
                      breakdown={"embeddings": emb, "projection": mapping, "layers": stored_layers, "pooler": pooler, "heads": heads})


def _gpt2(a: Architecture, target: str) -> ParamCount:
    v, h, f, n, p = a.vocab_size, a.hidden, a.feedforward, a.layers, a.max_seq_length
    if not all(is_known(x) for x in (f, p)):
        return _missing("feedforward or max_seq_length unknown")
    emb = v * h + p * h
    layers = n * _transformer_layer(h, f)
    final_ln = 2 * h
    heads = 0 if a.tie_weights else v * h
    compute = layers + v * h  # the (tied) output projection runs at every position
    return ParamCount(emb + layers + final_ln, heads, compute=compute,
                      breakdown={"embeddings": emb, "layers": layers, "final_layernorm": final_ln, "heads": heads})


def _t5(a: Architecture, target: str) -> ParamCount:
    v, h, f, n, heads_n = a.vocab_size, a.hidden, a.feedforward, a.layers, a.heads
    dec = a.decoder_layers or n
    if not all(is_known(x) for x in (f, heads_n)):
        return _missing("feedforward or heads unknown")
    attn = 4 * h * h  # no biases; inner dimension = heads * 64 = hidden for the zoo configs
    ff = 2 * h * f
    enc_layer = attn + ff + 2 * h
    dec_layer = 2 * attn + ff + 3 * h
    shared = v * h
    enc = n * enc_layer + T5_BUCKETS * heads_n + h
    decd = dec * dec_layer + T5_BUCKETS * heads_n + h
    compute = n * enc_layer + dec * dec_layer + v * h
    return ParamCount(shared + enc + decd, 0 if a.tie_weights else v * h, compute=compute,
                      breakdown={"shared_embedding": shared, "encoder": enc, "decoder": decd})


def _rnn(gates: int):
    def count(a: Architecture, target: str) -> ParamCount:
        v, h, n, e = a.vocab_size, a.hidden, a.layers, a.emb_size
        if not is_known(e):
            return _missing("emb_size unknown")
        directions = 2 if a.kind == "bilstm" else 1
        hd = h // directions  # UER's bidirectional encoders split hidden_size over the two directions
        rnn = 0
        for layer in range(n):
            inp = e if layer == 0 else hd
            rnn += gates * (inp * hd + hd * hd + 2 * hd)
        rnn *= directions
        emb = v * e
        out = directions * (hd * v + v)  # lm / bilm output layer(s), not tied
        return ParamCount(emb + rnn, out, compute=rnn + out,
                          breakdown={"embeddings": emb, "rnn": rnn, "heads": out})

    return count


_COUNTERS = {"bert": _bert, "albert": _albert, "gpt2": _gpt2, "t5": _t5,
             "lstm": _rnn(4), "bilstm": _rnn(4), "gru": _rnn(3)}


def human(n: float | int | None) -> str:
    """12345678 -> '12.3 M'."""
    if n is None:
        return "unknown"
    for unit, div in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.1f} {unit}"
    return str(int(n))
