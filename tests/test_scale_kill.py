"""Killing a run never leaves processes behind, and the rerun ends byte-identical to an uninterrupted run.

`clean`, `build-vocab`, `build-spm` and `shard` on the demo corpus with 2 local workers; the PARENT
alone gets SIGKILL (like an OOM kill: its workers must notice and die on their own) or SIGTERM
(it stops its workers and exits 143). Kill points are reproducible: a `sitecustomize` hook in the
parent counts its events (each unit result it collects, each file it commits by os.replace /
os.rename) and signals itself at the N-th; N comes from a seeded RNG over the events of an
uninterrupted run (one point per command and signal always falls while units run). Our processes are found by a marker in their environment (unique per run), never
by name. The same checks run on a two-node Ray cluster in test_scale_ray.py.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from corpusprep.verify import verify_dir

from conftest import REPO, cli_command
DEMO = REPO / "demo"
MARKER = "ZOOPREP_TEST_RUN"
GRACE_S = 5.0

HOOK = '''
import atexit, json, os
if os.environ.get("ZOOPREP_KILL_HOOK") == "1" and "ZOOPREP_KILL_HOOK_PID" not in os.environ:
    os.environ["ZOOPREP_KILL_HOOK_PID"] = str(os.getpid())  # inherited: workers stay passive
    _kind, _, _at = os.environ.get("ZOOPREP_KILL_AT", "event:0").partition(":")
    _sig = int(os.environ.get("ZOOPREP_KILL_SIG", "9"))
    _counts = {"event": 0, "unit": 0}
    _fired = []

    def _event(kind):
        _counts["event"] += 1
        if kind == "unit":
            _counts["unit"] += 1
        if (_kind == "event" or kind == _kind) and _counts[_kind] == int(_at) and not _fired:
            _fired.append(1)
            os.kill(os.getpid(), _sig)

    def _counted(fn):
        def wrapped(*args, **kwargs):
            _event("commit")
            return fn(*args, **kwargs)
        return wrapped

    os.replace, os.rename = _counted(os.replace), _counted(os.rename)
    import corpusprep.task_calls as _executors  # before any executor imports it (the local pool and Ray)
    _in_order = _executors.in_order

    import multiprocessing as _mp

    def _counted_in_order(*args, **kwargs):
        for result in _in_order(*args, **kwargs):
            _counts["workers"] = max(_counts.get("workers", 0), len(_mp.active_children()))
            _event("unit")
            yield result

    _executors.in_order = _counted_in_order
    if os.environ.get("ZOOPREP_KILL_COUNT_FILE"):
        atexit.register(lambda: open(os.environ["ZOOPREP_KILL_COUNT_FILE"], "w").write(json.dumps(_counts)))
'''


def marked(value: str, key: str = MARKER) -> dict[int, str]:
    """pid -> command line of every process whose environment holds ``key=value``."""
    found = {}
    needle = f"{key}={value}".encode()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            if needle in Path(f"/proc/{name}/environ").read_bytes().split(b"\0"):
                found[int(name)] = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:160]
        except OSError:
            continue
    return found


def assert_no_process_left(value: str, key: str = MARKER, grace: float = GRACE_S, what=lambda cmd: True) -> None:
    """Within ``grace`` seconds no process carrying the marker (and matching ``what``) is left; any
    found after that are killed (they are ours) and reported."""
    deadline = time.monotonic() + grace
    while True:
        left = {pid: cmd for pid, cmd in marked(value, key).items() if what(cmd)}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert not left, f"processes still running {grace:.0f} s after the run ended: {left}"


@pytest.fixture(scope="session")
def kill_hook(tmp_path_factory) -> Path:
    hook = tmp_path_factory.mktemp("kill-hook")
    (hook / "sitecustomize.py").write_text(HOOK)
    return hook


def run_cli(hook: Path, args: list[str], kill_at: str = "event:0", sig: int = signal.SIGKILL, count: Path | None = None,
            extra_env: dict | None = None, timeout: float = 300) -> tuple[subprocess.CompletedProcess, str]:
    """Run the CLI in its own session with the hook; returns the result and the run's marker."""
    run_id = uuid.uuid4().hex
    env = dict(os.environ, **(extra_env or {}))
    env["PYTHONPATH"] = os.pathsep.join([str(hook), str(REPO), env.get("PYTHONPATH", "")])
    env.update({MARKER: run_id, "ZOOPREP_KILL_HOOK": "1", "ZOOPREP_KILL_AT": kill_at,
                "ZOOPREP_KILL_SIG": str(int(sig))})
    env.pop("ZOOPREP_KILL_HOOK_PID", None)
    env["ZOOPREP_MIN_MB_PER_WORKER"] = "0"  # the demo corpus is small: still use the workers asked for
    if count is not None:
        env["ZOOPREP_KILL_COUNT_FILE"] = str(count)
    cmd = cli_command(*args)
    # Output goes to files, not pipes: a leftover worker holding a pipe open would hang the wait
    # instead of failing the process check with its name.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=err, timeout=timeout, start_new_session=True)
        out.seek(0), err.seek(0)
        result = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
    return result, run_id


