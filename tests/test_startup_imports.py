"""Start-up: a command imports what it needs. `shard` never loads the catalog (manifests.*, its
pydantic schema, yaml), torch or rich; `--help` none of pydantic, torch or rich. (The CPU-seconds
are measured in benchmarks/bench_startup.py, never asserted here.)"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent
SHARD_NEVER = ("manifests", "pydantic", "pydantic_core", "yaml", "torch", "rich")


def imported(*args: str, cwd: Path = REPO) -> tuple[set[str], subprocess.CompletedProcess]:
    """The modules a `python -X importtime cli.py ARGS` run imported (every import is listed on stderr)."""
    run = subprocess.run([sys.executable, "-X", "importtime", "cli.py", *args], cwd=cwd, capture_output=True,
                         text=True)
    mods = {line.split("|")[2].strip() for line in run.stderr.splitlines()
            if line.startswith("import time:") and "imported package" not in line}
    return mods, run


def roots(mods: set[str], banned: tuple[str, ...]) -> list[str]:
    return sorted(m for m in mods if m.split(".")[0] in banned)


@pytest.fixture()
def tiny(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"一二三四五六七八九十"]) + "\n",
                     encoding="utf-8")
    corpus = tmp_path / "c.txt"
    corpus.write_text("一二三四五六七\n八九十一二\n" * 40, encoding="utf-8")
    return vocab, corpus


def test_shard_imports_neither_the_catalog_nor_torch(tmp_path, tiny):
    vocab, corpus = tiny
    mods, run = imported("shard", str(corpus), "--out", str(tmp_path / "out"), "--vocab", str(vocab),
                         "--seq-len", "8", "--workers", "1")
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "out" / "zooprep.json").is_file()
    assert "corpusprep.instances.pipeline" in mods and "pyarrow" in mods  # the listing is complete
    assert roots(mods, SHARD_NEVER) == []
    assert "multiprocessing" not in mods  # one worker: no pool


def test_shard_with_a_recorded_manifest_still_loads_the_catalog(tmp_path, tiny):
    """The lean path is not a lost feature: naming a zoo dataset checks it against the catalog."""
    vocab, corpus = tiny
    mods, run = imported("shard", str(corpus), "--out", str(tmp_path / "out"), "--vocab", str(vocab),
                         "--seq-len", "8", "--workers", "1", "--manifest-dataset", "no-such-dataset")
    assert run.returncode == 2 and "no-such-dataset" in run.stderr.splitlines()[-1]
    assert "manifests.catalog" in mods


def test_help_imports_no_pydantic_torch_or_rich():
    mods, run = imported("--help")
    assert run.returncode == 0 and "shard" in run.stdout and "zoo" in run.stdout
    assert roots(mods, ("pydantic", "pydantic_core", "torch", "rich")) == []


def test_option_values_are_converted_and_checked_without_pydantic(tmp_path, tiny):
    vocab, corpus = tiny
    base = ["shard", str(corpus), "--out", str(tmp_path / "o"), "--vocab", str(vocab)]
    mods, run = imported(*base, "--seq-len", "x")
    assert run.returncode == 2 and "'x' is not a valid integer" in run.stderr
    _, run = imported(*base, "--unit-mb", "1e-3", "--seq-len", " 8", "--workers", "1")
    assert run.returncode == 0, run.stderr[-2000:]
    _, run = imported(*base, "--unit-mb", "lots", "--overwrite")
    assert run.returncode == 2 and "'lots' is not a valid float" in run.stderr
    assert roots(mods, ("pydantic",)) == []


def test_plain_converter_leaves_other_annotations_to_typer():
    from typing import List, Optional

    from corpusprep.cli_params import plain_converter

    coercion = pytest.importorskip("typer._coercion")
    from typer.models import OptionInfo

    def desc(annotation, **kw):
        return coercion.resolve_type_descriptor(annotation, OptionInfo(**kw))

    assert plain_converter(desc(Optional[Path]))[0]("a/b") == Path("a/b")
    assert plain_converter(desc(List[Path]))[1] is True
    assert plain_converter(desc(int))[0]("12") == 12
    with pytest.raises(ValueError):
        plain_converter(desc(int))[0]("1.5")
    assert plain_converter(desc(int, min=1)) is None  # a range: typer's own checks
    assert plain_converter(desc(Path, exists=True)) is None
