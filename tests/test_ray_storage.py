"""Ray clusters without a shared file system (issue 19): paths resolved on the driver, secrets by
reference, a malformed or unreachable cluster address refused in seconds, and clean/shard on a
two-node cluster that reads and writes only through the S3 test server.

The cluster is the session's two-node cluster of test_scale_ray: its nodes run from their own
working directories, with their own $ZOOPREP_CACHE and the S3 server's AWS environment, so nothing
a worker resolves by itself can name the driver's files."""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from test_scale_kill import kill_hook  # noqa: F401  (fixture: kill the driver at its N-th unit result)
from test_scale_ray import RAY_ENV, ray_cluster, ray_executor  # noqa: F401  (the session's cluster)
from test_scale_resume import snapshot

REPO = Path(__file__).resolve().parent.parent
DEMO_DOCS = REPO / "demo" / "cluecorpussmall" / "clue_sampled.txt"


def zooprep(cwd: Path, *args: str, timeout: float = 300, env: dict | None = None,
            private: Path | None = None) -> subprocess.CompletedProcess:
    """`cli.py ARGS` run from ``cwd`` (so relative paths are the driver's), Ray's test settings on.
    ``private``: a folder only this process sees (see ``_private_mount``), where the platform allows."""
    e = dict(os.environ, **RAY_ENV, **(env or {}))
    e["PYTHONPATH"] = os.pathsep.join([str(REPO), e.get("PYTHONPATH", "")])
    return subprocess.run([*_private_mount(private), sys.executable, str(REPO / "cli.py"), *args], cwd=cwd, env=e,
                          capture_output=True, text=True, timeout=timeout)


def _private_mount(folder: Path | None) -> list[str]:
    """A command prefix that mounts an empty tmpfs on ``folder`` in a mount namespace of its own
    (Linux ``unshare -m``, as root): the driver's mirror there is invisible to the cluster's nodes,
    which run outside it on this same machine, as on a cluster without a shared file system.
    Empty where that is not allowed (the test then relies on the other checks)."""
    if folder is None or os.geteuid() != 0 or not shutil.which("unshare"):
        return []
    folder.mkdir(parents=True, exist_ok=True)
    prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount -t tmpfs zooprep-test "$0" && exec "$@"',
              str(folder)]
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    return prefix if probe.returncode == 0 else []


def ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, f"{done.args}\n{done.stderr[-3000:]}"
    return done


def _where(_) -> str:
    return os.getcwd()


# -- 1. relative paths are resolved on the driver ----------------------------------------------------------------

def test_a_worker_runs_in_its_node_s_own_folder(ray_cluster, ray_executor):
    """The premise of the decoy test below: workers resolve relative paths in their node's folder."""
    cwds = set(ray_executor.map(_where, range(8)))
    assert cwds <= {str(n["cwd"]) for n in ray_cluster["nodes"].values()} and cwds


def test_relative_paths_are_resolved_on_the_driver_not_on_a_node(ray_cluster, tmp_path):
    """`clean corpus.txt --out out` and `shard out --out sh` from the driver's folder on the cluster:
    every node holds a decoy `corpus.txt` in its working directory; the run reads the driver's file,
    writes only under the driver's `out`, and gives the local executor's bytes (records still name
    `corpus.txt`, as given)."""
    driver = tmp_path / "driver"
    driver.mkdir()
    lines = DEMO_DOCS.read_text(encoding="utf-8").splitlines()[:120]
    (driver / "corpus.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    decoy = "\n".join(["这是一份诱饵文件，绝不应该被读取。" * 3] * 50) + "\n"
    for node in ray_cluster["nodes"].values():
        (node["cwd"] / "corpus.txt").write_text(decoy, encoding="utf-8")
    chars = sorted({ch for ln in lines for ch in ln if not ch.isspace()})
    (driver / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]) + "\n",
                                      encoding="utf-8")
    ray = ("--executor", "ray", "--ray-address", ray_cluster["address"], "--workers", "2")
    clean = ("clean", "corpus.txt", "--num-shards", "2", "--unit-mb", "0.01", "--no-progress")
    ok(zooprep(driver, *clean, "--out", "c-local", "--workers", "1"))
    ok(zooprep(driver, *clean, "--out", "c-ray", *ray))
    shard = ("shard", "c-local", "--vocab", "vocab.txt", "--processor", "mlm", "--seq-len", "64", "--unit-mb", "0.01")
    ok(zooprep(driver, *shard, "--out", "s-local", "--workers", "1"))
    ok(zooprep(driver, *shard, "--out", "s-ray", *ray))

    import pyarrow.parquet as pq

    local, remote = snapshot(driver / "c-local"), snapshot(driver / "c-ray")
    assert remote == local
    table = pq.read_table(driver / "c-local" / "train-00000-of-00002.parquet")
    assert set(table.column("source").to_pylist()) == {"corpus.txt"}  # as given, as before
    assert "诱饵" not in "".join(table.column("text").to_pylist())
    assert snapshot(driver / "s-ray") == snapshot(driver / "s-local")
    for node in ray_cluster["nodes"].values():  # nothing written beside the decoy
        assert sorted(p.name for p in node["cwd"].iterdir()) == ["corpus.txt"]
        assert (node["cwd"] / "corpus.txt").read_text(encoding="utf-8") == decoy


