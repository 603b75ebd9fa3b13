"""Re-check an output directory against the checksums recorded for it.

Every zooprep output directory ends with `DIR/.zooprep/complete.json` (docs/FORMATS.md section 6):
the sha256 of *every* file the run wrote, metadata included (report.json and rejects/ of `clean`;
zooprep.json, state.json and dataset_info.json of `shard`), protected by its own checksum. Besides,
`clean` writes `report.json` (a `shards` list with each shard's sha256) and `shard` writes
`zooprep.json` (a `files` list with each Arrow file's sha256); those tables must agree with
complete.json, and are all there is to check in a directory without one (older or hand-made).
`verify_dir` names every recorded file that is missing or altered, every file that is there but
was never recorded (stray or half-written output), metadata of the wrong type or that contradicts
itself, and accounting that does not add up.
"""
from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from corpusprep.atomic import sha256_file
from corpusprep.errors import InputError
from corpusprep.outdir import COMPLETE, META_DIR, is_meta_path, read_complete, read_owner
from corpusprep.outdir.layout import JOURNAL, LOCK, OWNER, WORK

CLEAN_META = "report.json"
SHARD_META = "zooprep.json"
# Files each kind of output legitimately holds besides the checksummed ones.
_ALLOWED = {
    "clean": {CLEAN_META, "README.md"},
    "shard": {SHARD_META, "dataset_info.json", "state.json", "README.md"},
}
_ALLOWED_DIRS = {"clean": ("rejects/",), "shard": ()}
# zooprep's own files, present in every finished output directory (checked through complete.json).
_META_FILES = {f"{META_DIR}/{name}" for name in (OWNER, LOCK, COMPLETE, JOURNAL)}
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
    notes: list[str] = field(default_factory=list)  # facts that do not make the output wrong

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
        out += [f"note:       {msg}" for msg in self.notes]
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
        out.append(Expected(_safe_relative(_entry_path(entry, meta), root, meta), entry["sha256"].strip().lower()))
    return out


def _is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def report_type_problems(obj: dict) -> list[str]:
    """report.json fields of the wrong type (each would silently skip the accounting check)."""
    problems = []

    def node(where: str, n) -> None:
        if not isinstance(n, dict):
            problems.append(f"{where}: expected an object, found {type(n).__name__}")
            return
        for key in ("read", "kept"):
            if not _is_count(n.get(key)):
                problems.append(f"{where}: '{key}' must be a count, found {n.get(key)!r:.60}")
        dropped = n.get("dropped")
        if not isinstance(dropped, dict):
            problems.append(f"{where}: 'dropped' must be an object of reason -> count, found {type(dropped).__name__}")
        else:
            for reason, count in dropped.items():
                if not _is_count(count):
                    problems.append(f"{where}: dropped[{reason}] must be a count, found {count!r:.60}")

    node("report.json", obj)
    files = obj.get("files")
    if isinstance(files, dict):
        for key, n in files.items():
            node(f"report.json files[{key}]", n)
    elif isinstance(files, list):
        for i, n in enumerate(files):
            node(f"report.json files[{n.get('path', i) if isinstance(n, dict) else i}]", n)
    else:
        problems.append(f"report.json: 'files' must be an object of input file -> counts, found {type(files).__name__}")
    return problems


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


def shard_state_problems(root: Path, obj: dict) -> list[str]:
    """state.json must list exactly the data files zooprep.json lists, in the same order."""
    try:
        state = json.loads((root / "state.json").read_text(encoding="utf-8"))
        listed = [f["filename"] for f in state["_data_files"]]
    except FileNotFoundError:
        return []  # named as missing when complete.json records it
    except (OSError, ValueError, KeyError, TypeError):
        return ["state.json: not the datasets state of a shard directory (no _data_files list)"]
    files = [f.get("path") if isinstance(f, dict) else f for f in obj.get("files") or []]
    if listed != files:
        return [f"state.json lists {len(listed)} data file(s) {listed[:3]}, zooprep.json {len(files)} {files[:3]}"]
    return []


