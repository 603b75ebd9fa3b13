"""The README's two-stage walk-through runs as written, and stage 2 starts from stage 1's weights."""
from __future__ import annotations

import json
import os
import re
import subprocess

import torch

from conftest import REPO
from test_readme_quickstart import checkout_command, readme_commands

HEADING = "## Two-stage walk-through"


def _run(cmd: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(cmd, shell=True, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done


def _records(out: str) -> list[dict]:
    return [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]


def _first_step_loss(cmd: str) -> float:
    """The loss of the first batch, before any update (step 1 is logged with the loss it stepped on)."""
    recs = _records(_run(f"{cmd} --max-steps 1 --log-every 1 --workers 0").stdout)
    return next(r["loss"] for r in recs if r.get("step") == 1)


def test_readme_two_stage_walkthrough(tmp_path):
    commands = [checkout_command(c.replace("out/", f"{tmp_path}/out/")) for c in readme_commands(HEADING)]
    assert len(commands) == 6
    stage1 = next(c for c in commands if "--save-weights" in c and "--init-from" not in c)
    stage2 = next(c for c in commands if "--init-from" in c)
    outputs = [_run(c) for c in commands]
    for c, done in zip(commands, outputs):
        if " shard " in c:
            assert "padding share" in done.stderr and "no-target rows" in done.stderr
    start2 = _records(outputs[commands.index(stage2)].stdout)[0]
    assert start2["event"] == "start" and start2["seq_len"] == 512 and start2["init_from"].endswith("stage1.pt")
    weights = torch.load(tmp_path / "out/rw/stage1.pt", weights_only=True)
    assert set(weights) == {"format", "model", "card"}  # weights alone: no optimizer moments
    assert weights["model"]["pos.weight"].shape[0] == 512  # sized to the model, not to seq 128
    assert (tmp_path / "out/rw/stage2.pt").is_file()

    # Stage 2's first batch: stage 1's weights give a lower loss than a fresh model on the same batch.
    probe = re.sub(r" --save-weights \S+", "", stage2)
    fresh = re.sub(r" --init-from \S+", "", probe)
    assert fresh != probe and stage1 not in (probe, fresh)
    continued, scratch = _first_step_loss(probe), _first_step_loss(fresh)
    print(f"stage 2 first-batch loss: from stage 1 {continued}, fresh {scratch}")
    assert continued < scratch - 0.3, (continued, scratch)