# -- 2. a bad --ray-address fails at once --------------------------------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # free once closed: nothing listens there


BAD_ADDRESSES = [("bogus::x", "not a Ray address"), ("http://127.0.0.1:6379", "not a Ray address"),
                 ("127.0.0.1:99999", "not a Ray address"), ("127.0.0.1:{port}", "cannot reach the Ray cluster"),
                 ("ray://127.0.0.1:{port}", "cannot reach the Ray cluster")]


def test_a_malformed_or_unreachable_ray_address_is_one_line(tmp_path):
    """Before: a traceback (malformed) or minutes of retries (unreachable). Now: one line, exit 2,
    before planning and before --out is created (the timeouts only guard against a hang)."""
    pytest.importorskip("ray")
    corpus = tmp_path / "c.txt"
    corpus.write_text(DEMO_DOCS.read_text(encoding="utf-8"), encoding="utf-8")

    def refused(args, says, env=None):
        done = zooprep(tmp_path, *args, timeout=60, env=env)
        err = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(err) == 1 and err[0].startswith("error: ") and says in err[0], done.stderr
        assert not (tmp_path / "o").exists()

    for address, says in BAD_ADDRESSES:
        address = address.format(port=_closed_port())
        refused(("clean", str(corpus), "--out", "o", "--executor", "ray", "--ray-address", address), says)
    refused(("shard", str(corpus), "--vocab", str(corpus), "--out", "o", "--executor", "ray", "--ray-address",
             f"127.0.0.1:{_closed_port()}"), "cannot reach the Ray cluster")
    refused(("build-vocab", str(corpus), "--out", "o", "--executor", "ray"), "RAY_ADDRESS",
            env={"RAY_ADDRESS": f"127.0.0.1:{_closed_port()}"})


# -- 3. storage options reach workers by reference -----------------------------------------------------------------

def _seen_secret(_) -> str:
    from corpusprep import storage

    return hashlib.sha256(str(storage.current_options().get("secret")).encode()).hexdigest()


@pytest.fixture
def secret_options():
    from corpusprep import storage

    secret = f"zp-ray-secret-{uuid.uuid4().hex}"
    storage.configure({"key": "zp-ray-key", "secret": secret})
    yield secret
    storage.configure(None)


def test_storage_options_reach_ray_workers_but_never_a_task_s_arguments(ray_executor, secret_options, monkeypatch):
    from ray import cloudpickle

    sent = []
    remote = ray_executor._remote

    class Recording:  # records what each task is submitted with, then submits it
        def remote(self, *args):
            sent.append(cloudpickle.dumps(args))
            return remote.remote(*args)

    monkeypatch.setattr(ray_executor, "_remote", Recording())
    want = hashlib.sha256(secret_options.encode()).hexdigest()
    assert list(ray_executor.map(_seen_secret, range(6))) == [want] * 6  # every worker has them
    assert len(sent) == 6 and not any(secret_options.encode() in blob for blob in sent)