def snapshot(out: Path) -> dict[str, bytes]:
    """Every file of an output directory (report.json without run-dependent fields), or one file."""
    if out.is_file():
        return {"": out.read_bytes()}
    files = {}
    for p in sorted(out.rglob("*")):
        if p.is_file():
            rel = p.relative_to(out).as_posix()
            if rel.startswith(".zooprep/"):
                continue  # the run's own bookkeeping (lock holder, run id, times, report sha); verify checks it
            data = p.read_bytes()
            if rel == "report.json":
                obj = {k: v for k, v in json.loads(data).items() if k not in {"timings", "workers", "executor"}}
                data = json.dumps(obj, sort_keys=True).encode()
            files[rel] = data
    return files


class Command:
    """One command's arguments for an output path, what to compare, and whether `verify` applies."""

    def __init__(self, name: str, args, outputs, verifiable: bool):
        self.name, self.args, self.outputs, self.verifiable = name, args, outputs, verifiable

    def state(self, out: Path) -> dict[str, bytes]:
        return {f"{i}/{k}": v for i, p in enumerate(self.outputs(out)) for k, v in snapshot(p).items()}


def commands(clean_dir: Path, vocab: Path, extra: tuple[str, ...]) -> dict[str, Command]:
    spm_files = lambda out: [out.with_name(out.name + ".model"), out.with_name(out.name + ".vocab")]  # noqa: E731
    return {
        "clean": Command("clean", lambda out: ["clean", str(DEMO), "--out", str(out), "--num-shards", "4",
                                              "--no-progress", *extra], lambda out: [out], True),
        "build-vocab": Command("build-vocab", lambda out: ["build-vocab", str(clean_dir), "--out", str(out), *extra],
                               lambda out: [out], False),
        "build-spm": Command("build-spm", lambda out: ["build-spm", str(clean_dir), "--out-prefix", str(out),
                                                      "--vocab-size", "1500", *extra], spm_files, False),
        "shard": Command("shard", lambda out: ["shard", str(clean_dir), "--vocab", str(vocab), "--seq-len", "64",
                                              "--processor", "mlm", "--unit-mb", "0.02", "--out", str(out), *extra],
                         lambda out: [out], True),
    }


def baseline(hook: Path, root: Path, cmd: Command, tag: str, extra_env=None) -> dict:
    """An uninterrupted run: its output and how many kill points (parent events) it has."""
    out, count = root / f"{cmd.name}-{tag}-baseline", root / f"{cmd.name}-{tag}-count"
    result, run_id = run_cli(hook, cmd.args(out), count=count, extra_env=extra_env)
    assert result.returncode == 0, result.stderr[-2000:]
    if cmd.verifiable:
        assert verify_dir(out).ok
    return {"out": out, "state": cmd.state(out), **json.loads(count.read_text())}


