"""The storage layer (corpusprep/storage) against a real S3 server on 127.0.0.1: ranged reads,
identities, conditional writes, listing, and secrets that never show."""
from __future__ import annotations

import pytest

from corpusprep import storage


def test_paths_and_urls_are_told_apart_and_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert storage.absolute("rel/a.txt") == str(tmp_path / "rel" / "a.txt")
    assert storage.absolute("file://" + str(tmp_path / "x")) == str(tmp_path / "x")
    assert storage.absolute("S3://bucket//a//b") == "s3://bucket/a/b"
    assert not storage.is_url("file:///tmp/x") and storage.is_url("memory://x") and not storage.is_url("a/b")
    assert storage.inside("s3://b/out/x", "s3://b/out") and not storage.inside("s3://b/outer", "s3://b/out")


def test_credentials_in_a_url_are_taken_out_and_scrubbed():
    url = "s3://AKIAEXAMPLEKEY:verysecretvalue123@bucket/corpus.txt"
    assert storage.absolute(url) == "s3://bucket/corpus.txt"
    assert storage.display(url) == "s3://bucket/corpus.txt"
    # once seen, the secret is removed from any text, e.g. a client library's error message
    assert "verysecretvalue123" not in storage.scrub("denied for verysecretvalue123 at s3://a:b@c/d")
    storage.configure({"key": "AKIAOTHER", "secret": "anothersecret456", "client_kwargs": {"region_name": "x"}})
    try:
        assert storage.scrub("x anothersecret456 y") == "x *** y"
    finally:
        storage.configure(None)


def test_bad_storage_options_are_one_line_without_the_value():
    with pytest.raises(storage.StorageError.__mro__[1]) as err:
        storage.parse_options('{"secret": "hunter2hunter2"')
    assert "hunter2" not in str(err.value) and "--storage-options" in str(err.value)
    with pytest.raises(Exception, match="JSON object"):
        storage.parse_options('["a"]')


def test_s3_reads_ranges_lists_and_identifies(s3_env, tmp_path):
    server, bucket = s3_env
    data = "".join(f"第{i}行 line {i}\n" for i in range(5000)).encode()
    src = tmp_path / "c.txt"
    src.write_bytes(data)
    url = f"s3://{bucket}/dir/c.txt"
    storage.put_file(str(src), url)
    storage.write_bytes(f"s3://{bucket}/dir/sub/b.txt", b"b")
    assert storage.read_bytes(url, 100, 200) == data[100:200]
    with storage.open_read(url, block_size=1 << 16) as fh:
        fh.seek(70000)
        assert fh.read(10) == data[70000:70010]
    assert storage.list_files(f"s3://{bucket}/dir") == [f"s3://{bucket}/dir/c.txt", f"s3://{bucket}/dir/sub/b.txt"]
    ident = storage.identity(url, 10, 5000)
    assert ident["path"] == url and ident["size"] == len(data) and ident["etag"]
    assert storage.identity_changed(ident) is None
    storage.write_bytes(url, data[:-1] + b"X")  # same size, other bytes: the ETag says so
    assert "changed" in storage.identity_changed(ident)


def test_conditional_writes_are_the_lock_and_commit_point(s3_env):
    server, bucket = s3_env
    url = f"s3://{bucket}/out/.zooprep/lock.json"
    assert storage.create_exclusive(url, b"first") is True
    assert storage.create_exclusive(url, b"second") is False
    assert storage.read_bytes(url) == b"first"
    etag = storage.info(url)["etag"]
    assert storage.replace_if_match(url, b"renewed", etag) is True
    assert storage.replace_if_match(url, b"stale", etag) is False  # someone else's write since
    assert storage.read_bytes(url) == b"renewed"
    assert storage.delete(url, etag) is False  # not while the ETag differs
    assert storage.delete(url, storage.info(url)["etag"]) is True
    assert not storage.exists(url)


def test_memory_urls_go_through_the_same_code_path():
    url = "memory://zooprep-test/a/b.txt"
    storage.write_bytes(url, b"hello")
    assert storage.read_bytes(url, 1, 3) == b"el"
    assert storage.create_exclusive(url, b"x") is False
    assert storage.identity(url)["sha256"] == storage.sha256(url)
    storage.delete(url)
    assert not storage.exists(url)
