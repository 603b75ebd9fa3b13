"""The one rerun rule of every writing command (README "Commands", docs/FORMATS.md section 6).

A finished output records, as plain data, what it was made from (``RERUN_KEY``):
``{"options": {"--opt": value, ...}, "inputs": {path: [bytes, mtime_ns], ...}}``; directory outputs
keep it in ``complete.json``, file outputs in their card. On a rerun onto a finished output:

* same options and inputs: nothing to do, :class:`AlreadyComplete` (the CLI prints "already
  complete" and exits 0);
* anything else: refused in one line naming the changed options or inputs, unless ``--overwrite``.

An unfinished output (a killed run) is not finished: the command resumes it as before. Options come
from the command line that is running (click's context: every option, by its flag, except the ones
that never change the output); a caller without one passes its config's fields instead.

A writing command adopts the rule in one place: ``OutputDir.open(..., overwrite=cfg.overwrite,
options=cli_options(cfg))`` for a directory, ``FileOutputs(..., overwrite=..., options=cli_options(cfg))``
(then ``check``, ``begin``, the outputs, ``write_card``) for files; ``AlreadyComplete`` reaches cli.main.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Iterable

from corpusprep.errors import ZooprepError
from corpusprep.outdir import layout
from corpusprep.outdir.layout import RERUN_KEY  # the record's key in complete.json and in a card
# options that choose where or how fast a run goes, never what it writes
NEUTRAL = frozenset({"--out", "--out-prefix", "--overwrite", "--workers", "--executor", "--ray-address",
                     "--progress", "--verbose", "--quiet", "--help"})
_MAX_NAMED = 4  # changed inputs named in the one-line refusal


class AlreadyComplete(ZooprepError):
    """The output is finished and was made by the same command, options and inputs: nothing to do."""

    def __init__(self, where, command: str):
        self.where, self.command = str(where), command
        super().__init__(f"{where}: already complete (same `zooprep {command}` options and inputs as the "
                         "finished output); nothing to do (pass --overwrite to rebuild it)")


def _jsonable(value):
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _click_context():
    """The running command's click context: typer >= 0.20 carries its own copy of click."""
    for name in ("typer._click.globals", "click.globals"):
        try:
            import importlib

            ctx = importlib.import_module(name).get_current_context(silent=True)
        except ImportError:
            continue
        if ctx is not None:
            return ctx
    return None


def cli_options(config=None, keep: Iterable[str] = ()) -> dict:
    """The running command's options by flag (``{"--seq-len": 128}``) and arguments by name
    (``{"CORPUS": [...]}``), without the neutral ones (but ``keep``: e.g. ``--workers`` where it
    changes the bytes). Without a click context: ``config``'s dataclass fields as flags."""
    neutral = NEUTRAL - set(keep)
    ctx = _click_context()
    if ctx is not None and ctx.command is not None:
        out = {}
        for p in ctx.command.params:
            if p.name not in ctx.params:
                continue
            if getattr(p, "param_type_name", "") == "argument":
                flag = p.name.upper()
            else:
                flag = max((o for o in p.opts if o.startswith("--")), key=len, default=p.opts[0])
            if flag not in neutral:
                out[flag] = ctx.params[p.name]
        return _jsonable(out)
    if config is not None and dataclasses.is_dataclass(config):
        out = {"--" + f.name.replace("_", "-"): getattr(config, f.name) for f in dataclasses.fields(config)}
        return _jsonable({k: v for k, v in out.items() if k not in neutral})
    return {}


def _files_under(path: Path) -> list[Path]:
    if path.is_dir():
        found = []
        for dirpath, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d != layout.META_DIR)  # zooprep's own folder changes (lock)
            found += [Path(dirpath) / n for n in sorted(names)]
        return found
    if path.exists():
        return [path]
    import glob

    return [Path(p) for p in sorted(glob.glob(str(path), recursive=True))]


def _url_state(url: str) -> dict:
    """``{url: [bytes, ETag]}`` of the objects under a URL (a prefix walked, or one object)."""
    from corpusprep import storage

    try:
        files = storage.list_files(url) if storage.isdir(url) else [url] if storage.exists(url) else []
        return {storage.display(f): [storage.info(f)["size"], storage.info(f)["etag"]] for f in files
                if not layout.is_meta_path(f[len(storage.absolute(url).rstrip("/")) + 1:])}
    except ZooprepError:
        return {}


def input_state(inputs: Iterable) -> dict:
    """``{path: [bytes, mtime_ns]}`` of every file the inputs name (folders walked, globs expanded);
    ``{url: [bytes, ETag]}`` of objects."""
    from corpusprep.storage import is_url

    state = {}
    for item in inputs:
        if item is None:
            continue
        if is_url(str(item)):
            state.update(_url_state(str(item)))
            continue
        for f in _files_under(Path(item)):
            try:
                st = f.stat()
            except OSError:
                continue
            state[os.path.abspath(f)] = [st.st_size, st.st_mtime_ns]
    return dict(sorted(state.items()))


def record(options: dict, inputs: Iterable) -> dict:
    """What a finished output stores under ``RERUN_KEY``."""
    from corpusprep.storage import scrub

    # option values as typed may hold credentials (s3://KEY:SECRET@...): recorded without them
    rec = {"options": _jsonable(options), "inputs": input_state(inputs)}
    return json.loads(scrub(json.dumps(rec, ensure_ascii=False)))


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def changes(recorded: dict | None, current: dict) -> str | None:
    """None when ``current`` equals ``recorded``; else what changed, for one line."""
    if not isinstance(recorded, dict):
        return "it was made by an earlier zooprep that recorded no options"
    old_o, new_o = recorded.get("options") or {}, current["options"]
    diff = [f"{k} {_short(old_o.get(k))} -> {_short(new_o.get(k))}"
            for k in sorted(set(old_o) | set(new_o)) if old_o.get(k) != new_o.get(k)]
    old_i, new_i = recorded.get("inputs") or {}, current["inputs"]
    named = ([f"{p} (new)" for p in new_i if p not in old_i] + [f"{p} (gone)" for p in old_i if p not in new_i]
             + [f"{p} (edited)" for p in new_i if p in old_i and list(old_i[p]) != list(new_i[p])])
    parts = []
    if diff:
        parts.append("options changed: " + ", ".join(diff))
    if named:
        more = f" and {len(named) - _MAX_NAMED} more" if len(named) > _MAX_NAMED else ""
        parts.append("inputs changed: " + ", ".join(named[:_MAX_NAMED]) + more)
    return "; ".join(parts) or None


def decide(where, command: str, recorded: dict | None, current: dict, overwrite: bool,
           option: str = "--out") -> None:
    """The rule on a finished output: raise AlreadyComplete (same), refuse (changed), or return
    (``overwrite``: the caller rebuilds)."""
    what = changes(recorded, current)
    if what is None:
        if overwrite:
            return
        raise AlreadyComplete(where, command)
    if not overwrite:
        raise ZooprepError(f"{where}: holds a finished `zooprep {command}` output, but {what}; pass --overwrite "
                           f"to replace it, or choose another {option}")
