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
    overwrite: bool = False  # replace a finished report made with other options or inputs (outdir.rerun)

    def validate(self) -> None:
        if not self.inputs:
            raise ZooprepError("report: give at least one DIR (a clean or shard output, a vocab or spm model)")
        if self.fmt not in FORMATS:
            raise ZooprepError(f"--format must be one of {', '.join(FORMATS)}, not {self.fmt!r}")
        from corpusprep.options import out_path

        out_path(self.out)


def card_path(out: Path) -> Path:
    from corpusprep.outdir.fileout import card_beside

    return card_beside(out, "--out")


def run_report(cfg: ReportConfig) -> Path:
    from corpusprep.outdir import FileOutputs
    from corpusprep.outdir.rerun import cli_options
    from corpusprep.report.collect import collect
    from corpusprep.report.render import RENDERERS

    cfg.validate()
    with FileOutputs("report", [Path(cfg.out)], card_path(cfg.out), list(cfg.inputs), overwrite=cfg.overwrite,
                     rerun_options=cli_options(cfg)) as outputs:  # the rerun rule (outdir.rerun)
        outputs.check()
        sections = [collect(p) for p in cfg.inputs]
        page = RENDERERS[cfg.fmt](sections, NOTE)
        with outputs.open(cfg.out, "wb") as fh:
            fh.write(page.encode("utf-8", "backslashreplace"))
        outputs.commit({"inputs": list(cfg.inputs), "format": cfg.fmt})
    return Path(cfg.out)
