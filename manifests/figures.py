"""Derived figures per model and recipe stage: tokens processed, training FLOPs, GPU-hours.

Formulas (printed with every estimate):

* tokens   T = total_steps x batch_size_per_gpu x world_size x seq_length
* FLOPs    C = 6 * N_compute * T  +  12 * L * H * S * T
  N_compute: parameters touched per token in matrix multiplications (params.ParamCount.compute:
  layers applied L times even when ALBERT shares them, plus the output projection: at every
  position for lm, on the 15 % masked positions for mlm); the second term is the attention score
  and weighted-sum matmuls (2 x 2 x L x S x H forward, x3 for forward + backward).
* GPU-hours = C / (peak FLOP/s of the GPU at the chosen precision x utilisation) / 3600

Utilisation is not a flat figure: by default it comes from :func:`utilisation_model`, a step-time
model in which the matmuls run at an efficiency that falls with narrow layers (hidden size) and
few tokens per GPU per step, plus a fixed per-step overhead (kernel launches per layer, optimizer,
gradient all-reduce latency) that dominates small models. ``--utilisation U`` replaces it by a flat U.
"""
from __future__ import annotations

from dataclasses import dataclass

from manifests.catalog import Catalog, CatalogError
from manifests.params import ParamCount, count_parameters
from manifests.schema import Model, Stage, is_known

# Dense peak TFLOP/s (no sparsity) from the vendors' data sheets, SXM parts.
PEAK_TFLOPS = {
    "V100": {"fp32": 15.7, "tf32": 15.7, "mixed": 125.0},  # no TF32 on Volta: fp32 path
    "A100": {"fp32": 19.5, "tf32": 156.0, "mixed": 312.0},
    "H100": {"fp32": 67.0, "tf32": 494.7, "mixed": 989.4},
}
DEFAULT_UTILISATION = None  # None: the utilisation model below


@dataclass(frozen=True)
class UtilisationModel:
    """Step time = matmul FLOPs / (peak x GEMM efficiency) + fixed overhead; utilisation = ideal / actual.

    The constants are rough, chosen to match published large-model MFU (~50 % at best with tensor
    cores) and the well-known launch-bound behaviour of tiny models; they are not fitted to UER runs.
    """

    best: float = 0.5  # GEMM efficiency of wide layers with many tokens per GPU (share of peak)
    hidden_half: int = 512  # hidden size at which GEMM efficiency is half of `best`
    tokens_half: int = 2048  # tokens per GPU per step at which it halves again
    overhead_s: float = 0.005  # per step: optimizer, data loader, all-reduce latency
    overhead_per_layer_s: float = 0.0005  # per layer and step: kernel launches forward + backward

    def gemm_efficiency(self, hidden: int, tokens_per_gpu_step: int) -> float:
        return (self.best * hidden / (hidden + self.hidden_half)
                * tokens_per_gpu_step / (tokens_per_gpu_step + self.tokens_half))

    def utilisation(self, flops_per_gpu_step: float, peak: float, hidden: int, layers: int, tokens_per_gpu_step: int) -> float:
        matmul = flops_per_gpu_step / (peak * self.gemm_efficiency(hidden, tokens_per_gpu_step))
        step = matmul + self.overhead_s + self.overhead_per_layer_s * layers
        return flops_per_gpu_step / (peak * step)

    def describe(self) -> list[str]:
        return [
            f"utilisation model: step time = FLOPs per GPU-step / (peak x GEMM efficiency) + {self.overhead_s * 1e3:g} ms "
            f"+ {self.overhead_per_layer_s * 1e3:g} ms per layer; GEMM efficiency = {self.best:g} x hidden/(hidden+{self.hidden_half}) "
            f"x tokens/(tokens+{self.tokens_half}) with tokens = batch_size_per_gpu x seq_length",
            "weakest for small models (L<=4 or H<=256): their time is mostly the fixed overhead, whose constants are "
            "estimates, not measurements of UER; also unmodelled: DeepSpeed ZeRO communication and activation "
            "checkpointing recompute (about +1/3 FLOPs for gpt2-xlarge), padding, data loading stalls",
        ]


UTILISATION_MODEL = UtilisationModel()


@dataclass(frozen=True)
class StageFigures:
    stage: int
    tokens: int | None
    flops: float | None
    gpu_hours: float | None
    wall_hours: float | None  # on the recipe's world_size GPUs
    missing: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"stage": self.stage, "tokens": self.tokens, "flops": self.flops, "gpu_hours": self.gpu_hours,
                "wall_hours": self.wall_hours, "missing": list(self.missing)}


