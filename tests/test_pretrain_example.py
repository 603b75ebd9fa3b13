"""examples/pretrain.py trains from a real shard directory on CPU, loss falls, and a resumed run's
losses equal an uninterrupted run's."""
from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def pretrain():
    spec = importlib.util.spec_from_file_location("zooprep_pretrain_example", REPO / "examples" / "pretrain.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def _records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("processor", ["mlm", "lm"])
def test_example_trains_with_falling_loss(real_shards, pretrain, capsys, processor):
    shard = real_shards(processor, seq_len=32)
    args = [str(shard), "--max-steps", "60", "--batch-size", "16", "--size", "nano", "--device", "cpu", "--workers", "0",
            "--log-every", "1", "--seed", "1", "--threads", "1"]
    summary = pretrain.train(pretrain.parse_args(args))
    recs = _records(capsys.readouterr().out)
    assert recs[0]["event"] == "start" and recs[0]["model"] == ("gpt2" if processor == "lm" else "roberta")
    losses = [r["loss"] for r in recs if "loss" in r]
    assert len(losses) == 60 and all(r["samples_per_s"] > 0 for r in recs if "loss" in r)
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first - 0.3, losses
    assert summary["steps"] == 60


def _losses(pretrain, capsys, args) -> tuple[dict, dict[int, float]]:
    capsys.readouterr()
    summary = pretrain.train(pretrain.parse_args(args))
    recs = _records(capsys.readouterr().out)
    return recs, {r["step"]: r["loss"] for r in recs if "loss" in r}


@pytest.mark.parametrize("processor,workers_after", [("mlm", 0), ("bert", 1)])
def test_resumed_run_equals_the_uninterrupted_run(tmp_path, real_shards, pretrain, capsys, processor, workers_after):
    """Stop after step 7 and resume: steps 8..16 give the losses of one uninterrupted 16-step run
    (same batches, same masks, same dropout, same optimizer and schedule state)."""
    shard = real_shards(processor, seq_len=32)
    state = tmp_path / "state.pt"
    base = [str(shard), "--batch-size", "8", "--size", "nano", "--device", "cpu", "--log-every", "1",
            "--threads", "1", "--seed", "3", "--max-steps", "16"]
    _, whole = _losses(pretrain, capsys, base + ["--workers", "0"])
    assert sorted(whole) == list(range(1, 17))
    recs, first = _losses(pretrain, capsys, base + ["--workers", "0", "--stop-at", "7", "--save-state", str(state)])
    assert sorted(first) == list(range(1, 8))
    saved = __import__("torch").load(state, weights_only=True)
    assert saved["step"] == 7
    loader_state = json.loads(saved["loader"][0])
    per_epoch = -(-loader_state["rows"] // 8)
    assert loader_state["epoch"] * per_epoch + loader_state["batch"] == 7
    recs, rest = _losses(pretrain, capsys, base + ["--workers", str(workers_after), "--resume", str(state)])
    assert recs[0]["start_step"] == 7 and sorted(rest) == list(range(8, 17))
    assert {**first, **rest} == whole
