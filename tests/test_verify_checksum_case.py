"""`verify` compares sha256 digests case-insensitively: a digest recorded in upper case (as some tools
write them) is the same digest. Checked on real `shard` and `clean` outputs whose recorded digests are
all rewritten in upper case (including digests of metadata files that other metadata records)."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from corpusprep.verify import verify_dir

HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _reseal(obj):
    """A metadata file protected by its own checksum (the output-directory journal) gets it recomputed
    by the journal's own function: the test rewrites digests, not the journal's rules."""
    if isinstance(obj, dict) and "checksum" in obj:
        try:
            from corpusprep.outdir.complete import _self_checksum
        except ImportError:
            return obj
        obj["checksum"] = _self_checksum(obj)
    return obj


def upper_case_every_recorded_digest(root: Path) -> int:
    """Rewrite every 64-hex string in the directory's JSON files in upper case; where it is the digest of
    another JSON file we rewrote, record that file's new digest (in upper case). Returns how many
    digests were rewritten."""
    files = [p for p in root.rglob("*.json") if p.is_file()]
    history = {p: {_sha(p)} for p in files}  # every digest each JSON file has had
    changed = 0
    for _ in range(len(files) + 1):  # metadata records metadata only one way: this settles
        stable = True
        for p in files:
            current = {q: _sha(q) for q in files}

            def fix(value):
                nonlocal changed
                if isinstance(value, dict):
                    return {k: fix(v) for k, v in value.items()}
                if isinstance(value, list):
                    return [fix(v) for v in value]
                if isinstance(value, str) and HEX64.match(value):
                    for q, seen in history.items():
                        if value.lower() in seen:
                            value = current[q]
                    if value != value.upper():
                        changed += 1
                    return value.upper()
                return value

            text = p.read_text(encoding="utf-8")
            new = json.dumps(_reseal(fix(json.loads(text))), ensure_ascii=False, indent=1)
            if new != text:
                p.write_text(new, encoding="utf-8")
                history[p].add(_sha(p))
                stable = False
        if stable:
            return changed
    raise AssertionError("recorded digests did not settle")


@pytest.fixture()
def shard_out(real_shards, tmp_path) -> Path:
    out = tmp_path / "shard"
    shutil.copytree(real_shards("mlm"), out)
    return out


@pytest.fixture()
def clean_out(tmp_path) -> Path:
    out = tmp_path / "clean"
    run_cli("clean", str(REPO / "demo" / "weibo"), "--out", str(out), "--num-shards", "2", "--workers", "1",
            "--no-progress")
    return out


@pytest.mark.parametrize("kind", ["shard", "clean"])
def test_upper_case_recorded_digests_verify(kind, request):
    root = request.getfixturevalue(f"{kind}_out")
    assert verify_dir(root).ok
    assert upper_case_every_recorded_digest(root) >= 1
    result = verify_dir(root)
    assert result.ok, result.lines()


@pytest.mark.parametrize("kind", ["shard", "clean"])
def test_upper_case_digest_of_other_bytes_is_still_altered(kind, request):
    root = request.getfixturevalue(f"{kind}_out")
    upper_case_every_recorded_digest(root)
    victim = sorted(p for p in root.iterdir() if p.suffix in (".arrow", ".parquet"))[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    result = verify_dir(root)
    assert not result.ok and victim.name in [a.path for a in result.altered]
