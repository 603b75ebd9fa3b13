"""examples/pretrain.py trains cls and t5 shards built by `shard` end to end on CPU, loss falls."""
from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

import pytest

from corpusprep.instances.config import ShardConfig
from corpusprep.instances.pipeline import run_shard

from conftest import REPO
CHARS = "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸"


@pytest.fixture(scope="module")
def pretrain():
    spec = importlib.util.spec_from_file_location("zooprep_pretrain_example_procs", REPO / "examples" / "pretrain.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _vocab(tmp_path: Path) -> Path:
    p = tmp_path / "vocab.txt"
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    p.write_text("\n".join(specials + list(CHARS) + [f"<extra_id_{i}>" for i in range(40)]) + "\n", encoding="utf-8")
    return p


def _corpus(tmp_path: Path, processor: str) -> Path:
    rng = random.Random(0)
    path = tmp_path / f"{processor}.txt"
    lines = []
    for _ in range(1500):
        if processor == "cls":  # the label is whether the first half of the alphabet dominates
            label = rng.randint(0, 1)
            pool = CHARS[:10] if label else CHARS[10:]
            lines.append(f"{label}\t" + "".join(rng.choice(pool) for _ in range(rng.randint(4, 20))))
        else:  # t5: counting runs, so masked spans are predictable from their context
            start = rng.randint(0, 9)
            lines.append("".join(CHARS[(start + k) % 20] for k in range(rng.randint(10, 40))))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("processor", ["cls", "t5"])
def test_example_trains_cls_and_t5_shards(tmp_path, pretrain, capsys, processor):
    out = tmp_path / "shard"
    run_shard(ShardConfig(corpus=(_corpus(tmp_path, processor),), out=out, vocab=_vocab(tmp_path), processor=processor,
                          seq_len=32, workers=1, show_progress=False))
    args = [str(out), "--max-steps", "60", "--batch-size", "16", "--size", "nano", "--device", "cpu", "--workers", "0",
            "--log-every", "1", "--seed", "1", "--threads", "1"] + (["--masking", "span"] if processor == "t5" else [])
    summary = pretrain.train(pretrain.parse_args(args))
    recs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert recs[0]["processor"] == processor and recs[0]["model"] == ("t5" if processor == "t5" else "roberta")
    losses = [r["loss"] for r in recs if "loss" in r]
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first - 0.2, losses
    assert summary["steps"] == 60