def test_storage_options_reach_local_pool_workers(secret_options, monkeypatch):
    from corpusprep.executors import LocalExecutor

    monkeypatch.setenv("ZOOPREP_MIN_MB_PER_WORKER", "0")  # a real pool, however small the work
    with LocalExecutor(2) as ex:
        got = list(ex.map(_seen_secret, range(4)))
    assert got == [hashlib.sha256(secret_options.encode()).hexdigest()] * 4


# -- 4/5. a cluster without a shared path, reading and writing only through S3 -------------------------------------

def _remote_outputs(server, bucket: str, prefix: str) -> dict[str, bytes]:
    """Every object under ``prefix`` but zooprep's own folder; report.json without run-dependent fields."""
    import json

    from test_scale_resume import VOLATILE_REPORT_KEYS

    c, out = server.client(), {}
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        for o in page.get("Contents", []):
            rel = o["Key"][len(prefix) + 1:]
            if rel.startswith(".zooprep/"):
                continue
            data = c.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            if rel == "report.json":
                obj = {k: v for k, v in json.loads(data).items() if k not in VOLATILE_REPORT_KEYS}
                data = json.dumps(obj, sort_keys=True).encode()
            out[rel] = data
    return out


def test_clean_and_shard_on_a_cluster_without_a_shared_path_equal_the_local_executor(ray_cluster, s3_env, tmp_path):
    """Input, vocab and outputs live only on the S3 server; the nodes run from their own folders with
    their own caches, and (as root on Linux) the driver's cache with its mirror is a private mount
    they cannot see; one task dies mid-push on each node (Ray runs it again). The cluster writes the
    bytes the local executor writes, and `verify` passes on the URLs."""
    server, bucket = s3_env
    lines = DEMO_DOCS.read_text(encoding="utf-8").splitlines()
    chars = sorted({ch for ln in lines for ch in ln if not ch.isspace()})
    c = server.client()
    c.put_object(Bucket=bucket, Key="in/corpus.txt", Body=("\n".join(lines) + "\n").encode())
    vocab = "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]) + "\n"
    c.put_object(Bucket=bucket, Key="vocab.txt", Body=vocab.encode())
    url = f"s3://{bucket}"
    driver = tmp_path / "driver"
    driver.mkdir()
    cache = tmp_path / "driver-cache"  # the driver's mirror lives here, in a mount the nodes cannot see
    env = {"ZOOPREP_CACHE": str(cache)}
    ray = ("--executor", "ray", "--ray-address", ray_cluster["address"], "--workers", "2")
    clean = ("clean", f"{url}/in/corpus.txt", "--num-shards", "3", "--valid-fraction", "0.1", "--unit-mb", "0.02",
             "--near-dup", "--no-progress")
    for node in ray_cluster["nodes"].values():
        node["crash"].write_text("")  # armed: the first task on each node dies after pushing half its files
    ok(zooprep(driver, *clean, "--out", f"{url}/clean-ray", *ray, env=env, private=cache))
    ok(zooprep(driver, *clean, "--out", f"{url}/clean-local", "--workers", "1", env=env))
    local = _remote_outputs(server, bucket, "clean-local")
    assert len(local) >= 6 and "report.json" in local
    assert _remote_outputs(server, bucket, "clean-ray") == local
    crashed = [n for n in ray_cluster["nodes"].values() if not n["crash"].exists()]
    for node in ray_cluster["nodes"].values():
        node["crash"].unlink(missing_ok=True)
        assert {p.name for p in node["cwd"].iterdir()} <= {"corpus.txt"}  # nothing but the decoy test's file
    shard = ("shard", f"{url}/clean-ray", "--vocab", f"{url}/vocab.txt", "--processor", "mlm", "--seq-len", "64",
             "--unit-mb", "0.02")
    ok(zooprep(driver, *shard, "--out", f"{url}/shard-ray", *ray, env=env, private=cache))
    ok(zooprep(driver, *shard, "--out", f"{url}/shard-local", "--workers", "1", env=env))
    local = _remote_outputs(server, bucket, "shard-local")
    assert any(k.endswith(".arrow") for k in local)
    assert _remote_outputs(server, bucket, "shard-ray") == local
    ok(zooprep(driver, "verify", f"{url}/clean-ray", f"{url}/shard-ray", env=env))
    assert crashed, "no task died: the crash hook did not fire"
    for node in ray_cluster["nodes"].values():  # a node keeps no unit file it pushed
        left = [p for p in node["cache"].rglob("*") if p.is_file() and "/node-work/" in str(p)]
        assert not any(p.suffix == ".arrow" and "/parts/" in str(p) for p in left)


