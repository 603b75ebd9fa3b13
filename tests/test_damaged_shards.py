"""Edited and damaged shard directories, view caches and loader states (encoded corpora, views,
format 2): one error line or a rebuilt cache, never a traceback or wrong rows.

Each test is a defect found by attacking these features (issue 14): it failed before its fix.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from corpusprep.feed.views import ViewConfig, ViewReader
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.pipeline import run_shard

from conftest import SHARED, SHARED_SKIP, cli
from shard_writer import synthetic_rows, write_shard

VOCAB = SHARED / "reference" / "vocab" / "google_zh_vocab.txt"


def one_error_line(r: subprocess.CompletedProcess, start: str) -> None:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(f"error: {start}")


@pytest.fixture()
def encoded_dir(tmp_path) -> Path:
    if not VOCAB.exists():
        pytest.skip(f"{VOCAB} is absent: {SHARED_SKIP}")
    corpus = tmp_path / "c.txt"
    docs = (f"第{i}篇文档，内容是一些中文字符和 words {i}。\n" * (1 + i % 3) for i in range(40))
    corpus.write_text("\n".join(docs), encoding="utf-8")
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


def _edited(tmp_path, name, fmt, **fields) -> Path:
    import json

    d = write_shard(tmp_path / name, synthetic_rows(10, "lm", seq_len=8), "lm", format_version=fmt)
    meta = json.loads((d / "zooprep.json").read_text())
    meta.update(fields)
    (d / "zooprep.json").write_text(json.dumps(meta))
    return d


@pytest.mark.parametrize("fmt", [1, 2])
def test_inspect_checks_zooprep_json_as_the_loader_does(tmp_path, fmt):
    """`inspect` printed rows of a directory whose zooprep.json the loader and export refuse
    (format_version 0, a processor whose row_len disagrees): now the same one-line error."""
    for name, fields, why in [("fv0", {"format_version": 0}, "format_version 0 is not one"),
                              ("proc", {"processor": "bilm"}, "row_len 9 does not match seq_len 8")]:
        d = _edited(tmp_path, f"{name}{fmt}", fmt, **fields)
        for args in (["inspect", d, "-n", "1"], ["export", d, "--to", "hf", "--out", tmp_path / f"{name}{fmt}.hf"]):
            one_error_line(cli(*args), f"{d / 'zooprep.json'}: {why}")


def test_a_zooprep_json_that_is_not_an_object_is_one_error_line(tmp_path, encoded_dir):
    """zooprep.json holding a JSON list gave an AttributeError traceback in inspect, export, the shard
    loader and views (`verify` already said so in one line)."""
    d = write_shard(tmp_path / "list", synthetic_rows(10, "mlm", seq_len=8), "mlm")
    (d / "zooprep.json").write_text("[]")
    for args in (["inspect", d], ["export", d, "--to", "uer", "--out", tmp_path / "x.pt"]):
        one_error_line(cli(*args), f"{d / 'zooprep.json'}: expected a JSON object")
    from corpusprep.errors import InputError
    from corpusprep.feed.shards import ShardReader

    with pytest.raises(InputError, match="expected a JSON object"):
        ShardReader(d)
    with pytest.raises(InputError, match="expected a JSON object"):
        ViewReader(d, ViewConfig("mlm", 8), cache_dir=None)


@pytest.mark.parametrize("size", [2**63 - 1, 2**63, 2.5, True, "7"])
def test_view_docs_buffer_size_takes_shards_bounds(encoded_dir, size):
    """docs_buffer_size past int64, a float, a bool or a string gave IndexError/OverflowError/TypeError
    tracebacks (or, for True, silently a buffer of 1); now the ZooprepError `shard` gives."""
    from corpusprep.errors import ZooprepError

    with pytest.raises(ZooprepError, match="docs_buffer_size must be"):
        ViewReader(encoded_dir, ViewConfig("mlm", 16, True, size), cache_dir=None)


def _copy_without_marker(src: Path, dst: Path) -> Path:
    """`cp enc/* dst/`: the visible files only (no .zooprep), as a user copies a dataset."""
    import shutil

    dst.mkdir()
    for f in src.iterdir():
        if f.is_file():
            shutil.copy2(f, dst / f.name)
    return dst


def test_the_cache_never_serves_rows_other_than_the_current_unit_documents(encoded_dir, tmp_path):
    """The index key ignored encoded.unit_documents: after an edit of them (same total), the cache
    served the old full-sentences rows while cache_dir=None cut new ones. Negative counts were taken."""
    import json

    from corpusprep.errors import InputError

    d = _copy_without_marker(encoded_dir, tmp_path / "copy")
    meta = json.loads((d / "zooprep.json").read_text())
    total = sum(meta["encoded"]["unit_documents"])
    view = ViewConfig("mlm", 16, True, 3)
    ViewReader(d, view, cache_dir=tmp_path / "cache")  # caches the index for the recorded units
    meta["encoded"]["unit_documents"] = [1, total - 1]
    (d / "zooprep.json").write_text(json.dumps(meta))
    cached = ViewReader(d, view, cache_dir=tmp_path / "cache")
    fresh = ViewReader(d, view, cache_dir=None)
    assert np.array_equal(np.asarray(cached.index), np.asarray(fresh.index))
    meta["encoded"]["unit_documents"] = [total + 5, -5]
    (d / "zooprep.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="negative count"):
        ViewReader(d, view, cache_dir=None)


def _cut_inside_last_batch(d: Path) -> None:
    part = sorted(d.glob("*.arrow"))[0]
    data = part.read_bytes()
    part.write_bytes(data[:-50])  # inside the last record batch's body (the end marker is 8 bytes)


def test_a_part_cut_inside_a_record_batch_is_one_error(tmp_path, encoded_dir):
    """A part truncated inside a record batch (a marker-less copy, so no size check first) raised a
    bare OSError from pyarrow in the shard loader and in views; now InputError naming the part."""
    from corpusprep.errors import InputError
    from corpusprep.feed.shards import ShardReader

    for fmt in (1, 2):
        d = write_shard(tmp_path / f"v{fmt}", synthetic_rows(30, "mlm", seq_len=8), "mlm", format_version=fmt)
        _cut_inside_last_batch(d)
        with pytest.raises(InputError, match="not an Arrow stream file"):
            ShardReader(d)
    d = _copy_without_marker(encoded_dir, tmp_path / "enc_copy")
    _cut_inside_last_batch(d)
    with pytest.raises(InputError, match="not an Arrow stream file"):
        ViewReader(d, ViewConfig("mlm", 16), cache_dir=None)


@pytest.mark.parametrize("flag", ["no", 0, None])
def test_view_full_sentences_must_be_a_bool(encoded_dir, flag):
    """ViewConfig("mlm", 16, "no") silently cut --full-sentences rows ("no" is truthy)."""
    from corpusprep.errors import ZooprepError

    with pytest.raises(ZooprepError, match="full_sentences must be True or False"):
        ViewReader(encoded_dir, ViewConfig("mlm", 16, flag), cache_dir=None)
