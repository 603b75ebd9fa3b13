"""Derived figures per model and recipe stage: tokens processed, training FLOPs, GPU-hours.

Formulas (printed with every estimate):

* tokens   T = total_steps x batch_size_per_gpu x world_size x seq_length
* FLOPs    C = 6 * N_compute * T  +  12 * L * H * S * T
  N_compute: parameters touched per token in matrix multiplications (params.ParamCount.compute:
  layers applied L times even when ALBERT shares them, plus the output projection: at every
  position for lm, on the 15 % masked positions for mlm); the second term is the attention score
  and weighted-sum matmuls (2 x 2 x L x S x H forward, x3 for forward + backward).
* GPU-hours = C / (peak FLOP/s of the GPU at the chosen precision x utilisation) / 3600
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
DEFAULT_UTILISATION = 0.4


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


def gpu_hours(flops: float | None, gpu: str = "A100", precision: str = "mixed", utilisation: float = DEFAULT_UTILISATION) -> float | None:
    if flops is None:
        return None
    try:
        peak = PEAK_TFLOPS[gpu.upper()][precision] * 1e12
    except KeyError:
        raise CatalogError(f"unknown GPU/precision {gpu}/{precision}; GPUs: {', '.join(PEAK_TFLOPS)}; precisions: fp32, tf32, mixed") from None
    if not 0 < utilisation <= 1:
        raise CatalogError(f"utilisation must be in (0, 1], got {utilisation}")
    return flops / (peak * utilisation) / 3600.0


def model_figures(cat: Catalog, model: Model, gpu: str = "A100", precision: str = "mixed",
                  utilisation: float = DEFAULT_UTILISATION) -> dict:
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
        hours = gpu_hours(flops, gpu, precision, utilisation)
        wall = hours / st.world_size if hours is not None and is_known(st.world_size) else None
        out["stages"].append(StageFigures(st.stage, tokens, flops, hours, wall, tuple(missing)).as_dict())
    return out


def assumptions(gpu: str, precision: str, utilisation: float) -> list[str]:
    peak = PEAK_TFLOPS.get(gpu.upper(), {}).get(precision)
    return [
        "tokens = total_steps x batch_size_per_gpu x world_size x seq_length (padding counted as processed)",
        "FLOPs = 6 * N_compute * tokens + 12 * layers * hidden * seq_length * tokens "
        "(N_compute: matmul parameters per token incl. the output projection; 15 % of positions for mlm)",
        f"GPU: {gpu.upper()} dense peak {peak} TFLOP/s at precision '{precision}', utilisation {utilisation:.0%} (model FLOPs utilisation)",
        "the zoo cards used fp32 (no --fp16); 'mixed' assumes fp16/bf16 tensor cores, as a rerun today would",
        "GPU-hours exclude evaluation, checkpointing and restarts",
    ]
