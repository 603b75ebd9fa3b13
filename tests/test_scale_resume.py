"""Kill-and-resume: `clean` and `shard` SIGKILLed part-way, rerun, end byte-identical to an
uninterrupted run (local vs Ray equality is in test_scale_ray.py, which owns the Ray runtime).

The kill is a real SIGKILL of the whole process group (driver and workers, like an OOM kill or a
lost machine). To kill at exact, reproducible points, a `sitecustomize` hook counts the run's
commit points (every os.replace / os.rename: spill files, markers, shards, metadata) and kills
the group just before the N-th one; one more test kills from outside at an arbitrary moment.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpusprep.verify import verify_dir

from conftest import REPO, cli, cli_command
sys.path.insert(0, str(REPO / "benchmarks"))
from make_big_corpus import write_corpus  # noqa: E402

HOOK = '''
import atexit, os, signal
_kill_at = int(os.environ.get("ZOOPREP_TEST_KILL_AT", "0"))
_count_file = os.environ.get("ZOOPREP_TEST_COUNT_FILE")
_n = 0
_real = {"replace": os.replace, "rename": os.rename}

def _commit(name):
    def wrapped(*args, **kwargs):
        global _n
        _n += 1
        if _n == _kill_at:
            os.killpg(os.getpgrp(), signal.SIGKILL)
        return _real[name](*args, **kwargs)
    return wrapped

if os.environ.get("ZOOPREP_TEST_HOOK") == "1":
    os.replace, os.rename = _commit("replace"), _commit("rename")
    if _count_file:
        atexit.register(lambda: open(_count_file, "w").write(str(_n)))
'''

VOLATILE_REPORT_KEYS = {"timings", "workers", "executor"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A small multi-file corpus, a char vocab covering it, and the sitecustomize hook."""
    root = tmp_path_factory.mktemp("resume")
    corpus = root / "corpus"
    write_corpus(corpus, 2_400_000, files=4, pool_size=8_000)  # ~3 clean packages at --unit-mb 1
    chars = sorted({ch for p in corpus.iterdir() for ch in p.read_text(encoding="utf-8") if not ch.isspace()})
    vocab = root / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]) + "\n", encoding="utf-8")
    hook = root / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    return {"root": root, "corpus": corpus, "vocab": vocab, "hook": hook}


def run_cli(env, args: list[str], kill_at: int = 0, count: Path | None = None, workers: int = 1,
            timeout: float = 120) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(env["hook"]), str(REPO), e.get("PYTHONPATH", "")])
    e["ZOOPREP_TEST_HOOK"] = "1"
    e["ZOOPREP_TEST_KILL_AT"] = str(kill_at)
    if count is not None:
        e["ZOOPREP_TEST_COUNT_FILE"] = str(count)
    # A new session: the hook's killpg takes the run and its workers, never pytest.
    return cli(*args, "--workers", str(workers), env=e, timeout=timeout, start_new_session=True)


def clean_args(env, out: Path, *extra: str) -> list[str]:
    return ["clean", str(env["corpus"]), "--format", "cluecorpussmall", "--num-shards", "3",
            "--valid-fraction", "0.1", "--unit-mb", "1", "--out", str(out), "--no-progress", *extra]


def shard_args(env, corpus: Path, out: Path, *extra: str) -> list[str]:
    return ["shard", str(corpus), "--vocab", str(env["vocab"]), "--seq-len", "64", "--processor", "mlm",
            "--unit-mb", "0.1", "--out", str(out), *extra]


def snapshot(out: Path) -> dict[str, bytes]:
    """Every output file's bytes; report.json without run-dependent fields. zooprep's own folder
    (.zooprep/: marker, lock, complete state with run ids and times) differs per run by design."""
    files = {}
    for p in sorted(out.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(out).as_posix()
        if rel.startswith(".zooprep/"):
            continue
        data = p.read_bytes()
        if rel == "report.json":
            obj = {k: v for k, v in json.loads(data).items() if k not in VOLATILE_REPORT_KEYS}
            data = json.dumps(obj, sort_keys=True).encode()
        files[rel] = data
    return files


@pytest.fixture(scope="module")
def clean_baseline(env):
    out = env["root"] / "clean-baseline"
    count = env["root"] / "clean-count"
    r = run_cli(env, clean_args(env, out), count=count)
    assert r.returncode == 0, r.stderr
    assert verify_dir(out).ok
    return {"out": out, "files": snapshot(out), "commits": int(count.read_text())}


@pytest.fixture(scope="module")
def shard_baseline(env, clean_baseline):
    out = env["root"] / "shard-baseline"
    count = env["root"] / "shard-count"
    r = run_cli(env, shard_args(env, clean_baseline["out"], out), count=count)
    assert r.returncode == 0, r.stderr
    assert verify_dir(out).ok
    return {"out": out, "files": snapshot(out), "commits": int(count.read_text())}


def assert_resumes_identically(env, args_for, baseline, kill_at: int, name: str, final_meta: str):
    out = env["root"] / name
    killed = run_cli(env, args_for(out), kill_at=kill_at)
    assert killed.returncode == -signal.SIGKILL, f"not killed at commit {kill_at}: {killed.stderr[-500:]}"
    assert not (out / ".zooprep" / "complete.json").exists()  # an interrupted run never looks complete
    resumed = run_cli(env, args_for(out))
    assert resumed.returncode == 0, resumed.stderr
    assert snapshot(out) == baseline["files"], f"resumed output differs (killed before commit {kill_at})"
    result = verify_dir(out)
    assert result.ok, result.lines()  # no stray temp files or work dirs left behind


@pytest.mark.parametrize("where", [0.3, 1.0])
def test_clean_killed_then_resumed_is_byte_identical(env, clean_baseline, where):
    n = clean_baseline["commits"]
    assert n >= 10, "the corpus should give the run many commit points"
    kill_at = max(1, round(n * where))
    assert_resumes_identically(env, lambda out: clean_args(env, out), clean_baseline, kill_at,
                               f"clean-killed-{kill_at}", "report.json")


@pytest.mark.parametrize("where", [0.5, 1.0])
def test_shard_killed_then_resumed_is_byte_identical(env, clean_baseline, shard_baseline, where):
    n = shard_baseline["commits"]
    assert n >= 5, "the corpus should give the run several commit points"
    kill_at = max(1, round(n * where))
    assert_resumes_identically(env, lambda out: shard_args(env, clean_baseline["out"], out), shard_baseline,
                               kill_at, f"shard-killed-{kill_at}", "zooprep.json")


def test_clean_killed_from_outside_with_two_workers(env, clean_baseline):
    """SIGKILL the process group as soon as the first unit is finished, at whatever moment that is."""
    out = env["root"] / "clean-external-kill"
    e = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    cmd = cli_command(*clean_args(env, out), "--workers", "2")
    proc = subprocess.Popen(cmd, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any((out / ".zooprep" / "work").rglob("done.json")):  # the first finished unit/package
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=60)
    if proc.returncode == 0:
        pytest.fail("the run finished before it could be killed; make the corpus larger")
    assert not (out / ".zooprep" / "complete.json").exists()
    r = cli(*clean_args(env, out), "--workers", "2", env=e, timeout=120)
    assert r.returncode == 0, r.stderr
    assert snapshot(out) == clean_baseline["files"]  # also: 2 workers == 1 worker
    assert verify_dir(out).ok
