"""Inputs in object storage: every reading command given s3:// URLs (a real S3 server on 127.0.0.1,
tests/s3_server.py) writes the same output bytes to a local --out as it does from the local files;
credentials (in a URL or in --storage-options) never reach a written file or stderr; storage
failures are one `error:` line; memory:// and file:// go through the same code path."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import DEMO, REPO

DOCS = DEMO / "cluecorpussmall" / "clue_sampled.txt"  # one document per line
PAIRS = DEMO / "cluecorpussmall" / "clue_bert_sampled.txt"  # sentence per line, blank line between documents
URL_KEY, URL_SECRET = "AKIAURLKEY0001", "url-secret-Zq81x"
OPT_KEY, OPT_SECRET = "AKIAOPTKEY0002", "option-secret-Wp27y"
_AWS_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def cli(*args: str, stdin: str | None = None, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "cli.py", *args], cwd=REPO, capture_output=True, text=True,
                          input=stdin, timeout=300)
    if ok:
        assert done.returncode == 0, f"cli.py {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done


def upload(server, bucket: str, folder: Path, prefix: str) -> None:
    client = server.client()
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            client.upload_file(str(f), bucket, f"{prefix}/{f.relative_to(folder).as_posix()}")


def same_files(a: Path, b: Path, names) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def no_secret_in(paths, *texts: str) -> None:
    """No credential in any file under ``paths`` nor in ``texts`` (stderr/stdout)."""
    secrets = [URL_KEY, URL_SECRET, OPT_KEY, OPT_SECRET]
    for text in texts:
        assert not [s for s in secrets if s in text], text[-2000:]
    for root in paths:
        root = Path(root)
        for f in [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]:
            data = f.read_bytes()
            assert not [s for s in secrets if s.encode() in data], f


@pytest.fixture(scope="module")
def local_clean(tmp_path_factory) -> Path:
    """`clean` of the demo corpora from the local files (the reference for the remote runs)."""
    out = tmp_path_factory.mktemp("local") / "clean"
    cli("clean", str(DEMO), "--out", str(out), "--workers", "2")
    return out


@pytest.fixture(scope="module")
def vocab(tmp_path_factory) -> Path:
    """A char vocab of the demo CLUECorpusSmall sample (the clean output's texts come from it and others)."""
    out = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    chars = sorted(set(DOCS.read_text(encoding="utf-8") + PAIRS.read_text(encoding="utf-8")) - set(" \n\t\r"))
    out.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]) + "\n", encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def remote(s3_server, local_clean, vocab) -> str:
    """A bucket holding demo/ (raw corpora), clean-out/ (the local clean output, .zooprep included)
    and tok/vocab.txt."""
    bucket = s3_server.new_bucket("inputs")
    upload(s3_server, bucket, DEMO, "demo")
    upload(s3_server, bucket, local_clean, "clean-out")
    s3_server.client().upload_file(str(vocab), bucket, "tok/vocab.txt")
    return bucket


def _rows(path: Path) -> list[dict]:
    rows = pq.read_table(path).to_pylist()
    for r in rows:  # the one column that names where a document came from
        r["source"] = r["source"].split("/demo/", 1)[1]
    return rows


def test_clean_reads_a_prefix_with_credentials_in_the_url(s3_env, remote, local_clean, tmp_path, monkeypatch):
    server, _ = s3_env
    for k in _AWS_KEYS:  # the credentials come from the URL only
        monkeypatch.delenv(k)
    out = tmp_path / "clean"
    done = cli("clean", f"s3://{URL_KEY}:{URL_SECRET}@{remote}/demo", "--out", str(out), "--workers", "2")
    shards = sorted(p.name for p in local_clean.glob("*.parquet"))
    assert shards and shards == sorted(p.name for p in out.glob("*.parquet"))
    for name in shards:  # the same documents, in the same order and shards; sources are the URLs
        assert _rows(out / name) == _rows(local_clean / name)
    assert pq.read_table(out / shards[0]).column("source")[0].as_py().startswith(f"s3://{remote}/demo/")
    local, mine = (json.loads((d / "report.json").read_text()) for d in (local_clean, out))
    assert [mine[k] for k in ("read", "kept", "dropped", "inputs")] == [local[k] for k in ("read", "kept", "dropped", "inputs")]
    assert mine["options"]["inputs"] == [f"s3://{remote}/demo"]  # recorded without the credentials
    no_secret_in([out], done.stderr, done.stdout)


