"""The typed options of one `clean` run."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from corpusprep.cleaning.registry import DEFAULT_MIN_CHARS, FAMILY_MIN_CHARS, resolve_ops

LAYOUTS = ("parquet", "uer", "uer-sentences")


@dataclass(frozen=True)
class FilterParams:
    """Thresholds the filters read (one set per family)."""

    min_chars: int = DEFAULT_MIN_CHARS
    max_chars: int = 1_000_000
    min_chinese_share: float = 0.3
    max_char_run_share: float = 0.5
    max_repeated_line_share: float = 0.3


@dataclass(frozen=True)
class CleanConfig:
    inputs: tuple[str, ...]
    out: str
    fmt: str = "auto"
    encoding: str | None = None
    text_field: str | None = None
    num_shards: int = 1
    valid_fraction: float = 0.0
    layout: str = "parquet"
    workers: int | None = None
    executor: str = "local"
    ray_address: str | None = None
    seed: int = 0
    t2s: bool = False
    near_dup: bool = False
    near_dup_threshold: float = 0.8
    num_perm: int = 128
    shingle: int = 5
    enable: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    min_chars: int | None = None  # None: per-family default
    max_chars: int = 1_000_000
    min_chinese_share: float = 0.3
    max_char_run_share: float = 0.5
    max_repeated_line_share: float = 0.3
    rejects_sample: int = 100
    unit_bytes: int = 64 << 20
    row_group_rows: int = 4096
    progress: bool | None = None  # None: only when stderr is a terminal
    on_error: str = "continue"  # continue | fail | skip (corpusprep.readers.failures)
    license: str | None = None  # dataset card only (README.md, report.json "license"): not an output option
    overwrite: bool = False  # replace a finished output made with other options or inputs (outdir.rerun)

    def ops_for(self, family: str) -> tuple[str, ...]:
        enable = set(self.enable)
        if self.t2s:
            enable.add("t2s")
        if self.near_dup:
            enable.add("near_dup")
        return resolve_ops(family, tuple(sorted(enable)), self.disable)

    def params_for(self, family: str) -> FilterParams:
        min_chars = self.min_chars if self.min_chars is not None else FAMILY_MIN_CHARS.get(family, DEFAULT_MIN_CHARS)
        return FilterParams(min_chars, self.max_chars, self.min_chinese_share,
                            self.max_char_run_share, self.max_repeated_line_share)

    def output_options(self) -> dict:
        """Every option that can change the output bytes (used for report.json and resume checks)."""
        d = asdict(self)
        for k in ("out", "workers", "executor", "ray_address", "progress", "on_error", "license", "overwrite"):
            d.pop(k)
        d["inputs"] = list(self.inputs)
        d["enable"], d["disable"] = list(self.enable), list(self.disable)
        return d

    def fingerprint(self) -> str:
        blob = json.dumps(self.output_options(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()
