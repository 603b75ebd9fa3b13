"""The README's quick start runs as written, on the embedded demo corpus."""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys

from conftest import REPO


def checkout_command(cmd: str) -> str:
    """The installed ``zooprep`` command as this checkout runs it (the console script may be another copy's)."""
    python = shlex.quote(sys.executable)
    cmd = re.sub(r"(^|\| )zooprep ", rf"\g<1>{python} cli.py ", cmd)
    return re.sub(r"^python ", f"{python} ", cmd)


def readme_commands(heading: str) -> list[str]:
    """The first bash block after ``heading``, one command per line (continuations joined, comments dropped)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    joined = block.replace("\\\n", " ")
    return [ln.split("  #")[0].strip() for ln in joined.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def test_readme_quickstart_runs_on_demo_corpus(tmp_path):
    commands = readme_commands("## Quick start")
    assert any(c.startswith("zooprep clean demo/") for c in commands)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for cmd in commands:
        cmd = checkout_command(cmd.replace("out/", f"{tmp_path}/out/"))
        done = subprocess.run(cmd, shell=True, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{cmd}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    report = json.loads((tmp_path / "out/demo-clean/report.json").read_text(encoding="utf-8"))
    assert report["read"] == report["kept"] + sum(report["dropped"].values())
    assert report["kept"] > 1000
    assert (tmp_path / "out/demo-mlm/zooprep.json").is_file()
    # the exported dataset.pt holds every instance of the shard, each framed to seq_len
    from corpusprep.feed.export import iter_uer_dataset

    meta = json.loads((tmp_path / "out/demo-mlm/zooprep.json").read_text(encoding="utf-8"))
    exported = list(iter_uer_dataset(tmp_path / "out/demo-mlm.pt"))
    assert len(exported) == meta["counts"]["instances"] > 0
    assert all(len(inst[0][0]) + inst[0][1] == meta["seq_len"] for inst in exported)
