"""examples/pretrain.py trains from a shard directory on CPU, loss falls, and a run resumes."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from corpusprep.feed.testing import demo_texts, write_char_shard

REPO = Path(__file__).resolve().parent.parent


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
def test_example_trains_with_falling_loss(tmp_path, pretrain, capsys, processor):
    shard = write_char_shard(tmp_path / processor, demo_texts(200_000), processor, seq_len=32)
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


def test_example_resumes_where_it_stopped(tmp_path, pretrain, capsys):
    shard = write_char_shard(tmp_path / "mlm", demo_texts(50_000), "mlm", seq_len=32)
    state = tmp_path / "state.pt"
    base = [str(shard), "--batch-size", "8", "--size", "nano", "--device", "cpu", "--workers", "0", "--log-every", "5",
            "--threads", "1"]
    pretrain.train(pretrain.parse_args(base + ["--max-steps", "10", "--save-state", str(state)]))
    saved = __import__("torch").load(state, weights_only=True)
    assert saved["step"] == 10
    loader_state = json.loads(saved["loader"][0])
    per_epoch = -(-loader_state["rows"] // 8)
    assert loader_state["epoch"] * per_epoch + loader_state["batch"] == 10
    capsys.readouterr()
    summary = pretrain.train(pretrain.parse_args(base + ["--max-steps", "15", "--resume", str(state)]))
    recs = _records(capsys.readouterr().out)
    assert recs[0]["start_step"] == 10 and summary["steps"] == 15
