"""The CLI surface a newcomer reads first: `zoo list` fits 100 columns, `pretrain-example --help`
looks like every other command's help and documents the --size presets, docs use `zooprep`."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _cli(*args, columns: int = 100) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS=str(columns), TERM="dumb")
    return subprocess.run([sys.executable, "cli.py", *args], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env=env)


def test_zoo_list_fits_100_columns_and_wide_has_every_column():
    narrow = _cli("zoo", "list").stdout.splitlines()
    assert len(narrow) > 80 and max(map(len, narrow)) <= 100
    assert narrow[0].split() == ["id", "family", "L/H", "seq", "recipe"]
    wide = _cli("zoo", "list", "--wide").stdout.splitlines()
    assert "hf_id" in wide[0].split() and "download" in wide[0].split() and max(map(len, wide)) > 100


def test_pretrain_example_help_is_typer_style_with_size_presets():
    res = _cli("pretrain-example", "--help")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "Usage: zooprep pretrain-example [OPTIONS] SHARD_DIR" in out
    assert "─ Options ─" in out and "─ Arguments ─" in out and "Size presets" in out
    from corpusprep.pretrain_example_command import load_trainer

    trainer = load_trainer()
    for name, (layers, hidden, heads, ff) in trainer.SIZES.items():  # every preset, with its shape
        assert re.search(rf"{name}\s+{layers}\s+{hidden}\s+{heads}\s+{ff}\b", out), name
    for action in trainer.build_parser()._actions:  # every option of the trainer's own parser
        for flag in action.option_strings:
            assert flag in out, flag


def test_docs_use_the_installed_command():
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "demo" / "README.md"]:
        text = page.read_text(encoding="utf-8")
        lines = [ln for ln in text.splitlines() if "python cli.py" in ln and "= `zooprep" not in ln
                 and "checkout" not in ln]  # the one sentence saying cli.py is the same command
        assert not lines, (page.name, lines[:3])
