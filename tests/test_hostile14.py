"""Hostile-user checks on issue 14's features (encoded corpora, views, format 2, the flat fast path).

Each test is a defect found by attacking them: it failed before its fix.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from corpusprep.feed.testing import synthetic_rows, write_shard
from corpusprep.feed.views import ViewConfig, ViewReader
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.pipeline import run_shard

from conftest import REPO, SHARED, SHARED_SKIP

VOCAB = SHARED / "reference" / "vocab" / "google_zh_vocab.txt"


def cli(*args, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *map(str, args)], cwd=cwd, capture_output=True, text=True)


def one_error_line(r: subprocess.CompletedProcess, start: str) -> None:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(f"error: {start}")


@pytest.fixture()
def encoded_dir(tmp_path) -> Path:
    if not VOCAB.exists():
        pytest.skip(f"{VOCAB} is absent: {SHARED_SKIP}")
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"第{i}篇文档，内容是一些中文字符和 words {i}。\n" * (1 + i % 3) + "\n" for i in range(40)),
                      encoding="utf-8")
    cfg = ShardConfig(corpus=(corpus,), out=tmp_path / "enc", vocab=VOCAB, encode_only=True, workers=1,
                      show_progress=False)
    return run_shard(cfg).out


def test_inspect_refuses_a_format1_row_with_an_edited_length(tmp_path):
    """`inspect` printed ``length -1`` / ``length 1000`` for a hand-edited format-1 length column
    (the loader and export refuse it): now one error line naming the row."""
    for bad in (-1, 1000):
        cols = synthetic_rows(12, "mlm", seq_len=8)
        cols["length"] = np.array(cols["length"]).copy()
        cols["length"][3] = bad
        d = write_shard(tmp_path / f"v1_{bad}", cols, "mlm", format_version=1)
        r = cli("inspect", d, "-n", "2", "--start", "2")
        one_error_line(r, f"{d}: row 3: length {bad}")
        assert cli("inspect", d, "-n", "2", "--start", "0").returncode == 0  # rows 0-1 are fine


def test_an_empty_cached_index_is_rebuilt_not_a_traceback(encoded_dir, tmp_path):
    """A 0-byte index file in the view cache (a full disk, a crash of another tool) raised EOFError."""
    view = ViewConfig("mlm", 16)
    first = ViewReader(encoded_dir, view, cache_dir=tmp_path / "cache")
    want = np.array(first.index)
    first.index_path.write_bytes(b"")
    again = ViewReader(encoded_dir, view, cache_dir=tmp_path / "cache")
    assert np.array_equal(np.asarray(again.index), want)
    assert again.index_path.stat().st_size > 0  # rewritten whole


@pytest.mark.parametrize("epoch,batch", [(0, -5), (-1, 0), ("x", 0)])
def test_a_state_with_a_negative_or_bad_position_is_refused(encoded_dir, tmp_path, epoch, batch):
    """A loader state edited to a negative epoch/batch raised a bare ValueError mid-iteration
    ("expected non-negative integer"); now load_state_dict refuses it in one ZooprepError."""
    from corpusprep.errors import ZooprepError
    from corpusprep.feed.views import view_loader

    def loader():
        return view_loader(encoded_dir, ViewConfig("mlm", 16), batch_size=4, seed=1, epochs=1, cache_dir=tmp_path)

    state = dict(loader().state_dict(), epoch=epoch, batch=batch)
    with pytest.raises(ZooprepError, match="cannot resume, the saved loader state has epoch"):
        loader().load_state_dict(state)
