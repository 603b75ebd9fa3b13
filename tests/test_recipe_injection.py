"""Issue 20 defect 13: a printed recipe is safe to paste whatever the user typed (comment lines included)."""
from __future__ import annotations

import subprocess

import pytest

from manifests.recipe_commands import OwnData, build_plan, comment

HOSTILE = "my corpus\n: > PWNED; echo $(: > PWNED2) `: > PWNED3`\n'q\" \\\r\u2028x"


def _source(script: str, folder, env: dict) -> None:
    """Run the text with bash in ``folder``, every external command a no-op (only the shell itself acts)."""
    subprocess.run(["/bin/bash", "-c", "command_not_found_handle() { return 0; }\n" + script], cwd=folder,
                   env={"PATH": "/nonexistent", **env}, capture_output=True, timeout=60)


def test_comment_never_ends_its_line(tmp_path):
    line = comment(HOSTILE)
    assert line.startswith("# ") and "\n" not in line and "\r" not in line and "\u2028" not in line
    _source("# " + HOSTILE, tmp_path, {})  # the harness sees what a plain comment line let through
    assert (tmp_path / "PWNED").exists()


def test_a_newline_in_corpus_cannot_start_a_command(tmp_path):
    from manifests.command import _catalog

    cat = _catalog()
    model = next(m for m in cat.models if cat.recipe_of(m) is not None)
    plan = build_plan(cat, model, "zooprep", own=OwnData(HOSTILE, vocab=HOSTILE + ".txt"))
    text = plan.text()
    assert "PWNED" in text
    _source(text, tmp_path, {u.var: "1" for u in plan.unknown})
    assert sorted(p.name for p in tmp_path.iterdir()) == []
