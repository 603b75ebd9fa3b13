"""End to end: `zooprep shard` on the demo corpus -> feed loader, UER export, reference trainer."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from corpusprep.feed.export import ExportConfig, export, iter_uer_dataset
from corpusprep.feed.masking import candidates, word_units
from corpusprep.feed.shards import ShardReader
from corpusprep.feed.stream import FeedLoader, StreamConfig

from conftest import REPO, cli


def _shard(tmp: Path, corpus: Path, vocab: Path, processor: str, *extra: str) -> Path:
    out = tmp / f"{processor}{'-'.join(extra)}"
    done = cli("shard", str(corpus), "--out", str(out), "--processor", processor, "--seq-len", "64", "--vocab", str(vocab),
               "--workers", "1", *extra, timeout=120)
    if done.returncode != 0 and "Not built yet" in done.stdout + done.stderr:
        pytest.skip("`zooprep shard` is not built in this checkout")
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def bert_wwm(tmp_path_factory, demo_dir, google_vocab):
    corpus = demo_dir / "cluecorpussmall" / "clue_bert_sampled.txt"
    if not corpus.is_file():
        pytest.skip(f"{corpus} is absent")
    return _shard(tmp_path_factory.mktemp("e2e"), corpus, google_vocab, "bert", "--whole-word")


def test_loader_over_a_real_bert_shard(bert_wwm):
    reader = ShardReader(bert_wwm)
    sp = reader.meta.special_ids
    loader = FeedLoader(StreamConfig(str(bert_wwm), batch_size=16, epochs=1, names="uer", with_index=True), num_workers=2)
    seen = []
    for batch in loader:
        idx = batch["index"].numpy()
        raw = reader.take(idx)
        orig = raw["input_ids"]
        tgt, src, seg = batch["tgt"].numpy(), batch["src"].numpy(), batch["seg"].numpy()
        chosen = tgt != 0
        assert not chosen[np.isin(orig, [sp["cls"], sp["sep"], sp["pad"]])].any()
        np.testing.assert_array_equal(tgt[chosen], orig[chosen])
        np.testing.assert_array_equal(src[~chosen], orig[~chosen])
        real = np.arange(orig.shape[1])[None, :] < raw["length"][:, None]
        assert set(np.unique(seg[real]).tolist()) <= {1, 2} and (seg[~real] == 0).all()
        has_cand = (real & ~np.isin(orig, [sp["cls"], sp["sep"]])).any(1)
        assert (chosen.sum(1) >= 1)[has_cand].all()
        # whole words: a stored word is chosen entirely or not at all (one-token fallback aside)
        rows, starts, lens = word_units(candidates(orig, raw["length"], sp), raw["word_starts"])
        for r, st, n in zip(rows, starts, lens):
            k = chosen[r, st:st + n].sum()
            assert k in (0, n) or chosen[r].sum() == 1
        seen.extend(idx.tolist())
    assert sorted(seen) == list(range(len(reader)))


def test_uer_export_of_a_real_shard_round_trips(bert_wwm, tmp_path):
    export(ExportConfig(bert_wwm, tmp_path / "dataset.pt", "uer"))
    reader = ShardReader(bert_wwm)
    raw = reader.take(np.arange(len(reader)))
    got = list(iter_uer_dataset(tmp_path / "dataset.pt"))
    assert len(got) == len(reader)
    for i in (0, len(got) // 2, len(got) - 1):
        (src, pad), label, seg_pos = got[i]
        n = int(raw["length"][i])
        assert src == raw["input_ids"][i][:n].tolist() and pad == reader.row_len - n
        assert label == int(raw["nsp_label"][i]) and seg_pos == [int(raw["seg_a_len"][i]), n]


def test_example_trains_on_the_real_bert_shard(bert_wwm, capsys):
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("zooprep_pretrain_example_e2e", REPO / "examples" / "pretrain.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    summary = module.train(module.parse_args([str(bert_wwm), "--size", "nano", "--max-steps", "6", "--batch-size", "8",
                                              "--device", "cpu", "--workers", "0", "--log-every", "3",
                                              "--threads", "1"]))
    start = json.loads(capsys.readouterr().out.splitlines()[0])
    assert start["processor"] == "bert" and start["model"] == "roberta"
    assert summary["steps"] == 6 and summary["last_loss"] is not None
