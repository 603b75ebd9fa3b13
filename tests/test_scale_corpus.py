"""benchmarks/make_big_corpus.py: deterministic, whole lines, the size asked for, streamed."""
from __future__ import annotations

import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from make_big_corpus import main, parse_size, write_corpus  # noqa: E402


@pytest.mark.parametrize("text,want", [("1GB", 1 << 30), ("4g", 4 << 30), ("500MB", 500 << 20),
                                       ("1.5KiB", 1536), ("123", 123)])
def test_parse_size(text, want):
    assert parse_size(text) == want


def test_parse_size_rejects_nonsense():
    with pytest.raises(Exception, match="not a size"):
        parse_size("lots")


def test_same_arguments_same_bytes_and_whole_lines(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    write_corpus(a, 300_000, pool_size=5_000)
    write_corpus(b, 300_000, pool_size=5_000)
    data = a.read_bytes()
    assert data == b.read_bytes()
    assert data.endswith(b"\n") and b"\r" not in data
    lines = data.decode("utf-8").split("\n")[:-1]
    assert all(lines) and len(lines) > 500
    assert 300_000 - max(map(len, (l.encode() for l in lines))) <= len(data) <= 300_000 + 4096
    write_corpus(b, 300_000, seed=99, pool_size=5_000)
    assert b.read_bytes() != data


def test_part_files_split_the_budget(tmp_path):
    out = tmp_path / "parts"
    paths = write_corpus(out, 200_000, files=4, pool_size=5_000)
    assert [p.name for p in paths] == [f"part-{i:05d}.txt" for i in range(4)]
    sizes = [p.stat().st_size for p in paths]
    assert all(40_000 < s < 60_000 for s in sizes), sizes
    assert all(p.read_bytes().endswith(b"\n") for p in paths)


def test_cli_and_shared_source(tmp_path, corpora_dir):
    out = tmp_path / "s.txt"
    assert main(["--size", "100KB", "--source", "shared", "--shared", str(corpora_dir), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.count("\n") > 20 and abs(len(text.encode()) - 102_400) < 20_000