def kill_points(name: str, sig: int, base: dict, k: int) -> list[str]:
    """``k`` reproducible kill points of a run (seeded by command and signal): the first while units
    run (the N-th unit result collected: workers or tasks are busy), the others at any parent event
    (unit results and file commits, including after the last unit)."""
    rng = random.Random(f"{name}/{signal.Signals(sig).name}")
    points = [f"unit:{rng.randint(1, base['unit'])}"]
    points += [f"event:{n}" for n in sorted(rng.sample(range(1, base["event"] + 1), min(k - 1, base["event"])))]
    return points


def kill_and_resume(hook: Path, root: Path, cmd: Command, base: dict, sig: int, at: str, tag: str,
                    extra_env=None, no_process_left=None) -> None:
    """Signal the parent at event ``at``; nothing of ours survives; the rerun equals the baseline."""
    out = root / f"{cmd.name}-{tag}-{signal.Signals(sig).name}-{at.replace(':', '')}"
    killed, run_id = run_cli(hook, cmd.args(out), kill_at=at, sig=sig, extra_env=extra_env)
    expected = -signal.SIGKILL if sig == signal.SIGKILL else 128 + sig
    assert killed.returncode == expected, f"{cmd.name} at event {at}: rc {killed.returncode}: {killed.stderr[-1500:]}"
    if sig != signal.SIGKILL:
        assert "run the same command again to resume" in killed.stderr
        assert "Traceback" not in killed.stderr, killed.stderr[-3000:]
    (no_process_left or assert_no_process_left)(run_id)
    resumed, _ = run_cli(hook, cmd.args(out), extra_env=extra_env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert cmd.state(out) == base["state"], f"{cmd.name} killed by {sig} at event {at}: rerun differs"
    if cmd.verifiable:
        result = verify_dir(out)
        assert result.ok, result.lines()


# -- local executor, 2 workers ---------------------------------------------------------------------------------

LOCAL = ("--workers", "2")
# A few points per command: more SIGKILLs where a resume reuses finished work (clean, shard).
POINTS = {(name, sig): 2 if sig == signal.SIGKILL and name in ("clean", "shard") else 1
          for name in ("clean", "build-vocab", "build-spm", "shard") for sig in (signal.SIGKILL, signal.SIGTERM)}


_LOCAL_RUNS: dict = {}


def local_runs_for(hook: Path, tmp_path_factory) -> dict:
    """Baselines of the four commands (clean feeds the others; build-vocab's vocab feeds shard),
    built once per session: the Ray kill tests compare against them too (same bytes, same events)."""
    if not _LOCAL_RUNS:
        root = tmp_path_factory.mktemp("kill-local")
        first = commands(root / "unused", root / "unused", LOCAL)
        clean = baseline(hook, root, first["clean"], "local")
        vocab = baseline(hook, root, commands(clean["out"], root / "unused", LOCAL)["build-vocab"], "local")
        cmds = commands(clean["out"], vocab["out"], LOCAL)
        bases = {"clean": clean, "build-vocab": vocab}
        for name in ("build-spm", "shard"):
            bases[name] = baseline(hook, root, cmds[name], "local")
        _LOCAL_RUNS.update(root=root, cmds=cmds, bases=bases, clean_dir=clean["out"], vocab=vocab["out"])
    return _LOCAL_RUNS


@pytest.fixture(scope="module")
def local_runs(kill_hook, tmp_path_factory):
    return local_runs_for(kill_hook, tmp_path_factory)


def test_the_process_scan_finds_a_marked_process():
    """The check below is only as good as the scan: a marked child is found, an unmarked one is not."""
    run_id = uuid.uuid4().hex
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], env=dict(os.environ, **{MARKER: run_id}))
    try:
        deadline = time.monotonic() + 10
        while child.pid not in marked(run_id) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.pid in marked(run_id)
        assert not marked(uuid.uuid4().hex)
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
@pytest.mark.parametrize("name", ["clean", "build-vocab", "build-spm", "shard"])
def test_parent_killed_leaves_no_process_and_the_rerun_is_identical(kill_hook, local_runs, name, sig):
    base = local_runs["bases"][name]
    assert base["unit"] >= 3, f"{name} should collect several units"
    assert base["workers"] == 2, f"{name} should run its units in 2 worker processes"
    for at in kill_points(name, sig, base, POINTS[name, sig]):
        kill_and_resume(kill_hook, local_runs["root"], local_runs["cmds"][name], base, sig, at, "local")


