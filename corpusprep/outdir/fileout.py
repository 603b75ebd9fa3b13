"""Single-file outputs (build-vocab, build-spm, export): the sidecar card is their marker.

Rule (docs/FORMATS.md section 6): every output file is written atomically; a JSON *card* is written
last and lists each output with its sha256 under ``zooprep_outputs``. An existing file at an output
path is replaced only when such a card of the same command names it with the checksum the file
still has, i.e. zooprep wrote it and nobody changed it since. Any other existing file is refused, and
no output may be, or lie inside, an input (symlinks resolved), nor lie inside any zooprep output
directory (whose files belong to the command that wrote it).

A run killed between its first output and the final card: ``begin`` wrote a *pending* card first
(``zooprep_pending``: the outputs being written), so the rerun knows them as its own and resumes.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

from corpusprep.atomic import sha256_file, write_json
from corpusprep.errors import ZooprepError
from corpusprep.outdir import rerun
from corpusprep.outdir.ownership import check_outside_inputs, read_owner

OUTPUTS_KEY = "zooprep_outputs"
PENDING_KEY = "zooprep_pending"  # a card written before the outputs: this run is writing them


def _key(path: Path, card: Path) -> str:
    return os.path.relpath(os.path.abspath(path), os.path.dirname(os.path.abspath(card)))


class FileOutputs:
    def __init__(self, command: str, outputs: Iterable[Path], card: Path, inputs: Iterable = (),
                 option: str = "--out", *, overwrite: bool = False, options: dict | None = None):
        """``options`` (flag -> value, ``rerun.cli_options``) turns on the rerun rule (``outdir.rerun``)."""
        self.command, self.card, self.option = command, Path(card), option
        self.outputs = [Path(p) for p in outputs]
        self.inputs = [i for i in inputs if i is not None]
        self.overwrite, self.options = overwrite, options
        self.rerun_record: dict | None = None

    def _card(self) -> dict | None:
        try:
            obj = json.loads(self.card.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return obj if isinstance(obj, dict) and obj.get("zooprep_command") == self.command else None

    def _recorded(self) -> dict[str, str] | None:
        rec = (self._card() or {}).get(OUTPUTS_KEY)
        return rec if isinstance(rec, dict) else None

    def check(self) -> None:
        """Before any work: refuse inputs as outputs and existing files zooprep did not write."""
        for path in [*self.outputs, self.card]:
            check_outside_inputs(path, self.inputs, self.option)
            if path.is_dir():
                raise ZooprepError(f"{path}: output path is a directory")
            for folder in Path(os.path.realpath(os.path.abspath(path))).parents:
                owner = read_owner(folder)
                if owner is not None:
                    raise ZooprepError(f"{path}: {self.option} lies inside the `zooprep {owner['command']}` output "
                                       f"{folder}; choose a path outside it")
        recorded = self._recorded()
        pending = set((self._card() or {}).get(PENDING_KEY) or [])
        if self.card.exists() and recorded is None:
            raise ZooprepError(f"{self.card}: exists and is not a `zooprep {self.command}` card; move it away or "
                               f"choose another {self.option}")
        for path in self.outputs:
            if not (path.exists() or path.is_symlink()):
                continue
            if _key(path, self.card) in pending and not path.is_symlink():
                continue  # written by a killed run of this command: ours to replace
            sha = (recorded or {}).get(_key(path, self.card))
            if sha is None:
                raise ZooprepError(f"{path}: exists and was not written by `zooprep {self.command}` (no card "
                                   f"{self.card} naming it); move it away or choose another {self.option}")
            if path.is_symlink() or sha256_file(path) != sha:
                raise ZooprepError(f"{path}: changed since `zooprep {self.command}` wrote it; move it away or "
                                   f"choose another {self.option}")
        if self.options is None:
            return
        self.rerun_record = rerun.record(self.options, self.inputs)
        if recorded is not None and not pending and all(p.exists() for p in self.outputs):  # a finished set
            rerun.decide(self.outputs[0], self.command, self._card().get(rerun.RERUN_KEY), self.rerun_record,
                         self.overwrite, self.option)

    def begin(self) -> None:
        """Call right before writing the first output (after ``check``): the pending card."""
        write_json(self.card, {"zooprep_command": self.command, PENDING_KEY: [_key(p, self.card) for p in self.outputs],
                               OUTPUTS_KEY: {}})

    def write_card(self, card: dict) -> dict:
        """Write the card last, with the checksum of every output (call after they are in place)."""
        if self.rerun_record is not None:
            card = {**card, rerun.RERUN_KEY: self.rerun_record}
        card = {**card, "zooprep_command": self.command,
                OUTPUTS_KEY: {_key(p, self.card): sha256_file(p) for p in self.outputs}}
        write_json(self.card, card)
        return card