def stage_tokens(stage: Stage) -> tuple[int | None, list[str]]:
    names = ("total_steps", "batch_size_per_gpu", "world_size", "seq_length")
    values = [getattr(stage, n) for n in names]
    missing = [n for n, v in zip(names, values) if not is_known(v)]
    if missing:
        return None, missing
    steps, batch, world, seq = values
    return steps * batch * world * seq, []


def stage_flops(pc: ParamCount, layers, hidden, seq, tokens: int | None) -> float | None:
    if tokens is None or pc.compute is None:
        return None
    attention = 12 * layers * hidden * seq * tokens if is_known(layers) and is_known(hidden) and is_known(seq) else 0
    return 6.0 * pc.compute * tokens + attention


def peak_flops(gpu: str, precision: str) -> float:
    try:
        return PEAK_TFLOPS[gpu.upper()][precision] * 1e12
    except KeyError:
        raise CatalogError(f"unknown GPU/precision {gpu}/{precision}; GPUs: {', '.join(PEAK_TFLOPS)}; precisions: fp32, tf32, mixed") from None


def gpu_hours(flops: float | None, gpu: str = "A100", precision: str = "mixed", utilisation: float = 0.4) -> float | None:
    """GPU-hours of ``flops`` at a given utilisation (share of the GPU's dense peak)."""
    if flops is None:
        return None
    peak = peak_flops(gpu, precision)
    if not 0 < utilisation <= 1:
        raise CatalogError(f"utilisation must be in (0, 1], got {utilisation}")
    return flops / (peak * utilisation) / 3600.0


def model_figures(cat: Catalog, model: Model, gpu: str = "A100", precision: str = "mixed",
                  utilisation: float | None = DEFAULT_UTILISATION) -> dict:
    """Parameter count and per-stage tokens / FLOPs / GPU-hours of ``model`` (JSON-able)."""
    arch = cat.architecture(model.architecture)
    pc = count_parameters(arch, None if model.target == "unknown" else model.target)
    out = {"model": model.id,
           "parameters": {"backbone": pc.backbone, "heads": pc.heads, "total": pc.total, "uer_segment_extra": pc.uer_extra,
                          "compute_per_token": pc.compute, "breakdown": pc.breakdown, "missing": pc.reason},
           "assumptions": assumptions(gpu, precision, utilisation), "stages": []}
    recipe = cat.recipe_of(model.id)
    if recipe is None:
        return out
    layers = arch.layers + (arch.decoder_layers or 0) if is_known(arch.layers) else arch.layers
    for st in recipe.stages:
        tokens, missing = stage_tokens(st)
        flops = stage_flops(pc, layers, arch.hidden, st.seq_length, tokens)
        if flops is None and pc.reason:
            missing = [*missing, f"parameters ({pc.reason})"]
        util = utilisation
        if util is None and flops is not None:
            per_gpu_step = flops / st.total_steps / st.world_size
            util = UTILISATION_MODEL.utilisation(per_gpu_step, peak_flops(gpu, precision), arch.hidden, layers,
                                                 st.batch_size_per_gpu * st.seq_length)
        hours = gpu_hours(flops, gpu, precision, util) if flops is not None else None
        wall = hours / st.world_size if hours is not None and is_known(st.world_size) else None
        row = StageFigures(st.stage, tokens, flops, hours, wall, tuple(missing)).as_dict()
        row["utilisation"] = util
        out["stages"].append(row)
    return out


def assumptions(gpu: str, precision: str, utilisation: float | None) -> list[str]:
    peak = PEAK_TFLOPS.get(gpu.upper(), {}).get(precision)
    util = ([f"utilisation {utilisation:.0%} of peak for every stage (--utilisation)"] if utilisation is not None
            else UTILISATION_MODEL.describe())
    return [
        "tokens = total_steps x batch_size_per_gpu x world_size x seq_length (padding counted as processed)",
        "FLOPs = 6 * N_compute * tokens + 12 * layers * hidden * seq_length * tokens "
        "(N_compute: matmul parameters per token incl. the output projection; 15 % of positions for mlm)",
        f"GPU: {gpu.upper()} dense peak {peak} TFLOP/s at precision '{precision}'",
        *util,
        "the zoo cards used fp32 (no --fp16); 'mixed' assumes fp16/bf16 tensor cores, as a rerun today would",
        "GPU-hours exclude evaluation, checkpointing and restarts",
    ]
