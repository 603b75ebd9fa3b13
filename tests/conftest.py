"""Shared fixtures: where the reference material and corpus samples live (read, never copied),
real `shard` outputs built once per session, Hypothesis profiles, and the end-of-run skip summary."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ZOOPREP_SHARED", REPO.parent / "shared"))
DEMO = REPO / "demo"
SHARED_SKIP = "the shared reference material (../shared) is not laid beside this checkout"

# The view index cache (corpusprep/feed/views.py) goes to a folder of this test session, not the
# user's ~/.cache; CLI subprocesses inherit it.
if "ZOOPREP_CACHE" not in os.environ:
    import tempfile

    os.environ["ZOOPREP_CACHE"] = tempfile.mkdtemp(prefix="zooprep-test-cache-")

# ------------------------------------------------------------------------------- Hypothesis
# Derandomised by default (CI and local runs give the same examples, so a red run reproduces);
# HYPOTHESIS_PROFILE=long searches more examples with fresh randomness, locally.
try:
    from hypothesis import HealthCheck, settings

    settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("long", max_examples=2000, deadline=None, derandomize=False,  # CI=true: not inherited
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # the test extra is not installed: tests that need hypothesis fail on import
    pass


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: {SHARED_SKIP}")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return _need(SHARED)


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    return _need(SHARED / "corpora")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return _need(SHARED / "reference")


@pytest.fixture(scope="session")
def google_vocab() -> Path:
    return _need(SHARED / "reference" / "vocab" / "google_zh_vocab.txt")


@pytest.fixture(scope="session")
def clue_spm() -> Path:
    return _need(SHARED / "reference" / "vocab" / "cluecorpussmall_spm.model")


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return _need(DEMO)


# ------------------------------------------------------------------------------- object storage
@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto) on 127.0.0.1 for the whole session, stopped at the end.
    Tests that use it get the standard AWS environment (AWS_ENDPOINT_URL, keys) via ``s3_env``."""
    try:
        import moto.server  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the S3 test server needs the test extra (moto[server], s3fs): {exc}")
    from s3_server import start_server

    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    """The S3 server's AWS environment in this process (and every CLI subprocess it starts), and a
    fresh bucket: yields (server, bucket)."""
    for k, v in s3_server.env.items():
        monkeypatch.setenv(k, v)
    from corpusprep import storage

    storage.configure(None)  # drop cached filesystems built under another environment
    yield s3_server, s3_server.new_bucket()
    storage.configure(None)


# ------------------------------------------------------------------------------- the CLI
def cli_command(*args) -> list[str]:
    """The argv of `python cli.py ARGS` (for tests that start it themselves: Popen, output to files)."""
    return [sys.executable, str(REPO / "cli.py"), *map(str, args)]


def cli(*args, cwd: Path | str = REPO, timeout: float = 600, text: bool = True, **kw) -> subprocess.CompletedProcess:
    """`python cli.py ARGS`, run from the repo root unless ``cwd`` says otherwise, output captured (as text
    with undecodable bytes replaced, unless ``text=False``); ``kw`` goes to subprocess.run (env, input...)."""
    if text:
        kw.setdefault("errors", "replace")
    return subprocess.run(cli_command(*args), cwd=cwd, capture_output=True, text=text, timeout=timeout, **kw)


def run_cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """`python cli.py ARGS` from the repo root; the test fails with the command's stderr if it fails."""
    done = cli(*args, timeout=timeout)
    assert done.returncode == 0, f"cli.py {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done


# ------------------------------------------------------------------------------- real shards


DEMO_DOCS = DEMO / "cluecorpussmall" / "clue_sampled.txt"  # one document per line (mlm, lm)
DEMO_PAIRS = DEMO / "cluecorpussmall" / "clue_bert_sampled.txt"  # sentence per line, blank between docs


