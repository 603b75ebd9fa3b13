"""The suite's own rules (tests/conftest.py): skips are counted by reason at the end, a run fails when
tests that need ../shared skip although it is present, and Hypothesis is derandomised by default."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO
# one test that needs ../shared/reference/vocab/google_zh_vocab.txt, one that needs nothing
SELECTION = ["tests/test_manifest_catalog.py::test_tokenizers_match_the_vocab_files",
             "tests/test_manifest_catalog.py::test_stage_ref"]


def _pytest(shared: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, ZOOPREP_SHARED=str(shared))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SELECTION],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_skips_are_summed_up_by_reason_and_pass_when_shared_is_absent(tmp_path):
    done = _pytest(tmp_path / "no-such-dir")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "skipped tests by reason" in done.stdout
    assert "1 tests skipped:" in done.stdout and "1 of them need" in done.stdout and "(absent)" in done.stdout


def test_run_fails_when_shared_is_present_but_its_tests_skip(tmp_path):
    empty = tmp_path / "shared"
    empty.mkdir()  # present, but without the vocab the test needs
    done = _pytest(empty)
    assert done.returncode == 1, done.stdout[-2000:]
    assert "1 tests skipped:" in done.stdout
    assert "FAIL:" in done.stdout and "(present)" in done.stdout


def test_hypothesis_is_derandomised_unless_asked_otherwise():
    from hypothesis import settings

    if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci":
        assert settings.default.derandomize and settings.default.deadline is None
    long = settings.get_profile("long")
    assert long.max_examples > settings.get_profile("ci").max_examples and not long.derandomize
