"""`shard --validation-share F | --validation-docs N`: whole documents held out by seed, a DatasetDict on
disk, no document in both splits; loaders and export read either split; without the option nothing changes."""
from __future__ import annotations

import json

import numpy as np
import pytest
import xxhash

from conftest import DEMO_DOCS, run_cli

SEED = 7  # shard's default --seed
SALT = 0x5BD1E995  # restated from corpusprep/instances/holdout.py: the rule the docs state


def _docs() -> list[str]:
    return [ln for ln in DEMO_DOCS.read_text(encoding="utf-8").split("\n") if ln.strip()]


def _shard(tmp_path, name, vocab, **options):
    """`shard` in-process (the CLI only parses into this config; its start-up would dominate the test)."""
    from corpusprep.instances.config import ShardConfig
    from corpusprep.instances.pipeline import run_shard

    out = tmp_path / name
    run_shard(ShardConfig(corpus=(DEMO_DOCS,), out=out, processor="mlm", seq_len=64, vocab=vocab, workers=1,
                          show_progress=False, **options))
    return out


def _ids(directory, split):
    import datasets

    return [list(r) for r in datasets.load_from_disk(str(directory))[split]["input_ids"]]


@pytest.fixture(scope="module")
def vocab(real_shards):
    return real_shards.vocab


def test_validation_docs_holds_out_exactly_the_smallest_hashes(tmp_path, vocab):
    import datasets

    from zh_tokenizers import load_tokenizer

    out = _shard(tmp_path, "split", vocab, validation_docs=25)
    dd = datasets.load_from_disk(str(out))
    assert isinstance(dd, datasets.DatasetDict) and set(dd) == {"train", "validation"}
    meta = json.loads((out / "zooprep.json").read_text(encoding="utf-8"))
    docs = _docs()
    hashes = [xxhash.xxh3_64_intdigest(d.encode("utf-8"), SEED ^ SALT) for d in docs]
    cut = sorted(hashes)[24]
    assert sorted(hashes)[25] != cut  # no duplicate text at the cut: exactly 25 (equal texts share a split)
    held = [d for d, h in zip(docs, hashes) if h <= cut]
    kept = [d for d, h in zip(docs, hashes) if h > cut]
    assert len(held) == 25 == meta["splits"]["validation"]["counts"]["documents"]
    assert meta["counts"]["documents"] == len(kept)
    # rows of each split are exactly its documents' tokens, in corpus order (framed [CLS] ... [SEP], cut at 64)
    tok = load_tokenizer(vocab=str(vocab))
    special = {tok.special_ids["cls"], tok.special_ids["sep"]}
    for split, texts in (("validation", held), ("train", kept)):
        got = [t for row in _ids(out, split) for t in row if t not in special]
        want = [t for ids in tok.encode_batch(texts) for t in ids if t not in special]
        assert got == want, split
    # deterministic: the same command elsewhere gives the same files
    again = _shard(tmp_path, "again", vocab, validation_docs=25)
    for f in meta["files"] + meta["splits"]["validation"]["files"]:
        assert (again / f["path"]).read_bytes() == (out / f["path"]).read_bytes()
    from corpusprep.verify import verify_dir

    assert verify_dir(out).ok
    # loaders and export read either split
    from corpusprep.feed.stream import ShardDataset

    assert len(ShardDataset(out, "validation")) == len(dd["validation"]) and len(ShardDataset(out)) == len(dd["train"])
    run_cli("export", str(out), "--to", "hf", "--out", str(tmp_path / "v.parquet"), "--split", "validation")
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "v.parquet").num_rows == len(dd["validation"])
    from corpusprep.errors import InputError
    from corpusprep.feed.export import ExportConfig, export

    with pytest.raises(InputError, match="no split 'test'"):
        export(ExportConfig(directory=out, out=tmp_path / "t.parquet", to="hf", split="test"))


def test_validation_share_and_single_split_unchanged(tmp_path, vocab):
    import datasets

    out = _shard(tmp_path, "share", vocab, validation_share=0.2, seed=3)
    meta = json.loads((out / "zooprep.json").read_text(encoding="utf-8"))
    n_val, n_train = meta["splits"]["validation"]["counts"]["documents"], meta["counts"]["documents"]
    assert n_val + n_train == len(_docs()) and 0.1 < n_val / (n_val + n_train) < 0.3
    assert set(map(tuple, _ids(out, "train"))).isdisjoint(map(tuple, _ids(out, "validation")))
    # without the option: one Dataset, no split metadata (the files are those of earlier versions)
    plain = _shard(tmp_path, "plain", vocab)
    assert isinstance(datasets.load_from_disk(str(plain)), datasets.Dataset)
    assert "splits" not in json.loads((plain / "zooprep.json").read_text(encoding="utf-8"))
    assert not (plain / "dataset_dict.json").exists()
    from corpusprep.errors import ZooprepError
    from corpusprep.instances.config import ShardConfig

    for bad in ({"validation_share": 1.0}, {"validation_share": 0.1, "validation_docs": 3}, {"validation_docs": -1},
                {"validation_share": float("nan")}, {"validation_docs": 3, "encode_only": True}):
        with pytest.raises(ZooprepError, match="validation"):
            ShardConfig(corpus=(DEMO_DOCS,), out=tmp_path / "bad", vocab=vocab, **bad).validate()
