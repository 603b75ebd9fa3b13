"""Re-check an output directory against the checksums its own metadata recorded.

`clean` writes `DIR/report.json` (a `shards` list with each shard's sha256), `shard` writes
`DIR/zooprep.json` (a `files` list with each Arrow file's sha256); see docs/FORMATS.md.
`verify_dir` names every recorded file that is missing or altered and every file that is there but
was never recorded (stray or half-written output), plus accounting that does not add up.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from corpusprep.atomic import sha256_file
from corpusprep.errors import InputError

CLEAN_META = "report.json"
SHARD_META = "zooprep.json"
# Files each kind of output legitimately holds besides the checksummed ones.
_ALLOWED = {
    "clean": {CLEAN_META},
    "shard": {SHARD_META, "dataset_info.json", "state.json"},
}
_ALLOWED_DIRS = {"clean": ("rejects/",), "shard": ()}
_PATH_KEYS = ("path", "file", "name", "filename")


@dataclass(frozen=True)
class Expected:
    """One file the metadata vouches for."""

    path: str  # relative to the output directory, '/'-separated
    sha256: str


@dataclass
class Altered:
    path: str
    expected: str
    actual: str


@dataclass
class VerifyResult:
    dir: str
    kind: str  # "clean" or "shard"
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    altered: list[Altered] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    inconsistent: list[str] = field(default_factory=list)  # metadata that contradicts itself

    @property
    def ok(self) -> bool:
        return not (self.missing or self.altered or self.unexpected or self.inconsistent)

    def to_json(self) -> dict:
        out = asdict(self)
        out["ok"] = self.ok
        return out

    def lines(self) -> list[str]:
        """Human-readable report, one finding per line."""
        out = [f"missing:    {p}" for p in self.missing]
        out += [f"altered:    {a.path} (sha256 {a.actual[:12]}…, recorded {a.expected[:12]}…)" for a in self.altered]
        out += [f"unexpected: {p}" for p in self.unexpected]
        out += [f"inconsistent: {msg}" for msg in self.inconsistent]
        status = "OK" if self.ok else "FAILED"
        out.append(f"{status}: {self.dir} ({self.kind} output): {self.checked} files checked, "
                   f"{len(self.missing)} missing, {len(self.altered)} altered, {len(self.unexpected)} unexpected"
                   + (f", {len(self.inconsistent)} inconsistent" if self.inconsistent else ""))
        return out


def _load_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            obj = json.load(fh)
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"not valid JSON ({exc.msg})", line=exc.lineno) from None
    except UnicodeDecodeError:
        raise InputError(str(path), "not UTF-8 text") from None
    if not isinstance(obj, dict):
        raise InputError(str(path), "expected a JSON object at top level")
    return obj


def _entry_path(entry: dict, meta: Path) -> str:
    for key in _PATH_KEYS:
        if isinstance(entry.get(key), str):
            return entry[key]
    raise InputError(str(meta), f"a checksum entry has no file name ({', '.join(_PATH_KEYS)}): {entry!r:.120}")


def _safe_relative(path: str, root: Path, meta: Path) -> str:
    """Normalise a recorded path to '/'-separated and relative; refuse paths leaving the directory."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.resolve().relative_to(root.resolve())
        except ValueError:
            raise InputError(str(meta), f"recorded file {path!r} lies outside {root}") from None
    rel = PurePosixPath(p.as_posix())
    if ".." in rel.parts:
        raise InputError(str(meta), f"recorded file {path!r} lies outside {root}")
    return rel.as_posix()


def expected_files(meta: Path, obj: dict, kind: str) -> list[Expected]:
    """The checksummed files a report.json (`shards`) or zooprep.json (`files`) lists."""
    key = "shards" if kind == "clean" else "files"
    entries = obj.get(key)
    if isinstance(entries, dict):  # tolerate {name: {sha256: ...}} as well as [{path, sha256}]
        entries = [{"path": name, **(val if isinstance(val, dict) else {"sha256": val})} for name, val in entries.items()]
    if not isinstance(entries, list):
        raise InputError(str(meta), f"no '{key}' list with checksums to verify against")
    out = []
    root = meta.parent
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise InputError(str(meta), f"a '{key}' entry has no sha256: {entry!r:.120}")
        out.append(Expected(_safe_relative(_entry_path(entry, meta), root, meta), entry["sha256"].lower()))
    return out


def accounting_problems(obj: dict) -> list[str]:
    """report.json promises read == kept + sum(dropped), overall and per input file."""
    problems = []

    def check(where: str, node: dict) -> None:
        read, kept, dropped = node.get("read"), node.get("kept"), node.get("dropped")
        if not (isinstance(read, int) and isinstance(kept, int) and isinstance(dropped, dict)):
            return
        total = kept + sum(v for v in dropped.values() if isinstance(v, int))
        if read != total:
            problems.append(f"{where}: read {read} != kept {kept} + dropped {total - kept}")

    check("report.json", obj)
    files = obj.get("files")
    items = files.items() if isinstance(files, dict) else enumerate(files or [])
    for key, node in items:
        if isinstance(node, dict):
            check(f"report.json files[{node.get('path', key)}]", node)
    return problems


def _present_files(root: Path) -> list[str]:
    out = []
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            out.append((Path(dirpath) / name).relative_to(root).as_posix())
    return sorted(out)


def detect_kind(root: Path) -> tuple[str, Path]:
    if not root.is_dir():
        raise InputError(str(root), "not a directory")
    if (root / SHARD_META).is_file():
        return "shard", root / SHARD_META
    if (root / CLEAN_META).is_file():
        return "clean", root / CLEAN_META
    raise InputError(str(root), f"no {CLEAN_META} (clean output) or {SHARD_META} (shard output) to verify against")


def verify_dir(root: str | os.PathLike, threads: int = 4) -> VerifyResult:
    """Check every recorded file's sha256 and list missing, altered and unexpected files."""
    root = Path(root)
    kind, meta = detect_kind(root)
    obj = _load_json(meta)
    expected = expected_files(meta, obj, kind)
    result = VerifyResult(dir=str(root), kind=kind)
    if kind == "clean":
        result.inconsistent = accounting_problems(obj)

    present, missing = [], []
    for e in expected:
        (present if (root / e.path).is_file() else missing).append(e)
    result.missing = sorted(e.path for e in missing)
    # Hashing is I/O bound and hashlib drops the GIL on large buffers: threads overlap reads.
    with ThreadPoolExecutor(max(1, threads)) as pool:
        digests = list(pool.map(lambda e: sha256_file(root / e.path), present))
    result.checked = len(present)
    result.altered = [Altered(e.path, e.sha256, d) for e, d in zip(present, digests) if d != e.sha256]

    known = {e.path for e in expected} | _ALLOWED[kind]
    result.unexpected = [p for p in _present_files(root)
                         if p not in known and not p.startswith(_ALLOWED_DIRS[kind])]
    return result
