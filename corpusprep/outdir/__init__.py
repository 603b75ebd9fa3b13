"""Output directories and files: who owns them, when they are complete, what a rerun may reuse.

One place for every command (docs/FORMATS.md section 6):

* ``ownership``: the marker ``DIR/.zooprep/owner.json`` (written first), the OS lock, the checks
  that an output never is, contains or lies inside an input;
* ``complete``: the staged build, the swap into place and ``DIR/.zooprep/complete.json`` (written
  last), and the check every reading command makes;
* ``done``: per-unit done-markers that a rerun trusts only while checksums and input identity hold;
* ``fileout``: the rule for single-file outputs (build-vocab, build-spm, export).

Imports nothing above the core (errors, atomic).
"""
from corpusprep.outdir.complete import (COMPLETE, read_complete, require_complete, require_complete_input,
                                        require_recorded)
from corpusprep.outdir.done import input_identity, read_done, unit_identity, write_done
from corpusprep.outdir.fileout import FileOutputs
from corpusprep.outdir.layout import META_DIR, is_meta_path
from corpusprep.outdir.ownership import OutputDir, check_outside_inputs, read_owner

__all__ = ["COMPLETE", "META_DIR", "FileOutputs", "OutputDir", "check_outside_inputs", "input_identity",
           "is_meta_path", "read_complete", "read_done", "read_owner", "require_complete",
           "require_complete_input", "require_recorded", "unit_identity", "write_done"]