class RealShards:
    """`zooprep shard` outputs of the demo CLUECorpusSmall sample, built on first use and kept for the
    session: ``real_shards("bert", "--whole-word")`` is the output directory of that command.

    The vocabulary is built from the same sample by `zooprep build-vocab` (no ../shared needed)."""

    def __init__(self, root: Path):
        self.root = root
        self._built: dict[tuple, Path] = {}
        self._vocab: Path | None = None

    @property
    def vocab(self) -> Path:
        if self._vocab is None:
            out = self.root / "vocab.txt"
            run_cli("build-vocab", str(DEMO_DOCS), str(DEMO_PAIRS), "--out", str(out))
            self._vocab = out
        return self._vocab

    def __call__(self, processor: str, *flags: str, seq_len: int = 64) -> Path:
        key = (processor, seq_len, *flags)
        if key not in self._built:
            out = self.root / ("-".join([processor, str(seq_len), *(f.strip("-") for f in flags)]))
            corpus = DEMO_PAIRS if processor in ("bert", "albert") else DEMO_DOCS
            run_cli("shard", str(corpus), "--out", str(out), "--processor", processor, "--seq-len", str(seq_len),
                    "--vocab", str(self.vocab), "--workers", "1", *flags)
            self._built[key] = out
        return self._built[key]


@pytest.fixture(scope="session")
def real_shards(tmp_path_factory) -> RealShards:
    for corpus in (DEMO_DOCS, DEMO_PAIRS):
        if not corpus.is_file():
            pytest.skip(f"{corpus} is absent (the demo corpus ships with the repo)")
    return RealShards(tmp_path_factory.mktemp("real-shards"))


def shard_columns(directory: Path) -> dict:
    """A shard's columns as numpy, read by `datasets.load_from_disk` (the format's own reader, not
    ours): the reference the feed and export tests compare against."""
    import datasets
    import numpy as np

    ds = datasets.load_from_disk(str(directory)).with_format("numpy")
    out = {}
    for name in ds.column_names:
        col = ds[name]
        if name in ("masked_positions", "masked_labels", "word_starts", "target_ids"):
            out[name] = [np.asarray(x, dtype=np.int64) for x in col]
        elif name == "input_ids" and "length" not in ds.column_names:  # format 2: unpadded rows
            meta = json.loads((Path(directory) / "zooprep.json").read_text(encoding="utf-8"))
            rows = [np.asarray(x, dtype=np.int64) for x in col]
            out["length"] = np.array([len(r) for r in rows], dtype=np.int64)
            out[name] = np.full((len(rows), meta["row_len"]), meta["special_ids"]["pad"], dtype=np.int64)
            for i, r in enumerate(rows):
                out[name][i, :len(r)] = r
        else:
            out[name] = np.asarray(col).astype(np.int64)
    return out


# ------------------------------------------------------------------------------- skip summary
_skips: Counter = Counter()


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr)
    return reason.removeprefix("Skipped: ")


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        _skips[_skip_reason(report)] += 1


def pytest_collectreport(report):
    if report.skipped:  # a whole module skipped at import (pytest.importorskip, allow_module_level)
        _skips[_skip_reason(report)] += 1


def _needs_shared(reason: str) -> bool:
    return SHARED_SKIP in reason or str(SHARED) in reason


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    total = sum(_skips.values())
    tr = terminalreporter
    tr.section("skipped tests by reason", sep="-")
    if not total:
        tr.write_line("0 tests skipped")
        return
    tr.write_line(f"{total} tests skipped:")
    for reason, n in _skips.most_common():
        tr.write_line(f"  {n:4d}  {reason[:200]}")
    shared = sum(n for r, n in _skips.items() if _needs_shared(r))
    if shared:
        where = "present" if SHARED.exists() else "absent"
        tr.write_line(f"{shared} of them need {SHARED} ({where})")
        if SHARED.exists():
            tr.write_line(f"FAIL: {SHARED} is present, yet tests that need it skipped (a file they need is missing)",
                          red=True, bold=True)


def pytest_sessionfinish(session, exitstatus):
    if SHARED.exists() and any(_needs_shared(r) for r in _skips) and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
