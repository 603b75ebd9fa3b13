"""`verify`: every recorded checksum re-checked; missing, altered and unexpected files named."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from corpusprep.errors import InputError
from corpusprep.verify import verify_dir

from conftest import REPO, cli


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_clean_dir(root: Path, n: int = 3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shards = []
    for i in range(n):
        name = f"train-{i:05d}-of-{n:05d}.parquet"
        data = f"shard {i} ".encode() * (i + 5)
        (root / name).write_bytes(data)
        shards.append({"path": name, "records": i + 5, "sha256": _sha(data)})
    (root / "rejects").mkdir()
    (root / "rejects" / "too_short.jsonl").write_text('{"raw": "x"}\n')
    report = {"read": 10, "kept": 7, "dropped": {"too_short": 2, "duplicate": 1}, "shards": shards,
              "files": [{"path": "in.txt", "read": 10, "kept": 7, "dropped": {"too_short": 2, "duplicate": 1}}]}
    (root / "report.json").write_text(json.dumps(report))
    return root


def make_shard_dir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(2):
        name = f"data-{i:05d}-of-00002.arrow"
        data = bytes(range(i, 200))
        (root / name).write_bytes(data)
        files.append({"path": name, "sha256": _sha(data), "rows": 3})
    (root / "state.json").write_text(json.dumps({"_data_files": [{"filename": f["path"]} for f in files]}))
    (root / "dataset_info.json").write_text("{}")
    (root / "zooprep.json").write_text(json.dumps({"processor": "mlm", "files": files}))
    return root


@pytest.mark.parametrize("make", [make_clean_dir, make_shard_dir])
def test_untouched_output_verifies(tmp_path, make):
    r = verify_dir(make(tmp_path))
    assert r.ok and r.checked >= 2 and not (r.missing or r.altered or r.unexpected)


@pytest.mark.parametrize("make", [make_clean_dir, make_shard_dir])
def test_tampered_byte_is_named(tmp_path, make):
    root = make(tmp_path)
    victim = sorted(root.glob("*-00001-of-*"))[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    r = verify_dir(root)
    assert not r.ok and [a.path for a in r.altered] == [victim.name]
    assert r.altered[0].actual == _sha(bytes(data))


@pytest.mark.parametrize("make", [make_clean_dir, make_shard_dir])
def test_deleted_file_is_named(tmp_path, make):
    root = make(tmp_path)
    victim = sorted(root.glob("*-00000-of-*"))[0]
    victim.unlink()
    r = verify_dir(root)
    assert r.missing == [victim.name] and not r.altered and not r.ok


@pytest.mark.parametrize("make", [make_clean_dir, make_shard_dir])
def test_added_file_is_named(tmp_path, make):
    root = make(tmp_path)
    (root / "sub").mkdir()
    (root / "sub" / "extra.parquet").write_bytes(b"x")
    (root / ".train-00000.parquet.123.tmp").write_bytes(b"half")  # a leftover temp file
    r = verify_dir(root)
    assert r.unexpected == [".train-00000.parquet.123.tmp", "sub/extra.parquet"] and not r.ok


def test_clean_accounting_that_does_not_add_up_is_named(tmp_path):
    root = make_clean_dir(tmp_path)
    report = json.loads((root / "report.json").read_text())
    report["files"][0]["kept"] = 6
    (root / "report.json").write_text(json.dumps(report))
    r = verify_dir(root)
    assert not r.ok and len(r.inconsistent) == 1 and "in.txt" in r.inconsistent[0]


def test_paths_leaving_the_directory_are_refused(tmp_path):
    root = make_shard_dir(tmp_path)
    meta = json.loads((root / "zooprep.json").read_text())
    meta["files"][0]["path"] = "../../etc/passwd"
    (root / "zooprep.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="outside"):
        verify_dir(root)


def test_directory_without_metadata_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="report.json"):
        verify_dir(tmp_path)
    (tmp_path / "zooprep.json").write_text("{not json")
    with pytest.raises(InputError, match="zooprep.json:1"):
        verify_dir(tmp_path)


def test_cli_exit_codes_and_json(tmp_path):
    good = make_shard_dir(tmp_path / "good")
    r = cli("verify", str(good))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1].startswith("OK:")

    bad = make_clean_dir(tmp_path / "bad")
    (bad / "train-00002-of-00003.parquet").unlink()
    (bad / "stray.txt").write_text("?")
    r = cli("verify", str(bad), "--json")
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["missing"] == ["train-00002-of-00003.parquet"]
    assert out["unexpected"] == ["stray.txt"] and out["kind"] == "clean"

    r = cli("verify", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "nowhere" in r.stderr


def test_real_clean_output_verifies_then_catches_tampering(tmp_path):
    """The checksums `clean` records are the ones verify reads (guards against format drift)."""
    out = tmp_path / "clean"
    r = subprocess.run([sys.executable, str(REPO / "cli.py"), "clean", str(REPO / "demo" / "weibo"), "--out", str(out),
                        "--num-shards", "2", "--workers", "1", "--no-progress"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    result = verify_dir(out)
    assert result.ok and result.kind == "clean" and result.checked >= 3, result.lines()  # shards + report.json (+ rejects)
    shard = out / "train-00001-of-00002.parquet"
    data = bytearray(shard.read_bytes())
    data[100] ^= 0xFF
    shard.write_bytes(bytes(data))
    r = cli("verify", str(out))
    assert r.returncode == 1 and "altered:    train-00001-of-00002.parquet" in r.stdout