def _complete_table(root: Path, result: "VerifyResult") -> list[Expected] | None:
    """Every file complete.json records; None when the directory has no complete state."""
    if read_owner(root) is None:
        return None
    done = read_complete(root)
    if done is None:
        if (root / META_DIR / COMPLETE).exists():
            result.inconsistent.append(f"{META_DIR}/{COMPLETE}: damaged (its own checksum does not match)")
        else:
            result.inconsistent.append(f"incomplete: no {META_DIR}/{COMPLETE} (the run was interrupted or is still "
                                       f"running); rerun the same `zooprep {read_owner(root).get('command')}` command to resume")
        return None
    return [Expected(_safe_relative(rel, root, root / META_DIR / COMPLETE), str(f.get("sha256", "")).strip().lower())
            for rel, f in sorted(done["files"].items())]


def detect_kind(root: Path) -> tuple[str, Path]:
    if not root.is_dir():
        raise InputError(str(root), "not a directory")
    if (root / SHARD_META).is_file():
        return "shard", root / SHARD_META
    if (root / CLEAN_META).is_file():
        return "clean", root / CLEAN_META
    raise InputError(str(root), f"no {CLEAN_META} (clean output) or {SHARD_META} (shard output) to verify against")


def verify_dir(root: str | os.PathLike, threads: int = 4) -> VerifyResult:
    """Check every recorded file's sha256 and list missing, altered, unexpected and inconsistent ones."""
    from corpusprep.storage import is_url

    if is_url(str(root)):
        return verify_url(str(root), threads)
    root = Path(root)
    if not root.is_dir():
        raise InputError(str(root), "not a directory")
    probe = VerifyResult(dir=str(root), kind="?")
    complete = _complete_table(root, probe)
    owner = read_owner(root)
    if complete is None and owner is not None and not any((root / m).is_file() for m in (CLEAN_META, SHARD_META)):
        probe.kind = owner["command"]  # unfinished: nothing to check the files against yet
        return probe
    kind, meta = detect_kind(root)
    obj = _load_json(meta)
    tables = expected_files(meta, obj, kind)
    result = VerifyResult(dir=str(root), kind=kind, inconsistent=probe.inconsistent)
    if kind == "clean":
        types = report_type_problems(obj)
        result.inconsistent += types or accounting_problems(obj)
    else:
        result.inconsistent += shard_state_problems(root, obj)

    expected = complete if complete is not None else tables
    if complete is not None:  # the metadata's own table must agree with the complete state
        recorded = {e.path: e.sha256 for e in complete}
        for e in tables:
            if e.path not in recorded:
                result.inconsistent.append(f"{meta.name} lists {e.path}, which {META_DIR}/{COMPLETE} does not record")
            elif recorded[e.path] != e.sha256:
                result.inconsistent.append(f"{meta.name} records another sha256 for {e.path} than {META_DIR}/{COMPLETE}")

    present, missing = [], []
    for e in expected:
        (present if (root / e.path).is_file() else missing).append(e)
    result.missing = sorted(e.path for e in missing)
    # Hashing is I/O bound and hashlib drops the GIL on large buffers: threads overlap reads.
    with ThreadPoolExecutor(max(1, threads)) as pool:
        digests = list(pool.map(lambda e: sha256_file(root / e.path), present))
    result.checked = len(present)
    result.altered = [Altered(e.path, e.sha256, d) for e, d in zip(present, digests) if d != e.sha256]

    known = {e.path for e in expected}
    if complete is not None:
        allowed = lambda p: p in known or p in _META_FILES  # noqa: E731
    else:
        known |= _ALLOWED[kind]
        allowed = lambda p: p in known or p.startswith(_ALLOWED_DIRS[kind]) or (  # noqa: E731
            is_meta_path(p) and p in _META_FILES)
    work = f"{META_DIR}/{WORK}/"
    present_files = _present_files(root)
    if any(p.startswith(work) for p in present_files):
        result.notes.append(f"{work} holds the work area of a later run that has not finished (interrupted or "
                            "still running); the complete output above is unaffected until that run ends")
    result.unexpected = [p for p in present_files if not allowed(p) and not p.startswith(work)]
    return result


