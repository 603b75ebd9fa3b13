"""One rerun rule for every command that writes (corpusprep/outdir/rerun.py, README "Commands"):

* the same command, inputs and options on a finished output: exit 0, "already complete", nothing rewritten;
* a changed option: exit 2, one line naming the option (and nothing rewritten); ``--overwrite`` rebuilds;
* a changed input: exit 2 naming the input;
* killed, then the same command: it resumes and finishes (exit 0, not "already complete").
"""
from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_scale_kill import kill_hook, run_cli as run_killed  # noqa: F401 (kill_hook is a fixture)

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "demo" / "cluecorpussmall" / "clue_sampled.txt"


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


@dataclass
class Case:
    name: str
    argv: list  # with {w} for the work folder
    out: str  # the file or folder the rule guards, under {w}
    changed: tuple  # a changed option: (flag, value...)
    kill: str | None = None  # a kill point of test_scale_kill's hook (its N-th unit result or os.replace)


CASES = [
    Case("clean", ["clean", CORPUS, "--format", "text", "--out", "{w}/clean", "-j", "1"], "clean",
         ("--num-shards", "2"), kill="event:2"),
    Case("build-vocab", ["build-vocab", CORPUS, "--out", "{w}/vocab.txt", "--workers", "1"], "vocab.txt",
         ("--min-freq", "2"), kill="event:2"),  # staged commit: the vocab renamed, killed before its card
    Case("build-spm", ["build-spm", CORPUS, "--out-prefix", "{w}/spm", "--vocab-size", "800"], "spm.model",
         ("--vocab-size", "900"), kill="event:3"),
    Case("shard", ["shard", CORPUS, "--out", "{w}/shard", "--vocab", "{w}/base_vocab.txt", "--seq-len", "64",
                   "--workers", "1"], "shard", ("--seq-len", "32"), kill="event:2"),
    Case("shard --encode-only", ["shard", CORPUS, "--out", "{w}/enc", "--vocab", "{w}/base_vocab.txt",
                                 "--encode-only", "--workers", "1"], "enc", ("--seed", "3"), kill="event:2"),
    Case("shard --compat uer", ["shard", CORPUS, "--out", "{w}/compat", "--vocab", "{w}/base_vocab.txt",
                                "--seq-len", "64", "--compat", "uer", "--workers", "1"], "compat",
         ("--workers", "2"), kill="event:2"),  # --processes_num: here the worker count changes the bytes
    Case("export", ["export", "{w}/base_shard", "--to", "uer", "--out", "{w}/dataset.pt"], "dataset.pt",
         ("--to", "hf"), kill="event:2"),  # dataset.pt renamed, [killed] before the card
    Case("zoo config", ["zoo", "config", "gpt2-cluecorpussmall", "--layers", "2", "--hidden", "64",
                        "--out", "{w}/config.json"], "config.json", ("--layers", "3"), kill="event:2"),
    Case("zoo render", ["zoo", "render", "--out", "{w}/page.md"], "page.md", ("--lang", "en"), kill="event:2"),
]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A vocab and a finished shard the commands above read."""
    w = tmp_path_factory.mktemp("rerun-base")
    assert cli("build-vocab", CORPUS, "--out", w / "base_vocab.txt", "--workers", "1").returncode == 0
    r = cli("shard", CORPUS, "--out", w / "base_shard", "--vocab", w / "base_vocab.txt", "--seq-len", "64",
            "--workers", "1")
    assert r.returncode == 0, r.stderr
    return w


def _argv(case: Case, w: Path, base: Path) -> list[str]:
    return [str(a).replace("{w}/base", f"{base}/base").replace("{w}", str(w)) for a in case.argv]


def _state(path: Path) -> dict:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and ".zooprep" not in p.parts)
    return {str(p): (p.stat().st_mtime_ns, p.read_bytes()) for p in files}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_is_a_noop_changed_is_refused_by_name_overwrite_rebuilds(case, base, tmp_path):
    argv = _argv(case, tmp_path, base)
    first = cli(*argv)
    assert first.returncode == 0, first.stderr
    out = tmp_path / case.out
    before = _state(out)
    same = cli(*argv)
    assert same.returncode == 0, same.stderr
    assert "already complete" in same.stderr
    assert _state(out) == before  # nothing rewritten
    changed = cli(*argv, *case.changed)
    assert changed.returncode == 2, changed.stderr
    lines = changed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and case.changed[0] in lines[0], lines
    assert "--overwrite" in lines[0]
    assert _state(out) == before
    again = cli(*argv, *case.changed, "--overwrite")
    assert again.returncode == 0, again.stderr
    assert "already complete" not in again.stderr
    assert cli(*argv, *case.changed).returncode == 0  # now the finished output is the changed one


@pytest.mark.parametrize("name", ["shard", "build-vocab"])
def test_a_changed_input_is_refused_by_name(name, base, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(CORPUS.read_bytes())
    case = next(c for c in CASES if c.name == name)
    argv = [str(corpus) if a == str(CORPUS) else a for a in _argv(case, tmp_path, base)]
    assert cli(*argv).returncode == 0
    with corpus.open("a", encoding="utf-8") as fh:
        fh.write("新加的一行文字，让输入变了。\n")
    r = cli(*argv)
    assert r.returncode == 2 and "inputs changed" in r.stderr and str(corpus) in r.stderr, r.stderr
    assert cli(*argv, "--overwrite").returncode == 0


@pytest.mark.parametrize("case", [c for c in CASES if c.kill], ids=[c.name for c in CASES if c.kill])
def test_killed_then_the_same_command_resumes(case, base, tmp_path, kill_hook):  # noqa: F811
    argv = _argv(case, tmp_path, base)
    killed, _ = run_killed(kill_hook, argv, kill_at=case.kill, sig=signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr[-2000:])
    resumed = cli(*argv)
    assert resumed.returncode == 0, resumed.stderr
    if (tmp_path / case.out).is_dir():  # a directory resumes its units; a file output killed inside its
        assert "already complete" not in resumed.stderr  # staged commit is rolled forward (outdir.fileout)
    assert "already complete" in cli(*argv).stderr
    assert (tmp_path / case.out).exists()
    if (tmp_path / case.out).is_dir():
        assert cli("verify", tmp_path / case.out).returncode == 0