# -- the pieces, without a cluster -----------------------------------------------------------------------------------

def test_shipping_makes_paths_absolute_and_keeps_what_records_name(tmp_path, monkeypatch):
    from corpusprep import shipping, storage
    from corpusprep.readers.units import WorkUnit

    monkeypatch.chdir(tmp_path)
    u = shipping.unit(WorkUnit(0, "a/x.txt", "couplets", "utf-8", options=(("pair", "a/y.txt"),)))
    assert (u.path, u.source, u.option("pair")) == (str(tmp_path / "a/x.txt"), "a/x.txt", str(tmp_path / "a/y.txt"))
    assert shipping.unit(u) == u  # already absolute: unchanged
    try:
        url = shipping.unit(WorkUnit(1, "s3://AKIAKEY:zp-url-secret@bkt//in/x.txt", "text", "utf-8"))
        assert url.path == "s3://bkt/in/x.txt" and "zp-url-secret" not in repr(url)
        assert storage.current_options()["secret"] == "zp-url-secret"  # travels by reference, not in the unit
    finally:
        storage.configure(None)


def test_rebase_moves_every_path_under_the_mirror(tmp_path):
    import functools
    from dataclasses import dataclass

    from corpusprep.outdir.nodes import rebase

    @dataclass(frozen=True)
    class Ctx:
        out: str
        parts: Path
        other: str
        nested: tuple

    m, s = str(tmp_path / "mirror"), str(tmp_path / "scratch")
    fn = functools.partial(len, Ctx(m, Path(m) / "w" / "parts", m + "x", ([m + "/a", 3], {"k": m})))
    moved = rebase(fn, m, s).args[0]
    assert moved == Ctx(s, Path(s) / "w" / "parts", m + "x", ([s + "/a", 3], {"k": s}))
    same = Ctx("/elsewhere", Path("/x"), "y", ())
    assert rebase(same, m, s) is same


def test_driver_killed_on_the_cluster_with_a_remote_out_resumes_elsewhere(ray_cluster, s3_env, kill_hook, tmp_path):
    """The driver of `clean --out s3://... --executor ray` is SIGKILLed at its second unit result;
    the rerun, with another cache (no mirror: as on another machine), reuses the units the nodes pushed to URL/.zooprep/work and ends with the local bytes."""
    from test_scale_kill import run_cli as run_with_hook

    server, bucket = s3_env
    lines = DEMO_DOCS.read_text(encoding="utf-8").splitlines()
    server.client().put_object(Bucket=bucket, Key="in/corpus.txt", Body=("\n".join(lines) + "\n").encode())
    url = f"s3://{bucket}"
    clean = ["clean", f"{url}/in/corpus.txt", "--num-shards", "2", "--unit-mb", "0.01", "--no-progress"]
    ray = ["--executor", "ray", "--ray-address", ray_cluster["address"], "--workers", "2"]
    ok(zooprep(tmp_path, *clean, "--out", f"{url}/local", "--workers", "1",
               env={"ZOOPREP_CACHE": str(tmp_path / "c0")}))
    first = tmp_path / "c1"
    killed, _ = run_with_hook(kill_hook, [*clean, "--out", f"{url}/ray", *ray], kill_at="unit:2",
                              extra_env={**RAY_ENV, "ZOOPREP_CACHE": str(first)})
    assert killed.returncode == -9, killed.stderr[-2000:]
    pushed = [k for k in _remote_keys(server, bucket, "ray/.zooprep/work/packages/")]
    assert pushed, "the nodes pushed no finished unit before the kill"
    again = ok(zooprep(tmp_path, *clean, "--out", f"{url}/ray", *ray, env={"ZOOPREP_CACHE": str(tmp_path / "c2")}))
    assert "redoing" not in again.stderr  # the pushed units were trusted (checksums and input identities held)
    assert _remote_outputs(server, bucket, "ray") == _remote_outputs(server, bucket, "local"), again.stderr[-2000:]


def _remote_keys(server, bucket: str, prefix: str) -> list[str]:
    c = server.client()
    return [o["Key"] for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])]
