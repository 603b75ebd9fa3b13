"""mutmut in the loop (issue 25): a fixed sample of mutants of the core modules, run by the real tool on
a copy of this checkout; each must be killed by a test or argued equivalent in docs/testing.md.

The full run over every core module is `mutmut run` with [tool.mutmut] of pyproject.toml (minutes to
an hour; see docs/testing.md). This sample is what fits CI: the thresholds, option ranges, fingerprint,
header / text-column, ownership and vocab functions this suite states properties of, against the fast in-process tests of
tests/test_regressions_r2.py (about a minute of CPU on 2 cores).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mutmut_triage as triage

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ZOOPREP_SHARED", REPO.parent / "shared"))

SAMPLE_FILES = ["corpusprep/options.py", "corpusprep/cleaning/config.py", "corpusprep/cleaning/ops.py",
                "corpusprep/readers/tables.py", "corpusprep/outdir/ownership.py", "zh_tokenizers/vocab_build.py"]
SAMPLE_MUTANTS = [
    "corpusprep.options.x_number__mutmut_*", "corpusprep.options.x_integer__mutmut_*",
    "corpusprep.cleaning.config.*", "corpusprep.cleaning.ops.x_filter_*",
    "corpusprep.readers.tables.x_infer_text_column__mutmut_*", "corpusprep.readers.tables.x_looks_like_header__mutmut_*",
    "corpusprep.outdir.ownership.x__inside__mutmut_*", "corpusprep.outdir.ownership.x_check_outside_inputs__mutmut_*",
    "zh_tokenizers.vocab_build.x_extend_vocab__mutmut_*",
]
SAMPLE_TESTS = ["tests/test_regressions_r2.py", "-k", "not sighup and not one_line and not trainer_option"]
_IGNORE = shutil.ignore_patterns(".git", "__pycache__", ".pytest_cache", ".hypothesis", "*.egg-info", "mutants", ".venv", ".whl",
                                 "build", "bench_out", "out")


def _toml_list(items) -> str:
    return "[" + ", ".join('"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items) + "]"


def sample_pyproject(text: str) -> str:
    """pyproject.toml with [tool.mutmut] narrowed to the sample (every other key kept)."""
    start = text.index("[tool.mutmut]")
    nxt = re.search(r"^\[(?!tool\.mutmut\])", text[start + 1:], flags=re.M)
    end = start + 1 + nxt.start() if nxt else len(text)
    section = text[start:end]
    section = re.sub(r"^only_mutate = \[.*?\]\n", f"only_mutate = {_toml_list(SAMPLE_FILES)}\n", section,
                     flags=re.M | re.S)
    section = re.sub(r"^pytest_add_cli_args_test_selection = \[.*?\]\n",
                     f"pytest_add_cli_args_test_selection = {_toml_list(SAMPLE_TESTS)}\n", section, flags=re.M | re.S)
    assert SAMPLE_FILES[0] in section and SAMPLE_TESTS[-1] in section, "pyproject's [tool.mutmut] changed shape"
    return text[:start] + section + text[end:]


def test_the_triage_table_parses_and_every_row_has_a_verdict():
    known = triage.triaged()
    assert known, "docs/testing.md has no survivors table"
    assert all(v.split(":")[0].strip() in ("equivalent", "killed", "accepted") for v in known.values()), known


@pytest.mark.slow
def test_sampled_mutants_of_the_core_are_killed_or_triaged(tmp_path):
    pytest.importorskip("mutmut")
    work = tmp_path / "tree"
    shutil.copytree(REPO, work, ignore=_IGNORE)
    pyproject = work / "pyproject.toml"
    pyproject.write_text(sample_pyproject(pyproject.read_text(encoding="utf-8")), encoding="utf-8")
    env = dict(os.environ, ZOOPREP_SHARED=str(SHARED.resolve()), PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)  # mutmut puts its mutants/ folder first on sys.path itself
    done = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", "2", *SAMPLE_MUTANTS], cwd=work,
                          env=env, capture_output=True, text=True, timeout=900)
    tail = (done.stdout + done.stderr)[-3000:]
    assert done.returncode == 0, tail
    res = {n: c for n, c in triage.results(work / "mutants").items()
           if any(__import__("fnmatch").fnmatch(n, g) for g in SAMPLE_MUTANTS)}
    checked = {n: c for n, c in res.items() if c is not None}
    assert len(checked) >= 100, f"only {len(checked)} sampled mutants ran: {tail}"
    no_tests = sorted(n for n, c in checked.items() if c in (5, 33))
    assert not no_tests, f"sampled functions no test of the sample reaches: {no_tests[:10]}"
    odd = {n: c for n, c in checked.items() if c not in (0, 1, 3)}
    assert not odd, f"timeouts / crashes (not kills): {odd}"
    known = triage.triaged()
    new = {n: k for n, k in triage.survivors(work / "mutants", set(checked)).items() if k not in known}
    assert not new, ("surviving mutants not triaged in docs/testing.md (add a test that kills each, or a row "
                     "arguing it equivalent):\n" + "\n".join(f"| `{k}` | ... |   <- {n}" for n, k in new.items()))
