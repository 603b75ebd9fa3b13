"""Shared fixtures: where the reference material and corpus samples live (read, never copied)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ZOOPREP_SHARED", REPO.parent / "shared"))
DEMO = REPO / "demo"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared reference material (../shared) is not laid beside this checkout")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return _need(SHARED)


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    return _need(SHARED / "corpora")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return _need(SHARED / "reference")


@pytest.fixture(scope="session")
def google_vocab() -> Path:
    return _need(SHARED / "reference" / "vocab" / "google_zh_vocab.txt")


@pytest.fixture(scope="session")
def clue_spm() -> Path:
    return _need(SHARED / "reference" / "vocab" / "cluecorpussmall_spm.model")


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return _need(DEMO)