def test_ctrl_c_stops_the_run_and_its_workers_with_exit_130(kill_hook, local_runs):
    """Ctrl-C reaches the whole foreground process group: the parent stops the workers, one message, 130."""
    cmd, base = local_runs["cmds"]["clean"], local_runs["bases"]["clean"]
    out = local_runs["root"] / "clean-ctrl-c"
    run_id = uuid.uuid4().hex
    env = dict(os.environ, **{MARKER: run_id, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                              "ZOOPREP_MIN_MB_PER_WORKER": "0"})
    proc = subprocess.Popen(cli_command(*cmd.args(out)), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        work = out / ".zooprep" / "work"
        if len([p for p in marked(run_id) if p != proc.pid]) >= 2 and work.is_dir() and any(work.rglob("*.done.json")):
            break  # the pool is up (a worker finished a unit): no helper process is still starting its interpreter
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    assert "stopped by SIGINT" in stderr and "Traceback" not in stderr, stderr[-3000:]
    assert_no_process_left(run_id)
    resumed, _ = run_cli(kill_hook, cmd.args(out))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert cmd.state(out) == base["state"]
    assert verify_dir(out).ok


PARENT_SCRIPT = '''
import os, signal, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())])
print(child.pid, flush=True)
sys.stdin.readline()  # the child is armed
os.kill(os.getpid(), signal.SIGKILL)
'''

CHILD_SCRIPT = '''
import sys, time
from corpusprep import lifecycle
if "{mechanism}" == "watcher":
    lifecycle._set_parent_death_signal = lambda signum: False  # as on a system without prctl
else:
    lifecycle._watch_parent = lambda *args: None  # the kernel's signal alone
lifecycle.die_with_parent(int(sys.argv[1]))
print("armed", flush=True)
time.sleep(60)
'''


@pytest.mark.parametrize("mechanism", ["prctl", "watcher"])
def test_a_worker_dies_with_its_parent(mechanism):
    """Each mechanism alone ends a worker whose parent was SIGKILLed: the kernel's parent-death
    signal, and the watcher thread that other systems rely on."""
    run_id = uuid.uuid4().hex
    env = dict(os.environ, **{MARKER: run_id, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])})
    parent = subprocess.Popen([sys.executable, "-c", PARENT_SCRIPT, CHILD_SCRIPT.format(mechanism=mechanism)],
                              env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
    child_pid = int(parent.stdout.readline())
    assert parent.stdout.readline().strip() == "armed"  # the child shares the parent's stdout
    assert child_pid in marked(run_id)
    parent.stdin.write("go\n")
    parent.stdin.flush()
    parent.wait(timeout=60)
    assert parent.returncode == -signal.SIGKILL
    assert_no_process_left(run_id, grace=3)
    parent.stdout.close()


POOL_PARENT_SCRIPT = """
import os, signal, sys, time
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from corpusprep.lifecycle import die_with_parent
if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=mp.get_context(sys.argv[1]), initializer=die_with_parent,
                               initargs=(os.getpid(),))
    print(pool.submit(os.getpid).result(), flush=True)
    pool.submit(time.sleep, 60)
    time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("context", ["spawn", "forkserver"])
def test_pool_workers_die_with_the_run_whatever_starts_them(tmp_path, context):
    """A worker forked by a forkserver has the server, not the run, as its parent: it must neither
    kill itself at start nor outlive the run."""
    run_id = uuid.uuid4().hex
    script = tmp_path / "parent.py"
    script.write_text(POOL_PARENT_SCRIPT)
    env = dict(os.environ, **{MARKER: run_id, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])})
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.run([sys.executable, str(script), context], env=env, stdout=out, stderr=subprocess.DEVNULL,
                              timeout=120, start_new_session=True)
        out.seek(0)
        worker_pid = out.read().strip()
    assert worker_pid.isdigit(), "the worker did not run its unit"  # it did not kill itself at start
    assert proc.returncode == -signal.SIGKILL
    assert_no_process_left(run_id)
