"""RayExecutor keeps the Executor contract (ordered results, bounded in-flight work, real errors),
`clean` / `shard` / `build-vocab` / `build-spm` on Ray give the same bytes as on local processes,
and a driver killed at any point leaves no task of ours running and resumes byte-identically.

Everything runs on a real two-node local cluster (`ray start --head` plus a second `ray start
--address`, one CPU each, own temp dirs and ports), started once per session and joined with
`--ray-address`. Its processes carry a marker in their environment; the finaliser kills exactly
those (never `ray stop`, which would stop every Ray on the machine). Skipped when Ray is not
installed (`pip install -e '.[test]'` installs it).
"""
from __future__ import annotations

import gc
import operator
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from corpusprep.errors import ZooprepError
from corpusprep.executors import make_executor
from test_scale_executors import check_bounded_window as _check_bounded_window
from test_scale_kill import (LOCAL, assert_no_process_left, commands, kill_and_resume, kill_hook,  # noqa: F401
                             kill_points, local_runs_for, marked, run_cli)
from test_scale_resume import env, snapshot  # noqa: F401  (fixture + helper shared with the resume tests)

from conftest import REPO
CLUSTER_MARKER = "ZOOPREP_TEST_RAY_CLUSTER"
# Token authentication (on by default for `ray start` from Ray 2.59) keeps its token in ~/.ray,
# shared with any other cluster of this user; this private test cluster does without.
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def test_missing_ray_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    with pytest.raises(ZooprepError, match=r"pip install -e '\.\[ray\]'"):
        make_executor("ray", 2)


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _free_port_range(size: int, rng: random.Random) -> int:
    """First port of ``size`` free consecutive ports below the ephemeral range (Ray's worker ports)."""
    for _ in range(200):
        base = rng.randrange(20000, 30000 - size)
        try:
            for port in range(base, base + size):
                with socket.socket() as s:
                    s.bind(("", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free port range for Ray workers")


def _ray_start(args: list[str], env: dict, cwd: Path | None = None) -> None:
    cmd = [sys.executable, "-c", "from ray.scripts.scripts import main; main()", "start", *args]
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"ray start failed ({r.returncode}): {r.stdout[-2000:]} {r.stderr[-2000:]}")


def _node_args(temp: Path, rng: random.Random) -> list[str]:
    p = _free_ports(6)
    workers = _free_port_range(40, rng)
    return ["--num-cpus", "1", "--disable-usage-stats", "--temp-dir", str(temp), "--object-store-memory",
            str(100 * 2**20), "--node-manager-port", str(p[0]), "--object-manager-port", str(p[1]),
            "--dashboard-agent-listen-port", str(p[2]), "--dashboard-agent-grpc-port", str(p[3]),
            "--runtime-env-agent-port", str(p[4]), "--metrics-export-port", str(p[5]),
            "--min-worker-port", str(workers), "--max-worker-port", str(workers + 39)]


def _s3_env(request) -> dict:
    """The S3 test server's AWS environment, for the nodes (as a cloud node has its own credentials);
    empty when the server's packages are missing (the S3 tests then skip, the others still run)."""
    try:
        return request.getfixturevalue("s3_server").env
    except pytest.skip.Exception:
        return {}


@pytest.fixture(scope="session")
def ray_cluster(request):
    """A two-node Ray cluster on this machine; yields its address, process marker and each node's
    working directory and $ZOOPREP_CACHE.

    The nodes share no working directory with the driver or with each other (as on a cloud cluster):
    each runs from its own folder with its own cache, so a path that a worker resolved itself would
    name a different file on each node."""
    pytest.importorskip("ray", reason="Ray is in the test extra (pip install -e '.[test]'); not installed here")
    marker = uuid.uuid4().hex
    # A short temp root: Ray's unix socket paths under it must stay within 107 bytes.
    temp = Path(tempfile.mkdtemp(prefix="zr-"))
    env = dict(os.environ, **RAY_ENV, **_s3_env(request), **{CLUSTER_MARKER: marker})
    env.pop("RAY_ADDRESS", None)
    # Workers import zooprep (and this test module's helpers) from this checkout.
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])
    rng = random.Random()
    head_port, client_port = _free_ports(2)
    address = f"127.0.0.1:{head_port}"
    nodes = {}
    for name in ("h", "w"):
        nodes[name] = {"cwd": temp / f"{name}-cwd", "cache": temp / f"{name}-cache"}
        nodes[name]["cwd"].mkdir()
    for name in nodes:  # a test creates this file to have one task on the node die mid-push (outdir/nodes.py)
        nodes[name]["crash"] = temp / f"{name}-crash-once"
    node_env = lambda name: dict(env, ZOOPREP_CACHE=str(nodes[name]["cache"]),  # noqa: E731
                                 ZOOPREP_TEST_NODE_CRASH=str(nodes[name]["crash"]))
    try:
        _ray_start(["--head", "--node-ip-address", "127.0.0.1", "--port", str(head_port), "--include-dashboard",
                    "false", "--ray-client-server-port", str(client_port), *_node_args(temp / "h", rng)],
                   node_env("h"), cwd=nodes["h"]["cwd"])
        _ray_start(["--address", address, *_node_args(temp / "w", rng)], node_env("w"), cwd=nodes["w"]["cwd"])
        yield {"address": address, "marker": marker, "nodes": nodes}
    finally:
        _stop_marked(marker)
        shutil.rmtree(temp, ignore_errors=True)


