"""File outputs (vocab, spm model + vocab, export, reports, logs, configs, pages, checkpoints): one owner.

Rule (docs/FORMATS.md section 6): a JSON *card* beside the outputs lists each one with its sha256
under ``zooprep_outputs``. An existing file at an output path is replaced only when such a card of
the same command names it with the checksum the file still has, i.e. zooprep wrote it and nobody
changed it since. Any other existing file is refused; no output may be, or lie inside, an input
(symlinks resolved), lie inside any zooprep output directory (whose files belong to the command that
wrote it), or be named twice in one run (``--out v --report v`` would lose one of them).

The outputs and the card are one unit. Every file is first written to a staged temporary sibling
(``stage``); ``commit`` then records the staged set in ``.CARD.commit`` (the roll-forward record),
renames the outputs into place and the card last, and removes the record. A run killed during the
renames is finished by the next run on the same outputs (``check`` rolls the record forward); a run
that failed before (disk full, a bad option, a kill while staging) leaves the previous set whole and
its staged files are removed, by itself or by the next run. The record file is also the lock: two
runs on the same outputs at once are refused.

With ``rerun_options`` (flag -> value, ``rerun.cli_options``) the rerun rule (``outdir.rerun``) applies
to a finished set: same options and inputs raise ``AlreadyComplete``, changed ones are refused unless
``overwrite``; the card records them under ``rerun``.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import IO, Iterable, Iterator

from corpusprep.atomic import json_bytes, sha256_file, tmp_name
from corpusprep.errors import ZooprepError
from corpusprep.outdir import rerun
from corpusprep.outdir.ownership import check_outside_inputs, read_owner

OUTPUTS_KEY = "zooprep_outputs"


def _key(path: Path, card: Path) -> str:
    return os.path.relpath(os.path.abspath(path), os.path.dirname(os.path.abspath(card)))


def _real(path) -> str:
    return os.path.realpath(os.path.abspath(os.fspath(path)))


def card_beside(path, option: str = "--out") -> Path:
    """The card of a single-file output: ``PATH.card.json``."""
    path = Path(path)
    if path.name in ("", ".", "..") or str(path).endswith(os.sep):
        raise ZooprepError(f"{option} must name a file, not {str(path)!r}")
    return path.with_name(path.name + ".card.json")


def record_path(card: Path) -> Path:
    """The roll-forward record (and lock) of the unit whose card is ``card``."""
    card = Path(card)
    return card.with_name(f".{card.name}.commit")


def refuse_shared_paths(named: Iterable[tuple[object, str]]) -> None:
    """Refuse one path given to two outputs of a run (symlinks resolved): the second would replace the first."""
    seen: dict[str, str] = {}
    for path, option in named:
        if path is None or str(path) == "":
            continue
        real = _real(path)
        if real in seen:
            raise ZooprepError(f"{path}: given to both {seen[real]} and {option}; one run writes each file once, "
                               "choose another path for one of them")
        seen[real] = option


class FileOutputs:
    """The files one command writes and their card, committed as one unit (see the module docstring).

    ``options``: the option naming each output (for messages), default ``option`` for all.
    Use as a context manager: leaving with an exception removes what was staged.
    """

    def __init__(self, command: str, outputs: Iterable[Path], card: Path, inputs: Iterable = (),
                 option: str = "--out", options: Iterable[str] | None = None, *, overwrite: bool = False,
                 rerun_options: dict | None = None, rerun_inputs: Iterable | None = None):
        self.command, self.card, self.option = command, Path(card), option
        self.outputs = [Path(p) for p in outputs]
        self.options = list(options) if options is not None else [option] * len(self.outputs)
        self.inputs = [i for i in inputs if i is not None]
        self.overwrite, self.rerun_options = overwrite, rerun_options
        # what the rerun rule compares (default: the inputs); a remote input read through its local
        # cache is compared by its URL, and no cache path is recorded
        self.rerun_inputs = list(rerun_inputs) if rerun_inputs is not None else None
        self.rerun_record: dict | None = None
        self._fd: int | None = None
        self._staged: dict[Path, Path] = {}

    # -- ownership checks --------------------------------------------------------------------------
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
        """Before any work: refuse inputs as outputs and existing files zooprep did not write.

        Takes the unit's lock and finishes (or discards) what a killed run left first.
        """
        card_label = self.option if self.option not in self.options else f"{self.option} (its card)"
        refuse_shared_paths([*zip(self.outputs, self.options), (self.card, card_label)])
        for path, option in [*zip(self.outputs, self.options), (self.card, self.option)]:
            if str(path) in ("", "."):
                raise ZooprepError(f"{option} must name a file, not {str(path)!r}")
            check_outside_inputs(path, self.inputs, option)
            if path.is_dir():
                raise ZooprepError(f"{path}: {option} is a directory; name a file")
            for folder in Path(_real(path)).parents:
                owner = read_owner(folder)
                if owner is not None:
                    raise ZooprepError(f"{path}: {option} lies inside the `zooprep {owner['command']}` output "
                                       f"{folder}; choose a path outside it")
        self._lock()
        try:
            self._recover()
            self._check_owned()
        except BaseException:
            self._release()
            raise

    def _check_owned(self) -> None:
        recorded = self._recorded()
        if (self.card.exists() or self.card.is_symlink()) and recorded is None:
            raise ZooprepError(f"{self.card}: exists and is not a `zooprep {self.command}` card; move it away or "
                               f"choose another {self.option}")
        for path, option in zip(self.outputs, self.options):
            if not (path.exists() or path.is_symlink()):
                continue
            sha = (recorded or {}).get(_key(path, self.card))
            if sha is None:
                raise ZooprepError(f"{path}: exists and was not written by `zooprep {self.command}` (no card "
                                   f"{self.card} naming it); move it away or choose another {option}")
            if path.is_symlink() or not path.is_file() or sha256_file(path) != sha:
                raise ZooprepError(f"{path}: changed since `zooprep {self.command}` wrote it; move it away or "
                                   f"choose another {option}")
        if self.rerun_options is None:
            return
        self.rerun_record = rerun.record(self.rerun_options,
                                         self.inputs if self.rerun_inputs is None else self.rerun_inputs)
        if recorded is not None and all(p.exists() for p in self.outputs):  # a finished set
            rerun.decide(self.outputs[0], self.command, (self._card() or {}).get(rerun.RERUN_KEY), self.rerun_record,
                         self.overwrite, self.option)

    # -- the lock and the roll-forward record ------------------------------------------------------
    @property
    def record(self) -> Path:
        return record_path(self.card)

    def _lock(self) -> None:
        import fcntl

        if self._fd is not None:
            return
        self.card.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(20):  # the file may be removed by the holder between our open and our lock
            fd = os.open(self.record, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise ZooprepError(f"{self.card}: another zooprep run is writing these outputs; wait for it to "
                                   "end, then rerun") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.record).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return
            os.close(fd)
        raise ZooprepError(f"{self.record}: could not be locked; rerun")

    def _read_record(self) -> dict | None:
        try:
            data = os.pread(self._fd, 1 << 24, 0)
            obj = json.loads(data.decode("utf-8")) if data else None
        except (OSError, ValueError):
            return None
        return obj if isinstance(obj, dict) and isinstance(obj.get("files"), list) else None

    def _write_record(self, obj: dict) -> None:
        data = json_bytes(obj, None)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)
        os.fsync(self._fd)

    def _release(self, remove: bool = True) -> None:
        if self._fd is None:
            return
        if remove:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
                self.record.unlink()
        os.close(self._fd)
        self._fd = None

    def _recover(self) -> None:
        """Finish the renames of a killed commit ("ready"), or remove a killed run's staged files."""
        rec = self._read_record()
        if rec is None:
            return
        entries = [(Path(e["path"]), Path(e["staged"]), e.get("sha256")) for e in rec["files"]
                   if isinstance(e, dict) and isinstance(e.get("path"), str) and isinstance(e.get("staged"), str)]
        mine = {_real(p) for p in [*self.outputs, self.card]}
        entries = [e for e in entries if _real(e[0]) in mine and e[1].parent == e[0].parent]  # ours only
        if rec.get("state") == "ready":
            for final, staged, sha in entries:
                if staged.is_file() and sha256_file(staged) == sha:
                    os.replace(staged, final)
                elif not (final.is_file() and sha256_file(final) == sha):
                    break  # cannot be finished: the previous files stay and the checks judge them
        for _, staged, _ in entries:
            with contextlib.suppress(FileNotFoundError):
                staged.unlink()
        self._write_record({"state": "idle", "files": []})

    # -- staging and the commit --------------------------------------------------------------------
    def stage(self, out) -> Path:
        """The temporary path ``out`` is written to before ``commit`` (recorded so a rerun can remove it)."""
        out = Path(out)
        if out not in self.outputs:
            raise ValueError(f"{out} is not an output of this unit")
        if self._fd is None:
            self.check()
        if out not in self._staged:
            self._staged[out] = tmp_name(out)
            self._write_record({"state": "staging", "files": [{"path": str(p), "staged": str(t)}
                                                               for p, t in self._staged.items()]})
        return self._staged[out]

    def is_staged(self, out) -> bool:
        """True while ``out`` has a staged file that ``commit`` would put in place."""
        t = self._staged.get(Path(out))
        return t is not None and t.is_file()

    @contextlib.contextmanager
    def open(self, out, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
        """Write the staged file of ``out``."""
        with open(self.stage(out), mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())

    def commit(self, card: dict) -> dict:
        """Put every staged output and the card (with each output's sha256) in place as one unit."""
        missing = [str(p) for p in self.outputs if p not in self._staged or not self._staged[p].is_file()]
        if missing:
            raise ZooprepError(f"{missing[0]}: output was not written; nothing was replaced")
        for t in self._staged.values():  # on disk before the record may roll them forward
            with open(t, "rb+") as fh:
                os.fsync(fh.fileno())
        sums = {p: sha256_file(t) for p, t in self._staged.items()}
        if self.rerun_record is not None:
            card = {**card, rerun.RERUN_KEY: self.rerun_record}
        card = {**card, "zooprep_command": self.command,
                OUTPUTS_KEY: {_key(p, self.card): sums[p] for p in self.outputs}}
        card_tmp = tmp_name(self.card)
        self._staged[self.card] = card_tmp
        data = json_bytes(card)
        self._write_record({"state": "staging", "files": [{"path": str(p), "staged": str(t)}
                                                           for p, t in self._staged.items()]})
        with open(card_tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        import hashlib

        sums[self.card] = hashlib.sha256(data).hexdigest()
        order = [*self.outputs, self.card]  # the card last: it says the set is complete
        self._write_record({"state": "ready", "files": [{"path": str(p), "staged": str(self._staged[p]),
                                                         "sha256": sums[p]} for p in order]})
        try:
            for p in order:
                os.replace(self._staged[p], p)
        except BaseException:  # past the record the set only rolls forward: the next run finishes it
            self._staged.clear()
            self._release(remove=False)
            raise
        with contextlib.suppress(OSError):
            fd = os.open(self.card.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        self._staged.clear()
        self._release()
        return card

    def abort(self) -> None:
        """Remove what was staged; the previous outputs stay as they were."""
        for t in self._staged.values():
            with contextlib.suppress(FileNotFoundError):
                t.unlink()
        self._staged.clear()
        self._release()

    def close(self) -> None:
        self.abort()

    def __enter__(self) -> "FileOutputs":
        return self

    def __exit__(self, *exc) -> None:
        self.abort()  # after a commit there is nothing staged: only the lock is released


def single_output(command: str, path, inputs: Iterable = (), option: str = "--out") -> FileOutputs:
    """A one-file output with its card ``PATH.card.json`` (reports, logs, configs, pages, checkpoints)."""
    return FileOutputs(command, [Path(path)], card_beside(path, option), inputs, option)
