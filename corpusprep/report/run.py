"""`report`: typed config, collect every input's recorded numbers, render, write through FileOutputs."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from corpusprep.errors import ZooprepError

FORMATS = ("html", "md", "json")
NOTE = ("Every figure is a number the command recorded while it ran (report.json, zooprep.json, cards); "
        "nothing is recomputed here.")


@dataclass(frozen=True)
class ReportConfig:
    inputs: tuple[str, ...]
    out: Path
    fmt: str = "html"

    def validate(self) -> None:
        if not self.inputs:
            raise ZooprepError("report: give at least one DIR (a clean or shard output, a vocab or spm model)")
        if self.fmt not in FORMATS:
            raise ZooprepError(f"--format must be one of {', '.join(FORMATS)}, not {self.fmt!r}")
        from corpusprep.options import out_path

        out_path(self.out)


def card_path(out: Path) -> Path:
    return Path(out).with_name(Path(out).name + ".card.json")


def run_report(cfg: ReportConfig) -> Path:
    from corpusprep.atomic import write_bytes
    from corpusprep.outdir import FileOutputs
    from corpusprep.report.collect import collect
    from corpusprep.report.render import RENDERERS

    cfg.validate()
    outputs = FileOutputs("report", [cfg.out], card_path(cfg.out), list(cfg.inputs))
    outputs.check()
    sections = [collect(p) for p in cfg.inputs]
    page = RENDERERS[cfg.fmt](sections, NOTE)
    write_bytes(cfg.out, page.encode("utf-8", "backslashreplace"))
    outputs.write_card({"inputs": list(cfg.inputs), "format": cfg.fmt})
    return Path(cfg.out)
