"""Outputs on object storage (corpusprep/outdir/remote.py) against a real S3 server on 127.0.0.1.

Every writing command with a local --out and an s3:// --out gives byte-identical data files
(local -> remote, remote -> local, remote -> remote); readers (inspect, export, ShardDataset,
views, datasets.load_from_disk) open a remote shard; kill -9 at seeded remote-write points then a
rerun ends identical and nothing looks complete in between; one writer per output; user objects
survive; `verify` re-hashes remote objects.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DEMO_DOCS, REPO
from test_scale_kill import kill_hook  # noqa: F401 - the fixture: kill at the N-th unit result
from test_scale_kill import run_cli as kill_run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CORPUS = str(DEMO_DOCS)
DATA_SUFFIXES = (".parquet", ".arrow", ".jsonl", ".txt", ".model", ".vocab", ".pt")


def run(*args: str) -> str:
    """The CLI in this process (typer's runner: no interpreter start-up); returns its output."""
    from typer.testing import CliRunner

    sys.path.insert(0, str(REPO))
    from cli import app

    r = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert r.exit_code == 0, f"{' '.join(args)} failed ({r.exit_code}):\n{r.output[-3000:]}"
    return r.output


def cli(*args: str, env: dict | None = None, ok: bool = True) -> subprocess.CompletedProcess:
    """The CLI as a user runs it (a separate process)."""
    r = subprocess.run([sys.executable, "cli.py", *args], cwd=REPO, capture_output=True, text=True, timeout=300,
                       env={**os.environ, **(env or {})})
    if ok:
        assert r.returncode == 0, f"cli.py {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def s3(s3_server):
    """The S3 server's AWS environment for this module (CLI subprocesses inherit it) and one bucket."""
    import logging

    from corpusprep import storage

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's request log
    with pytest.MonkeyPatch.context() as mp:
        for k, v in s3_server.env.items():
            mp.setenv(k, v)
        storage.configure(None)
        yield s3_server, s3_server.new_bucket()
    storage.configure(None)


def objects(server, bucket: str, prefix: str = "") -> dict[str, bytes]:
    c = server.client()
    out = {}
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            out[o["Key"][len(prefix):]] = c.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
    return out


def data_files(files: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in files.items() if not k.startswith(".zooprep/") and k.endswith(DATA_SUFFIXES)}


def local_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(s3, tmp_path_factory):
    """Every writing command run once with a local and once with an s3:// output."""
    server, bucket = s3
    loc = tmp_path_factory.mktemp("local")
    s3u = f"s3://{bucket}"
    shard_args = ["--seq-len", "64", "--unit-mb", "0.02", "--workers", "1"]
    run("clean", CORPUS, "--out", str(loc / "clean"), "--no-progress", "--workers", "1", "--num-shards", "2")
    run("clean", CORPUS, "--out", f"{s3u}/clean", "--no-progress", "--workers", "1", "--num-shards", "2")
    run("build-vocab", CORPUS, "--out", str(loc / "vocab.txt"))
    key, secret = server.key, server.secret  # credentials inside the URL: used, never recorded or printed
    printed = run("build-vocab", CORPUS, "--out", f"s3://{key}:{secret}@{bucket}/v/vocab.txt")
    assert secret not in printed and f"s3://{bucket}/v/vocab.txt" in printed
    run("build-spm", CORPUS, "--out-prefix", str(loc / "spm"), "--vocab-size", "800")
    run("build-spm", CORPUS, "--out-prefix", f"{s3u}/sp/spm", "--vocab-size", "800")
    vocab = str(loc / "vocab.txt")
    for name, extra in (("shard", []), ("enc", ["--encode-only"]), ("uer", ["--compat", "uer"])):
        src = CORPUS if name == "uer" else str(loc / "clean")
        run("shard", src, "--vocab", vocab, *shard_args, *extra, "--out", str(loc / name))
        there = f"s3://{key}:{secret}@{bucket}/{name}" if name == "enc" else f"{s3u}/{name}"
        printed = run("shard", src, "--vocab", vocab, *shard_args, *extra, "--out", there)  # local -> remote
        assert secret not in printed and f"{s3u}/{name}" in printed
    run("export", str(loc / "shard"), "--out", str(loc / "d.pt"))
    run("export", f"{s3u}/shard", "--out", str(loc / "from-s3.pt"))  # remote -> local
    run("export", f"{s3u}/shard", "--out", f"{s3u}/exp/d.pt")  # remote -> remote
    assert not list(REPO.glob("s3:*")) and not list(Path.cwd().glob("s3:*")), "a URL was used as a local path"
    return server, bucket, loc


def test_every_writing_command_gives_the_local_bytes_on_s3(built):
    server, bucket, loc = built
    for name in ("clean", "shard", "enc", "uer"):
        there, here = data_files(objects(server, bucket, f"{name}/")), data_files(local_files(loc / name))
        assert there and there == here, name
        done = json.loads(objects(server, bucket, f"{name}/.zooprep/")["complete.json"])
        assert set(done["files"]) == {k for k in local_files(loc / name) if not k.startswith(".zooprep/")}
    assert objects(server, bucket, "v/")["vocab.txt"] == (loc / "vocab.txt").read_bytes()
    sp = objects(server, bucket, "sp/")
    assert sp["spm.model"] == (loc / "spm.model").read_bytes() and sp["spm.vocab"] == (loc / "spm.vocab").read_bytes()
    assert (loc / "from-s3.pt").read_bytes() == (loc / "d.pt").read_bytes()
    assert objects(server, bucket, "exp/")["d.pt"] == (loc / "d.pt").read_bytes()
    # cards are written last and name the URL (never a local mirror path, never a credential)
    card = json.loads(objects(server, bucket, "sp/")["spm.card.json"])
    assert card["zooprep_outputs"].keys() == {"spm.model", "spm.vocab"}
    assert json.loads(objects(server, bucket, "exp/")["d.pt.card.json"])["directory"] == f"s3://{bucket}/shard"
    cache = os.environ["ZOOPREP_CACHE"]
    for key, body in objects(server, bucket).items():
        assert server.secret.encode() not in body and server.key.encode() not in body, key
        assert cache.encode() not in body, f"{key} records a local cache path"
    assert not any(".pending" in k or "/.zooprep/work/" in k or "lock.json" in k for k in objects(server, bucket))


def test_readers_open_a_remote_shard_through_the_verified_cache(built, capsys):
    import datasets
    import numpy as np

    from corpusprep.feed.stream import ShardDataset
    from corpusprep.feed.views import ViewReader, parse_view
    from corpusprep.verify import verify_dir

    server, bucket, loc = built
    url = f"s3://{bucket}/shard"
    for name in ("clean", "shard", "enc", "uer"):
        r = verify_dir(f"s3://{bucket}/{name}")
        assert r.ok and r.checked > 0, r.lines()
    remote, here = ShardDataset(url), ShardDataset(loc / "shard")
    assert len(remote) == len(here) > 0
    assert str(remote.reader.directory).startswith(os.environ["ZOOPREP_CACHE"])
    a, b = remote.__getitems__([0, 5, len(here) - 1]), here.__getitems__([0, 5, len(here) - 1])
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    va, vb = ViewReader(f"s3://{bucket}/enc", parse_view("mlm:32")), ViewReader(loc / "enc", parse_view("mlm:32"))
    assert len(va) == len(vb) > 0 and np.array_equal(va.take([0, 1])["input_ids"], vb.take([0, 1])["input_ids"])
    remote_view = run("inspect", url, "-n", "1")
    local_view = run("inspect", str(loc / "shard"), "-n", "1")
    assert "[CLS]" in remote_view and remote_view == local_view
    from corpusprep.feed.stream import FeedLoader, StreamConfig

    first = next(iter(FeedLoader(StreamConfig(url, batch_size=4, epochs=1, seed=3))))
    assert np.array_equal(first["input_ids"], next(iter(FeedLoader(StreamConfig(str(loc / "shard"), batch_size=4,
                                                                                 epochs=1, seed=3))))["input_ids"])
    from corpusprep.pretrain_example_command import load_trainer

    trainer = load_trainer()
    losses = []
    for where in (url, str(loc / "shard")):
        capsys.readouterr()
        trainer.train(trainer.parse_args([where, "--max-steps", "2", "--batch-size", "4", "--size", "nano", "--device",
                                          "cpu", "--workers", "0", "--log-every", "1", "--seed", "1", "--threads", "1"]))
        losses.append([json.loads(x)["loss"] for x in capsys.readouterr().out.splitlines() if '"loss"' in x])
    assert len(losses[0]) == 2 and losses[0] == losses[1]
    from corpusprep.errors import InputError
    from corpusprep.outdir import require_complete_input, require_recorded

    require_complete_input(url)  # for 19a's readers: a finished remote output is good input
    require_recorded([f"{url}/{p.name}" for p in (loc / "shard").glob("data-*.arrow")])
    with pytest.raises(InputError, match="not part of the `zooprep shard` output"):
        require_recorded([f"{url}/extra.txt"])
    ds = datasets.load_from_disk(url, storage_options=server.storage_options)
    assert ds["input_ids"][:3] == datasets.load_from_disk(str(loc / "shard"))["input_ids"][:3]


def test_verify_and_the_cache_refuse_an_altered_remote_object(built):
    from corpusprep.errors import InputError
    from corpusprep.outdir.remote import cached_output
    from corpusprep.verify import verify_dir

    server, bucket, loc = built
    out = f"s3://{bucket}/alter"
    c = server.client()
    for key in objects(server, bucket, "uer/"):  # a copy of a finished output (server-side)
        c.copy_object(Bucket=bucket, Key=f"alter/{key}", CopySource={"Bucket": bucket, "Key": f"uer/{key}"})
    key = "alter/data-00000-of-00001.arrow"
    body = bytearray(c.get_object(Bucket=bucket, Key=key)["Body"].read())
    body[-20] ^= 0xFF  # same size: only the checksum can tell
    c.put_object(Bucket=bucket, Key=key, Body=bytes(body))
    r = verify_dir(out)
    assert not r.ok and [a.path for a in r.altered] == ["data-00000-of-00001.arrow"]
    assert cli("verify", out, ok=False).returncode == 1
    with pytest.raises(InputError, match="sha256"):
        cached_output(out)
    from corpusprep.outdir.remote import _key16, cache_root

    cache = cache_root() / "objects" / _key16(out)
    assert not [p for p in cache.rglob("data-*")]  # the altered object never got its final name
    assert not [p for p in cache.rglob("*.tmp")]  # nor was a partial download left behind


# ---------------------------------------------------------------- the object-store protocol
def _stage(od, files: dict[str, bytes]) -> None:
    od.open_work({"t": 1})
    for rel, data in files.items():
        p = od.stage / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def test_user_objects_survive_reruns_and_overwrite_and_foreign_prefixes_are_refused(s3_env, tmp_path):
    from corpusprep.errors import ZooprepError
    from corpusprep.outdir import OutputDir

    server, bucket = s3_env
    c = server.client()
    url = f"s3://{bucket}/own"
    c.put_object(Bucket=bucket, Key="foreign/x.txt", Body=b"user's")
    with pytest.raises(ZooprepError, match=r"not empty and was not created by zooprep.*'x.txt'"):
        OutputDir.open(f"s3://{bucket}/foreign", "shard")
    assert set(objects(server, bucket, "foreign/")) == {"x.txt"}  # nothing written into it
    with OutputDir.open(url, "shard") as od:
        _stage(od, {"a.arrow": b"one", "old.arrow": b"old", "zooprep.json": b"{}"})
        od.commit(last=["zooprep.json"])
    c.put_object(Bucket=bucket, Key="own/notes.md", Body=b"mine")
    with pytest.raises(ZooprepError, match="holds a complete `zooprep shard` output"):
        OutputDir.open(url, "shard")
    with OutputDir.open(url, "shard", overwrite=True) as od:
        _stage(od, {"a.arrow": b"two", "zooprep.json": b"{}"})
        od.commit(last=["zooprep.json"])
    got = objects(server, bucket, "own/")
    assert got["notes.md"] == b"mine" and got["a.arrow"] == b"two" and "old.arrow" not in got
    log = tmp_path / "writes"
    with pytest.MonkeyPatch.context() as mp:  # the same bytes again: nothing is uploaded twice
        mp.setenv("ZOOPREP_TEST_WRITE_LOG", str(log))
        with OutputDir.open(url, "shard", overwrite=True) as od:
            _stage(od, {"a.arrow": b"two", "zooprep.json": b"{}"})
            od.commit(last=["zooprep.json"])
    writes = [w.split(" ", 1)[1] for w in log.read_text().splitlines()]
    assert "create complete.json" in writes and not {"put a.arrow", "put zooprep.json"} & set(writes)
    with OutputDir.open(url, "shard", overwrite=True) as od:  # a staged name that is a user's object
        _stage(od, {"notes.md": b"zooprep's", "zooprep.json": b"{}"})
        with pytest.raises(ZooprepError, match="notes.md: exists and was not written by zooprep"):
            od.commit(last=["zooprep.json"])
    assert objects(server, bucket, "own/")["notes.md"] == b"mine"


def test_one_writer_per_remote_output_and_stale_leases_are_taken_over(s3_env, capsys):
    import socket
    import time

    from corpusprep.outdir import OutputDir

    server, bucket = s3_env
    url = f"s3://{bucket}/lease"
    with OutputDir.open(url, "clean", rerun=True):
        r = cli("clean", CORPUS, "--out", url, "--no-progress", "--workers", "1", ok=False)
        assert r.returncode == 2 and "in use by another zooprep run" in r.stderr
        assert f"pid {os.getpid()} on {socket.gethostname()}, `zooprep clean`" in r.stderr
    assert "lock.json" not in objects(server, bucket, "lease/.zooprep/")  # released at the end
    with pytest.MonkeyPatch.context() as mp:  # the heartbeat renews a short lease while the run lasts
        mp.setenv("ZOOPREP_LEASE_S", "1.5")
        with OutputDir.open(url, "clean", rerun=True):
            time.sleep(2.5)
            lease = json.loads(objects(server, bucket, "lease/.zooprep/")["lock.json"])
            assert lease["pid"] == os.getpid() and lease["expires"] > time.time()
    stale = {"pid": 1, "host": "node-gone", "command": "clean", "run_id": "x", "started": "then",
             "expires": time.time() - 5, "lease_s": 1}
    server.client().put_object(Bucket=bucket, Key="lease/.zooprep/lock.json", Body=json.dumps(stale).encode())
    with OutputDir.open(url, "clean", rerun=True):
        pass
    assert "took over the stale lease of pid 1 on node-gone" in capsys.readouterr().err

    from concurrent.futures import ThreadPoolExecutor

    from corpusprep.errors import ZooprepError

    def claim(_):  # two writers starting at the same moment: the conditional create lets one through
        try:
            return OutputDir.open(f"s3://{bucket}/race", "shard")
        except ZooprepError as exc:
            return str(exc)

    with ThreadPoolExecutor(2) as pool:
        got = list(pool.map(claim, range(2)))
    winners = [g for g in got if not isinstance(g, str)]
    assert len(winners) == 1 and "in use by another zooprep run" in next(g for g in got if isinstance(g, str))
    winners[0].close()


def test_file_outputs_refuse_a_remote_file_zooprep_did_not_write(s3_env):
    server, bucket = s3_env
    server.client().put_object(Bucket=bucket, Key="files/vocab.txt", Body=b"a user's vocab\n")
    from corpusprep.errors import ZooprepError

    with pytest.raises(ZooprepError, match="not written by `zooprep build-vocab`"):
        run("build-vocab", CORPUS, "--out", f"s3://{bucket}/files/vocab.txt")
    assert objects(server, bucket, "files/") == {"vocab.txt": b"a user's vocab\n"}


# ---------------------------------------------------------------- kill -9 and resume
@pytest.mark.parametrize("command", ["clean", "shard"])
def test_kill_9_at_seeded_remote_writes_then_rerun_ends_identical(built, kill_hook, tmp_path, monkeypatch, command):
    """The parent is SIGKILLed at its N-th write to the object store (lease, owner, work pushes,
    every publish step); N is drawn by a seeded RNG from the writes of an uninterrupted run."""
    from corpusprep.outdir import remote

    server, bucket, loc = built

    def args(out, workers="1"):
        if command == "clean":
            return ["clean", CORPUS, "--out", out, "--no-progress", "--workers", workers, "--num-shards", "2"]
        return ["shard", str(loc / "clean"), "--vocab", str(loc / "vocab.txt"), "--seq-len", "64", "--unit-mb", "0.02",
                "--workers", workers, "--out", out]

    log = tmp_path / "writes"
    monkeypatch.setenv("ZOOPREP_TEST_WRITE_LOG", str(log))
    remote._test_hook.n = 0
    run(*args(f"s3://{bucket}/k-{command}-count"))
    monkeypatch.delenv("ZOOPREP_TEST_WRITE_LOG")
    writes = log.read_text().splitlines()
    total = len(writes)
    committed = next(i for i, w in enumerate(writes, 1) if w.endswith("create complete.json"))
    reference = data_files(local_files(loc / command))
    # a seeded write anywhere up to the commit point, the write just after it (the clean-up), and the
    # first unit result while units run (test_scale_kill's hook: no remote write happens there)
    points = [random.Random(f"19b-{command}").randrange(2, committed + 1), committed + 1, "unit:1"]
    for n, point in enumerate(points):
        prefix = f"k-{command}-{n}/"
        if point == "unit:1":
            r, _ = kill_run(kill_hook, args(f"s3://{bucket}/{prefix}", "2"), kill_at=point)  # units need a pool
        else:
            r = cli(*args(f"s3://{bucket}/{prefix}"), env={"ZOOPREP_TEST_KILL_AT_WRITE": str(point)}, ok=False)
        assert r.returncode == -9, (point, total, r.stderr[-2000:])
        after = objects(server, bucket, prefix)
        if ".zooprep/complete.json" in after:  # killed after the commit point: it must be the whole output
            assert data_files(after) == reference, point
        run(*args(f"s3://{bucket}/{prefix}"))  # the dead holder's lease (same host) is taken over
        final = objects(server, bucket, prefix)
        assert data_files(final) == reference and ".zooprep/complete.json" in final, point
        assert not any(k.startswith(".zooprep/work/") or k.endswith(("publishing.json", "lock.json")) for k in final)


def test_a_rerun_on_another_machine_resumes_from_the_remote_work_area(s3_env, tmp_path, monkeypatch):
    """A failed run pushes its work area to URL/.zooprep/work; a rerun with another $ZOOPREP_CACHE
    (no mirror) pulls it and redoes no finished package."""
    from corpusprep.cleaning import pipeline
    from corpusprep.cleaning.config import CleanConfig

    server, bucket = s3_env
    url = f"s3://{bucket}/moved"
    cfg = CleanConfig(inputs=(CORPUS,), out=url, fmt="text", num_shards=2, unit_bytes=20_000, workers=1,
                      progress=False)
    monkeypatch.setenv("ZOOPREP_CACHE", str(tmp_path / "machine-a"))
    monkeypatch.setenv("ZOOPREP_CLEAN_STOP_AFTER_PACKAGES", "2")
    with pytest.raises(RuntimeError, match="injected stop"):
        pipeline.run_clean(cfg)
    monkeypatch.delenv("ZOOPREP_CLEAN_STOP_AFTER_PACKAGES")
    pushed = objects(server, bucket, "moved/.zooprep/work/")
    assert "plan.json" in pushed and any(k.endswith("done.json") for k in pushed)
    assert ".zooprep/complete.json" not in objects(server, bucket, "moved/")
    calls = []
    real = pipeline.process_package
    monkeypatch.setattr(pipeline, "process_package", lambda package, config: calls.append(package.index) or
                        real(package, config))
    monkeypatch.setenv("ZOOPREP_CACHE", str(tmp_path / "machine-b"))
    report = pipeline.run_clean(cfg)
    assert 0 not in calls and 1 not in calls and len(calls) == report["packages"] - 2
    monkeypatch.setenv("ZOOPREP_CACHE", str(tmp_path / "machine-c"))
    reference = f"s3://{bucket}/moved-ref"
    monkeypatch.setattr(pipeline, "process_package", real)
    pipeline.run_clean(CleanConfig(**{**cfg.__dict__, "out": reference}))
    assert data_files(objects(server, bucket, "moved/")) == data_files(objects(server, bucket, "moved-ref/"))


def test_any_fsspec_url_goes_through_the_same_protocol():
    """memory:// (no ETags, no conditional writes on the server side): the same publish, journal and
    verify; the lock falls back to compare-then-write."""
    import uuid

    from corpusprep.outdir import OutputDir
    from corpusprep.outdir.remote import cached_output
    from corpusprep.verify import verify_dir

    url = f"memory://zp-{uuid.uuid4().hex[:8]}/out"
    for data in (b"one", b"two"):
        with OutputDir.open(url, "shard", overwrite=True) as od:
            _stage(od, {"a.arrow": data, f"{data.decode()}.arrow": data, "zooprep.json": b"{}"})
            od.commit(last=["zooprep.json"])
    from corpusprep import storage

    names = sorted(storage.name(p) for p in storage.list_files(url))
    assert names == ["a.arrow", "complete.json", "owner.json", "two.arrow", "written.json", "zooprep.json"]
    r = verify_dir(url)
    assert r.checked == 3 and not (r.missing or r.altered or r.unexpected), r.lines()
    assert (cached_output(url, None) / "a.arrow").read_bytes() == b"two"
