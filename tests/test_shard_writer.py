"""tests/shard_writer.py (synthetic shards for tests and benchmarks) writes exactly the format real
`zooprep shard` output has: same Arrow schema, same dataset_info features, zooprep.json / state.json
keys of the same types. The feed and export tests themselves run on real output; this keeps the
hand-written copy from drifting."""
from __future__ import annotations

import json

import pyarrow as pa
import pytest

from corpusprep.feed.shards import ShardReader
from shard_writer import synthetic_rows, write_shard

VARIANTS = [("mlm", ()), ("bert", ()), ("albert", ()), ("lm", ()), ("mlm", ("--whole-word",)),
            ("mlm", ("--static-masking",)), ("bert", ("--static-masking",))]


def _schema(directory):
    name = json.loads((directory / "zooprep.json").read_text())["files"][0]["path"]
    with pa.ipc.open_stream(pa.memory_map(str(directory / name))) as reader:
        return reader.schema


def _types(value):
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    return type(value).__name__


@pytest.mark.parametrize("processor,flags", VARIANTS)
def test_synthetic_shard_has_the_real_format(tmp_path, real_shards, processor, flags):
    real = real_shards(processor, *flags, seq_len=32)
    meta = json.loads((real / "zooprep.json").read_text())
    cols = synthetic_rows(20, processor, 32, specials=meta["special_ids"],  # ids from the google-size vocab
                          whole_word="--whole-word" in flags, static_masking="--static-masking" in flags)
    fake = write_shard(tmp_path / "fake", cols, processor, seq_len=32, specials=meta["special_ids"])
    assert _schema(fake).equals(_schema(real), check_metadata=False), (_schema(fake), _schema(real))
    assert json.loads((fake / "dataset_info.json").read_text())["features"] == \
        json.loads((real / "dataset_info.json").read_text())["features"]
    fake_meta = json.loads((fake / "zooprep.json").read_text())
    for key in ("processor", "seq_len", "row_len", "special_ids", "dtype", "static_masking", "whole_word",
                "full_sentences", "dup_factor", "seed"):
        assert _types(fake_meta[key]) == _types(meta[key]), key
    assert fake_meta["processor"] == meta["processor"] and fake_meta["row_len"] == meta["row_len"]
    assert fake_meta["static_masking"] == meta["static_masking"] and fake_meta["whole_word"] == meta["whole_word"]
    assert set(fake_meta["files"][0]) <= set(meta["files"][0])
    assert set(json.loads((fake / "state.json").read_text())) == set(json.loads((real / "state.json").read_text()))
    # and the feed reads both the same way
    assert set(ShardReader(fake).take([0])) == set(ShardReader(real).take([0]))