# -- an output on object storage ------------------------------------------------------------------
def verify_url(target: str, threads: int = 4):
    """``verify`` for a URL: every object complete.json lists is re-hashed by streaming it."""
    from corpusprep import storage
    from corpusprep.outdir import layout
    from corpusprep.outdir.remote import _head, _meta, _read_json, listing, read_remote_complete

    target = str(target).rstrip("/")
    url = storage.display(storage.absolute(target))
    owner = _read_json(_meta(target, layout.OWNER))
    if owner is None:
        raise InputError(url, f"no {layout.META_DIR}/{layout.OWNER}: not a zooprep output on object storage")
    result = VerifyResult(dir=url, kind=str(owner.get("command")))
    done = read_remote_complete(target)
    if done is None:
        present = _head(_meta(target, layout.COMPLETE)) is not None
        result.inconsistent.append(f"{layout.META_DIR}/{layout.COMPLETE}: damaged (its own checksum does not match)"
                                   if present else f"incomplete: no {layout.META_DIR}/{layout.COMPLETE} (the run was "
                                   f"interrupted or is still running); rerun the same `zooprep {owner.get('command')}` "
                                   "command to resume")
        return result
    result.kind = done.get("command", result.kind)
    present = listing(target)
    expected = sorted(done["files"].items())
    there = [(rel, f) for rel, f in expected if rel in present]
    result.missing = [rel for rel, _ in expected if rel not in present]
    with ThreadPoolExecutor(max(1, threads)) as pool:
        digests = list(pool.map(lambda rf: storage.sha256(storage.join(target, rf[0])), there))
    result.checked = len(there)
    result.altered = [Altered(rel, f["sha256"], d) for (rel, f), d in zip(there, digests) if d != f["sha256"]]
    result.unexpected = sorted(r for r in present if r not in done["files"] and not layout.is_meta_path(r))
    result.inconsistent += _metadata_problems(target, done)
    return result


def _metadata_problems(target: str, done: dict) -> list[str]:
    """The local checks of the metadata tables (zooprep.json / report.json agree with complete.json, ...),
    run on a temporary copy of the output's top-level JSON files."""
    import tempfile

    from corpusprep import storage
    from corpusprep.errors import ZooprepError
    from corpusprep.outdir import layout

    v = sys.modules[__name__]
    with tempfile.TemporaryDirectory(prefix="zooprep-verify-") as tmp:
        root = Path(tmp)
        for rel in done["files"]:
            if "/" not in rel and rel.endswith(".json"):
                try:
                    (root / rel).write_bytes(storage.read_bytes(storage.join(target, rel)))
                except ZooprepError:
                    pass  # named as missing already
        try:
            kind, meta = v.detect_kind(root)
        except InputError as exc:
            return [str(exc).replace(str(root), storage.display(target))]
        try:
            obj = v._load_json(meta)
            tables = v.expected_files(meta, obj, kind)
        except InputError as exc:
            return [str(exc).replace(str(root), storage.display(target))]
        problems = (v.report_type_problems(obj) or v.accounting_problems(obj)) if kind == "clean" \
            else v.shard_state_problems(root, obj)
        recorded = {rel: str(f.get("sha256", "")).lower() for rel, f in done["files"].items()}
        for e in tables:
            if e.path not in recorded:
                problems.append(f"{meta.name} lists {e.path}, which {layout.META_DIR}/{layout.COMPLETE} does not record")
            elif recorded[e.path] != e.sha256:
                problems.append(f"{meta.name} records another sha256 for {e.path} than {layout.META_DIR}/{layout.COMPLETE}")
        return problems
