"""Option checks shared by every command's typed config: one message style, no NaN slipping through.

``nan`` compares false with everything, so ``not 0 <= x <= 1`` style checks written as ``x < 0``
let it pass (and then silently disable a filter); every range check here refuses non-finite values.
"""
from __future__ import annotations

import math

from corpusprep.errors import ZooprepError

MAX_SEQ_LEN = 1 << 20  # far above any model's positions; ids rows are allocated from it
MAX_WORKERS = 4096
MAX_UNIT_MB = 1 << 20
MAX_DUP_FACTOR = 1000  # each pass rereads and rewrites the corpus: more is a typo, not a recipe (UER's zoo uses 1-10)
MAX_DOCS_BUFFER = 1 << 24  # documents held in memory at once
MIN_UNIT_MB = 1 / 1024  # 1 KiB: smaller work units only multiply per-unit costs (a run of millions of units)
MAX_SPAN_LENGTH = 1024  # no row of any zoo model is longer; the span sampler's cost grows with the bound
MIN_SHARD_BYTES = 4096  # --num-shards beyond input bytes / this (and beyond 64) only makes empty files


def number(option: str, value, lo: float | None = None, hi: float | None = None, *,
           lo_open: bool = False, hi_open: bool = False) -> float:
    """``value`` as a finite number within [lo, hi] (open ends on request), else a ZooprepError."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ZooprepError(f"{option} must be a number, not {value!r}") from None
    if not math.isfinite(x):
        raise ZooprepError(f"{option} must be a finite number, not {value!r}")
    if lo is not None and (x < lo or (lo_open and x == lo)) or hi is not None and (x > hi or (hi_open and x == hi)):
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise ZooprepError(f"{option} must be in {left}{_fmt(lo, '-inf')}, {_fmt(hi, 'inf')}{right}, not {value!r}")
    return x


def integer(option: str, value, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ZooprepError(f"{option} must be an integer, not {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ZooprepError(f"{option} must be in [{_fmt(lo, '-inf')}, {_fmt(hi, 'inf')}], not {value}")
    return value


def workers(value: int | None, option: str = "--workers") -> int | None:
    """None (all cores) or 1..MAX_WORKERS."""
    return None if value is None else integer(option, value, 1, MAX_WORKERS)


def executor(name: str, ray_address: str | None) -> None:
    """``--executor`` and, for Ray, a well-formed and reachable ``--ray-address`` (checked before
    any planning, so a typo costs seconds, not the planning of a big corpus)."""
    if name not in ("local", "ray"):
        raise ZooprepError(f"unknown --executor {name!r}; choose 'local' or 'ray'")
    if name == "ray":
        from corpusprep.ray_executor import check_target

        check_target(ray_address)


def unit_bytes_of(unit_mb, option: str = "--unit-mb") -> int:
    """``--unit-mb`` (> 0, finite) in bytes, at least 1."""
    mb = number(option, unit_mb, MIN_UNIT_MB, MAX_UNIT_MB)
    return max(1, int(mb * (1 << 20)))


def num_shards(value: int, input_bytes: int, option: str = "--num-shards") -> int:
    """Output shards: at most max(64, input bytes / MIN_SHARD_BYTES), so most hold something."""
    return integer(option, value, 1, max(64, input_bytes // MIN_SHARD_BYTES))


def out_path(value, option: str = "--out") -> str:
    """A non-empty output path."""
    from pathlib import Path

    text = "" if value is None else str(value)
    if not text.strip() or text == "." or Path(text).name in ("", ".", ".."):
        raise ZooprepError(f"{option} must name a file or directory, not {text!r}")
    return text


def _fmt(v, default: str) -> str:
    return default if v is None else f"{v:g}" if isinstance(v, float) else str(v)


SPECIAL_NAMES = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}


def special_tokens_needed(processor: str) -> tuple[str, ...]:
    """Special tokens a `shard` processor writes or the masking (static, or the loader's dynamic
    masking) needs: every row is padded, framed with [CLS] ... [SEP]; lm and mt rows are never masked."""
    return ("pad", "unk", "cls", "sep") if processor in ("lm", "mt") else ("pad", "unk", "cls", "sep", "mask")


def require_special_ids(special_ids: dict, processor: str, where: str) -> None:
    """A tokenizer that lacks a special token the processor needs is refused up front (one line)."""
    missing = [SPECIAL_NAMES[n] for n in special_tokens_needed(processor)
               if special_ids.get(n) is None or special_ids.get(n, -1) < 0]
    if missing:
        raise ZooprepError(f"{where}: has no {', '.join(missing)} (needed by --processor {processor}); "
                           "use a vocab / sentencepiece model that defines them")
