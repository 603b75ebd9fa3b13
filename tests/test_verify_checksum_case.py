"""`verify` compares sha256 digests case-insensitively: a recorded upper-case digest is the same digest."""
from __future__ import annotations

import hashlib
import json

import pytest

from corpusprep.verify import verify_dir


def _dir(root, key: str, digest_case) -> tuple:
    root.mkdir()
    data = b"some shard bytes\n" * 10
    name = "data-00000-of-00001.arrow" if key == "files" else "train-00000-of-00001.parquet"
    (root / name).write_bytes(data)
    digest = digest_case(hashlib.sha256(data).hexdigest())
    meta = "zooprep.json" if key == "files" else "report.json"
    body = {"processor": "mlm", "files": [{"path": name, "sha256": digest, "rows": 1}]} if key == "files" else \
        {"read": 1, "kept": 1, "dropped": {}, "shards": [{"path": name, "records": 1, "sha256": digest}]}
    if key == "files":
        (root / "state.json").write_text("{}")
        (root / "dataset_info.json").write_text("{}")
    (root / meta).write_text(json.dumps(body))
    return root, name


@pytest.mark.parametrize("key", ["files", "shards"])
@pytest.mark.parametrize("case", [str.upper, lambda d: d[:32].upper() + d[32:]])
def test_upper_case_recorded_digest_verifies(tmp_path, key, case):
    root, _ = _dir(tmp_path / "out", key, case)
    r = verify_dir(root)
    assert r.ok and not r.altered, [a.path for a in r.altered]


@pytest.mark.parametrize("key", ["files", "shards"])
def test_upper_case_digest_of_other_bytes_is_still_altered(tmp_path, key):
    root, name = _dir(tmp_path / "out", key, str.upper)
    (root / name).write_bytes(b"other bytes")
    r = verify_dir(root)
    assert not r.ok and [a.path for a in r.altered] == [name]