def _stop_marked(marker: str) -> None:
    """Stop the cluster's own processes (found by marker): SIGTERM, then SIGKILL what remains."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        for pid in marked(marker, CLUSTER_MARKER):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + wait
        while marked(marker, CLUSTER_MARKER) and time.monotonic() < deadline:
            time.sleep(0.1)


@pytest.fixture(scope="module")
def ray_executor(ray_cluster):
    from corpusprep.ray_executor import RayExecutor

    saved = {k: os.environ.get(k) for k in RAY_ENV}
    os.environ.update(RAY_ENV)
    ex = RayExecutor(workers=2, window=3, address=ray_cluster["address"])
    yield ex
    ex.close()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_the_cluster_has_two_nodes(ray_executor):
    import ray

    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    assert ray.cluster_resources()["CPU"] == 2


def test_ray_results_come_back_in_input_order(ray_executor):
    assert list(ray_executor.map(operator.neg, range(40))) == [-i for i in range(40)]
    assert list(ray_executor.map(str.upper, ["a", "bb", "中c"])) == ["A", "BB", "中C"]
    assert list(ray_executor.map(abs, [])) == []


def test_ray_window_is_bounded(ray_executor):
    _check_bounded_window(ray_executor, 3)


def test_ray_worker_errors_surface_as_the_original_exception(ray_executor, capfd):
    with pytest.raises(ValueError, match="invalid literal"):
        list(ray_executor.map(int, ["1", "x", "3"]))
    # Units still in flight that failed too are collected, not dumped as Ray "Unhandled error"s.
    with pytest.raises(ValueError, match="'x'"):
        list(ray_executor.map(int, ["1", "x"] + ["y"] * 4 + ["2"] * 10))
    gc.collect()
    time.sleep(1)
    assert "Unhandled error" not in capfd.readouterr().err
    assert list(ray_executor.map(operator.neg, [5])) == [-5]  # the executor still works


def _raise_input_error(line):
    from corpusprep.errors import InputError

    raise InputError("corpus.txt", "broken record", line=line)


def test_ray_zooprep_errors_keep_their_message(ray_executor):
    with pytest.raises(ZooprepError, match=r"corpus\.txt:7: broken record"):
        list(ray_executor.map(_raise_input_error, [7]))


def test_ray_executor_is_made_by_name(ray_executor):
    ex = make_executor("ray", 2)  # joins the runtime the fixture started
    try:
        assert ex.name == "ray" and ex.workers == 2
        assert list(ex.map(operator.neg, [1, 2])) == [-1, -2]
    finally:
        ex.close()  # does not own the runtime: must not shut it down
    assert list(ray_executor.map(operator.neg, [3])) == [-3]


def _clean_config(env, out: Path, executor: str):
    from corpusprep.cleaning.config import CleanConfig

    return CleanConfig(inputs=(str(env["corpus"]),), out=str(out), fmt="cluecorpussmall", num_shards=3,
                       valid_fraction=0.1, workers=2, executor=executor, progress=False)


def test_clean_and_shard_on_ray_equal_local(env, ray_executor):
    """Same options, local processes vs Ray tasks: byte-identical clean shards and shard files."""
    from corpusprep.cleaning.pipeline import run_clean
    from corpusprep.instances.config import ShardConfig
    from corpusprep.instances.pipeline import run_shard

    outs = {}
    for executor in ("local", "ray"):
        clean_out = env["root"] / f"eq-clean-{executor}"
        run_clean(_clean_config(env, clean_out, executor))
        shard_out = env["root"] / f"eq-shard-{executor}"
        run_shard(ShardConfig(corpus=(clean_out,), out=shard_out, vocab=env["vocab"], seq_len=64, processor="mlm",
                              unit_mb=0.1, workers=2, executor=executor, show_progress=False))
        outs[executor] = (snapshot(clean_out), snapshot(shard_out))
    local, ray = outs["local"], outs["ray"]
    assert len(local[0]) >= 4 and any(k.endswith(".arrow") for k in local[1])
    assert ray[0] == local[0]
    # zooprep.json and the dataset card (README.md) name the source files by path, which differ between the runs
    strip = lambda files: {k: v for k, v in files.items() if k not in ("zooprep.json", "README.md")}  # noqa: E731
    assert strip(ray[1]) == strip(local[1])


def test_build_vocab_and_build_spm_on_ray_equal_local(env, ray_executor):
    """The counting and sentence-reading units of build-vocab / build-spm give the same artifacts on Ray."""
    from corpusprep.cleaning.pipeline import run_clean
    from zh_tokenizers.build_vocab_run import BuildVocabConfig, run_build_vocab
    from zh_tokenizers.spm_train import SpmTrainConfig, train_spm

    clean_out = env["root"] / "eq-tok-clean"
    run_clean(_clean_config(env, clean_out, "local"))
    got = {}
    for executor in ("local", "ray"):
        vocab = env["root"] / f"eq-vocab-{executor}.txt"
        run_build_vocab(BuildVocabConfig(corpus=[clean_out], out=vocab, workers=2, executor=executor))
        prefix = env["root"] / f"eq-spm-{executor}"
        train_spm(SpmTrainConfig(corpus=(str(clean_out),), out_prefix=str(prefix), vocab_size=1000, workers=2,
                                 executor=executor))
        got[executor] = (vocab.read_bytes(), prefix.with_name(prefix.name + ".model").read_bytes())
    assert len(got["local"][0].splitlines()) > 104
    assert got["ray"] == got["local"]


# -- a driver killed on the cluster ------------------------------------------------------------------------------

def _our_tasks(cmd: str) -> bool:
    return cmd.startswith("ray::call_configured")  # Ray titles a worker after the task it runs


def test_running_tasks_are_found_by_the_process_scan(ray_cluster, ray_executor):
    """The check below is only as good as the scan: a running task of ours is seen on the cluster."""
    import ray

    from corpusprep.executors import call_configured

    ref = ray.remote(num_cpus=1)(call_configured).remote(None, time.sleep, 5)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(map(_our_tasks, marked(ray_cluster["marker"], CLUSTER_MARKER).values())):
            break
        time.sleep(0.1)
    else:
        pytest.fail("no ray::call_configured process seen on the cluster")
    ray.get(ref)


def _fail_or_sleep(seconds: float) -> float:
    if seconds < 0:
        raise ValueError("unit failed")
    time.sleep(seconds)
    return seconds


def test_ray_tasks_are_cancelled_on_error_and_when_the_caller_stops(ray_cluster, ray_executor):
    """A failed unit cancels the units still running; so does close() after the caller stopped
    reading (an error or a stop signal raised outside the map)."""
    no_task_left = lambda: assert_no_process_left(ray_cluster["marker"], CLUSTER_MARKER, what=_our_tasks)  # noqa: E731
    with pytest.raises(ValueError, match="unit failed"):
        list(ray_executor.map(_fail_or_sleep, [-1, 60, 60]))
    no_task_left()
    joined = make_executor("ray", 2)  # joins the fixture's connection; close() must not shut it down
    it = joined.map(_fail_or_sleep, [0, 60, 60])
    assert next(it) == 0
    joined.close()
    no_task_left()
    assert list(ray_executor.map(operator.neg, [4])) == [-4]


# Ray costs a few seconds per driver: one point per (command, signal), SIGTERM where a resume matters.
RAY_KILLS = [("clean", signal.SIGKILL), ("clean", signal.SIGTERM), ("shard", signal.SIGKILL),
             ("shard", signal.SIGTERM), ("build-vocab", signal.SIGKILL), ("build-spm", signal.SIGTERM)]


@pytest.mark.parametrize("name,sig", RAY_KILLS, ids=[f"{n}-{signal.Signals(s).name}" for n, s in RAY_KILLS])
def test_driver_killed_on_the_cluster_leaves_no_task_and_the_rerun_is_identical(kill_hook, tmp_path_factory,
                                                                               ray_cluster, ray_executor, name, sig):
    """The driver (alone) is killed at a seeded event; Ray ends its tasks (on a SIGTERM our executor
    cancels them), and the rerun on the cluster equals the uninterrupted local run."""
    local = local_runs_for(kill_hook, tmp_path_factory)
    extra = (*LOCAL, "--executor", "ray", "--ray-address", ray_cluster["address"])
    cmd = commands(local["clean_dir"], local["vocab"], extra)[name]
    base = local["bases"][name]
    at = kill_points(f"ray/{name}", sig, base, 1)[0]  # while tasks run

    def nothing_of_ours_left(run_id: str) -> None:
        assert_no_process_left(run_id)  # the driver and anything it started
        assert_no_process_left(ray_cluster["marker"], CLUSTER_MARKER, what=_our_tasks)

    kill_and_resume(kill_hook, local["root"], cmd, base, sig, at, "ray", extra_env=RAY_ENV,
                    no_process_left=nothing_of_ours_left)


def test_driver_killed_with_a_private_runtime_leaves_no_process(kill_hook, tmp_path_factory):
    """Without a cluster the driver starts a private Ray runtime (GCS, raylet, agents, workers); Ray
    stops it only on a clean exit, so after a SIGKILL our watcher removes it."""
    pytest.importorskip("ray")
    local = local_runs_for(kill_hook, tmp_path_factory)
    cmd = commands(local["clean_dir"], local["vocab"], (*LOCAL, "--executor", "ray"))["clean"]
    at = kill_points("ray-private/clean", signal.SIGKILL, local["bases"]["clean"], 1)[0]  # while tasks run
    out = local["root"] / f"clean-ray-private-{at}"
    killed, run_id = run_cli(kill_hook, cmd.args(out), kill_at=at, sig=signal.SIGKILL, extra_env=RAY_ENV)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    # The runtime's processes inherit the driver's environment. A loaded machine (CI) can take
    # seconds to start and stop Ray's agents; the promise is "none left", not a deadline.
    assert_no_process_left(run_id, grace=30.0)