def test_shard_from_a_remote_clean_output_with_storage_options(s3_env, remote, local_clean, vocab, tmp_path,
                                                               monkeypatch):
    server, _ = s3_env
    for k in (*_AWS_KEYS, "AWS_ENDPOINT_URL"):  # everything through --storage-options
        monkeypatch.delenv(k)
    options = json.dumps({"key": OPT_KEY, "secret": OPT_SECRET, "endpoint_url": server.endpoint})
    a, b = tmp_path / "local", tmp_path / "remote"
    cli("shard", str(local_clean), "--vocab", str(vocab), "--out", str(a), "--seq-len", "64", "--workers", "2")
    done = cli("shard", f"s3://{remote}/clean-out", "--vocab", f"s3://{remote}/tok/vocab.txt", "--out", str(b),
               "--seq-len", "64", "--workers", "2", "--storage-options", options)
    data = sorted(p.name for p in a.glob("data-*.arrow"))
    assert data and data == sorted(p.name for p in b.glob("data-*.arrow"))
    same_files(a, b, [*data, "dataset_info.json", "state.json"])
    meta = json.loads((b / "zooprep.json").read_text())
    assert meta["tokenizer"]["path"] == f"s3://{remote}/tok/vocab.txt"
    assert meta["sources"][0]["path"].startswith(f"s3://{remote}/clean-out/train-")
    assert meta["tokenizer"]["vocab_sha256"] == json.loads((a / "zooprep.json").read_text())["tokenizer"]["vocab_sha256"]
    no_secret_in([b], done.stderr, done.stdout)
    # the same vocab as a URL for tokenize; the cached copy lies under $ZOOPREP_CACHE/objects
    text = DOCS.read_text(encoding="utf-8")[:3000]
    here = cli("tokenize", "--vocab", str(vocab), "--ids", stdin=text)
    there = cli("tokenize", "--vocab", f"s3://{remote}/tok/vocab.txt", "--ids", "--storage-options", options, stdin=text)
    assert there.stdout == here.stdout and here.stdout.strip()
    no_secret_in([Path(os.environ["ZOOPREP_CACHE"]) / "objects"], there.stderr)


def test_an_unfinished_remote_output_is_refused(s3_env, local_clean, tmp_path):
    server, bucket = s3_env
    upload(server, bucket, local_clean, "half")
    server.client().delete_object(Bucket=bucket, Key="half/.zooprep/complete.json")
    vocab = tmp_path / "v.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", encoding="utf-8")
    res = cli("shard", f"s3://{bucket}/half", "--vocab", str(vocab), "--out", str(tmp_path / "o"), ok=False)
    assert res.returncode == 2 and res.stderr.startswith(f"error: s3://{bucket}/half: unfinished zooprep output")
    assert len(res.stderr.strip().splitlines()) == 1


def test_build_vocab_and_build_spm_read_urls(s3_env, remote, local_clean, vocab, tmp_path):
    from zh_tokenizers.spm_train import SpmTrainConfig, train_spm

    server, _ = s3_env
    base = tmp_path / "base.txt"
    base.write_text("".join(vocab.read_text(encoding="utf-8").splitlines(keepends=True)[:300]), encoding="utf-8")
    server.client().upload_file(str(base), remote, "tok/base.txt")
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    cli("build-vocab", str(local_clean), str(DOCS), "--extend", str(base), "--out", str(a))
    cli("build-vocab", f"s3://{remote}/clean-out", f"s3://{remote}/demo/cluecorpussmall/clue_sampled.txt",
        "--extend", f"s3://{remote}/tok/base.txt", "--out", str(b))
    assert a.read_bytes() == b.read_bytes() and len(a.read_text(encoding="utf-8").splitlines()) > 300
    url = f"s3://{remote}/demo/cluecorpussmall/clue_sampled.txt"
    for corpus, prefix in ((str(DOCS), "m1"), (url, "m2")):  # in-process: the pipeline `build-spm` runs
        train_spm(SpmTrainConfig(corpus=(corpus,), out_prefix=str(tmp_path / prefix), vocab_size=600, threads=1))
    assert (tmp_path / "m1.model").read_bytes() == (tmp_path / "m2.model").read_bytes()
    assert url in json.dumps(json.loads((tmp_path / "m2.card.json").read_text()))


