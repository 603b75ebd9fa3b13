"""RayExecutor keeps the Executor contract (ordered results, bounded in-flight work, real errors),
and `clean` + `shard` on Ray give the same bytes as on local processes.

Skipped when Ray is not installed (it is an optional extra: pip install -e '.[ray]').
"""
from __future__ import annotations

import gc
import operator
import sys
import time
from pathlib import Path

import pytest

from corpusprep.errors import ZooprepError
from corpusprep.executors import make_executor
from test_scale_executors import check_bounded_window as _check_bounded_window
from test_scale_resume import env, snapshot  # noqa: F401  (fixture + helper shared with the resume tests)


def test_missing_ray_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    with pytest.raises(ZooprepError, match=r"pip install -e '\.\[ray\]'"):
        make_executor("ray", 2)


@pytest.fixture(scope="module")
def ray_executor():
    pytest.importorskip("ray", reason="Ray is an optional extra (pip install -e '.[ray]'); not installed here")
    from corpusprep.ray_executor import RayExecutor

    ex = RayExecutor(workers=2, window=3)
    yield ex
    ex.close()


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
    # zooprep.json names its source files by path, which differ between the two runs
    strip = lambda files: {k: v for k, v in files.items() if k != "zooprep.json"}  # noqa: E731
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