def test_encode_only_and_compat_uer_read_urls(s3_env, remote, vocab, tmp_path):
    """In-process (the pipeline the CLI delegates to): byte ranges of a remote text file."""
    from corpusprep.instances.config import ShardConfig
    from corpusprep.instances.pipeline import run_shard

    cases = [(DOCS, dict(processor="lm", encode_only=True, unit_mb=0.02)), (PAIRS, dict(processor="bert", compat="uer"))]
    for i, (src, opts) in enumerate(cases):
        url = f"s3://{remote}/demo/cluecorpussmall/{src.name}"
        outs = []
        for corpus in (str(src), url):
            out = tmp_path / f"{i}-{len(outs)}"
            run_shard(ShardConfig(corpus=(corpus,), out=out, vocab=str(vocab), seq_len=64, show_progress=False,
                                  workers=1, **opts))
            outs.append(out)
        data = sorted(p.name for p in outs[0].glob("data-*.arrow"))
        assert data
        same_files(*outs, data)


def test_storage_failures_are_one_error_line(s3_env, tmp_path):
    server, bucket = s3_env
    out = str(tmp_path / "o")
    cases = [
        (["clean", f"s3://{bucket}/no/such/object.txt", "--out", out], f"error: s3://{bucket}/no/such/object.txt: "),
        (["build-vocab", "nosuchproto://x/y.txt", "--out", out], "error: nosuchproto://x/y.txt: cannot use nosuchproto://"),
        (["build-spm", "s3://", "--out-prefix", out], "error: s3://: "),
        (["clean", f"s3://{bucket}/x", "--out", out, "--storage-options", '{"secret": "' + OPT_SECRET + '"'],
         "error: --storage-options: not valid JSON"),
        (["tokenize", "--vocab", f"s3://{URL_KEY}:{URL_SECRET}@{bucket}/missing-vocab.txt"],
         f"error: s3://{bucket}/missing-vocab.txt: cannot read vocab file: no such file or object"),
    ]
    for args, start in cases:
        res = cli(*args, ok=False, stdin="")
        assert res.returncode == 2, (args, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(start), (args, res.stderr)
        no_secret_in([], res.stderr)


def test_memory_and_file_urls_go_through_the_same_readers(tmp_path, vocab):
    """memory:// (in-process) and file:// read exactly what the local files give, for the raw readers
    (folder walk with its skip rules, byte ranges, compressed files, couplet pairs) and for shard."""
    import gzip

    from corpusprep import storage
    from corpusprep.instances.config import ShardConfig
    from corpusprep.instances.pipeline import run_shard
    from corpusprep.readers import plan_units, read_unit_guarded

    local = tmp_path / "corpus"
    (local / "couplets").mkdir(parents=True)
    (local / ".hidden").mkdir()
    for name in ("in.txt", "out.txt"):
        (local / "couplets" / name).write_bytes((DEMO / "couplets" / name).read_bytes())
    (local / "news.txt.gz").write_bytes(gzip.compress((DEMO / "cluecorpussmall" / "news_zh_1.txt").read_bytes()))
    (local / "docs.txt").write_bytes(DOCS.read_bytes())
    (local / "README.md").write_text("not a corpus\n")
    (local / ".hidden" / "x.txt").write_text("hidden\n")
    base = f"memory://zp-{uuid.uuid4().hex[:8]}/corpus"
    for f in local.rglob("*"):
        if f.is_file():
            storage.write_bytes(f"{base}/{f.relative_to(local).as_posix()}", f.read_bytes())

    def records(target):
        units = plan_units([target], unit_bytes=16 << 10)
        out = []
        for u in units:
            rel = u.path.split("corpus/", 1)[1]
            out.extend((rel, getattr(r, "text", None), r.line, type(r).__name__) for r in read_unit_guarded(u))
        return [(u.path.split("corpus/", 1)[1], u.start, u.end, u.family) for u in units], out

    want = records(str(local))
    assert len(want[0]) > 4 and {w[0] for w in want[0]} == {"couplets/in.txt", "docs.txt", "news.txt.gz"}
    assert records(base) == want
    assert records("file://" + str(local)) == want
    outs = []
    for corpus in (str(DOCS), f"{base}/docs.txt"):
        out = tmp_path / f"shard{len(outs)}"
        run_shard(ShardConfig(corpus=(corpus,), out=out, vocab=str(vocab), seq_len=32, workers=1, unit_mb=0.02,
                              show_progress=False))
        outs.append(out)
    data = sorted(p.name for p in outs[0].glob("data-*.arrow"))
    assert data
    same_files(*outs, data)


def test_done_marker_identities(s3_env, tmp_path):
    """Local identities keep their format; a URL's carries its ETag, and a changed object is redone."""
    from corpusprep import storage
    from corpusprep.outdir import input_identity, read_done, write_done

    server, bucket = s3_env
    f = tmp_path / "a.txt"
    f.write_bytes(b"abcdef\n")
    assert list(input_identity(str(f), 1, 4)) == ["path", "start", "end", "size", "mtime_ns", "sha256"]
    url = f"s3://{bucket}/a.txt"
    storage.write_bytes(url, b"abcdef\n")
    ident = input_identity(url, 1, 4)
    assert ident["path"] == url and ident["etag"] and "mtime_ns" not in ident
    marker = tmp_path / "u.done.json"
    write_done(marker, {"k": 1}, [ident], {}, {"n": 1})
    assert read_done(marker, {"k": 1}) == {"n": 1}
    storage.write_bytes(url, b"abXdef\n")
    why: list = []
    assert read_done(marker, {"k": 1}, why) is None and "changed" in why[0]


def test_a_unit_of_a_big_object_is_read_by_ranged_gets(s3_env, monkeypatch):
    """A worker's unit of a remote file fetches about its own byte range, never the whole object."""
    import s3fs.core

    from corpusprep import storage
    from corpusprep.corpus_input import CorpusFile, plan_units
    from corpusprep.readers import rawio as read_rawio
    from corpusprep.readers import read_unit_guarded

    server, bucket = s3_env
    line = "这是一行用来测试按字节范围读取的中文文本。\n".encode()
    data = line * (4_000_000 // len(line))
    url = f"s3://{bucket}/big.txt"
    storage.write_bytes(url, data)
    monkeypatch.setattr(read_rawio, "URL_BLOCK", 128 << 10)
    units = plan_units([CorpusFile(url, "text", len(data))], 512 << 10)
    assert len(units) >= 7
    fetched: list[tuple[int, int]] = []
    real = s3fs.core.S3File._fetch_range
    monkeypatch.setattr(s3fs.core.S3File, "_fetch_range",
                        lambda self, start, end: fetched.append((start, end)) or real(self, start, end))
    unit = units[4]
    texts = [r.text for r in read_unit_guarded(unit)]
    assert texts and all(t == line.decode().strip() for t in texts)
    assert min(a for a, _ in fetched) >= unit.start - 1
    # the unit (512 KiB), the 1 MiB scan for its first line start and the read-ahead; of 4 MB
    assert sum(b - a for a, b in fetched) <= (unit.end - unit.start) + (1 << 20) + 2 * (128 << 10)


def test_clean_resumes_from_finished_units_of_remote_inputs(s3_env, tmp_path, monkeypatch, capsys):
    """A killed `clean` on s3:// inputs reuses its finished units (identity: ETag + sha256 of the
    range); an object rewritten with other bytes of the same size has its units redone."""
    from corpusprep import storage
    from corpusprep.cleaning import pipeline
    from corpusprep.cleaning.config import CleanConfig

    server, bucket = s3_env
    text = DOCS.read_bytes()[:40_000]
    for name in ("a.txt", "b.txt"):
        storage.write_bytes(f"s3://{bucket}/c/{name}", text if name == "a.txt" else text[::-1].decode(
            "utf-8", "ignore").encode())
    cfg = CleanConfig(inputs=(f"s3://{bucket}/c",), out=str(tmp_path / "out"), fmt="text", unit_bytes=8 << 10,
                      workers=1, progress=False)
    monkeypatch.setenv("ZOOPREP_CLEAN_STOP_AFTER_PACKAGES", "2")
    with pytest.raises(RuntimeError, match="injected stop"):
        pipeline.run_clean(cfg)
    monkeypatch.delenv("ZOOPREP_CLEAN_STOP_AFTER_PACKAGES")
    calls: list[int] = []
    real = pipeline.process_package
    monkeypatch.setattr(pipeline, "process_package", lambda p, config: calls.append(p.index) or real(p, config))
    monkeypatch.setenv("ZOOPREP_CLEAN_STOP_AFTER_SHARDS", "1")
    with pytest.raises(RuntimeError, match="injected stop"):
        pipeline.run_clean(cfg)
    monkeypatch.delenv("ZOOPREP_CLEAN_STOP_AFTER_SHARDS")
    assert calls and 0 not in calls and 1 not in calls  # the two finished packages were reused
    b = storage.read_bytes(f"s3://{bucket}/c/b.txt")
    storage.write_bytes(f"s3://{bucket}/c/b.txt", b[:-2] + b"X\n")  # same size, other bytes
    calls.clear()
    capsys.readouterr()
    pipeline.run_clean(cfg)
    err = capsys.readouterr().err
    assert calls and f"s3://{bucket}/c/b.txt: input changed" in err
    assert all(storage.display(f"s3://{bucket}/c/a.txt") not in line for line in err.splitlines() if "changed" in line)
