"""Feed stage: shard reading, masking rules, rank partitions, resume (docs/feed.md).

Every shard here is real `zooprep shard` output of the demo corpus (tests/conftest.py builds them once
per session); the expected columns come from `datasets.load_from_disk`, the format's own reader."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from corpusprep.errors import InputError, ZooprepError
from corpusprep.feed.collate import CollatorConfig, PretrainCollator
from corpusprep.feed.masking import (MaskingConfig, _span_lengths, candidates, mask_batch, random_id_pool,
                                     span_units, word_units)
from corpusprep.feed.order import FeistelPermutation, RankOrder
from corpusprep.feed.shards import ShardReader
from corpusprep.feed.stream import FeedLoader, PretrainStream, ShardDataset, StreamConfig
from conftest import shard_columns

SEQ = 48
VARIANTS = {"mlm": ("mlm",), "bert": ("bert",), "albert": ("albert",), "lm": ("lm",),
            "wwm": ("mlm", "--whole-word"), "static": ("mlm", "--static-masking")}


@pytest.fixture(scope="module")
def shards(real_shards):
    """name -> (directory, columns): several files each (--unit-mb 0.02), columns read by `datasets`."""
    out = {}
    for name, (proc, *flags) in VARIANTS.items():
        directory = real_shards(proc, *flags, "--unit-mb", "0.02", seq_len=SEQ)
        out[name] = (directory, shard_columns(directory))
    return out


@pytest.fixture(scope="module")
def SP(shards):
    return ShardReader(shards["mlm"][0]).meta.special_ids


@pytest.fixture(scope="module")
def VOCAB(shards):
    return ShardReader(shards["mlm"][0]).meta.vocab_size


def rows_of(cols: dict) -> int:
    return len(cols["length"])


# -- reading -------------------------------------------------------------------------------------

def test_reader_returns_rows_in_corpus_order_across_files_and_batches(shards):
    directory, cols = shards["wwm"]
    reader = ShardReader(directory)
    n = rows_of(cols)
    assert len(reader) == n and reader.row_len == SEQ and len(reader.meta.files) > 2
    files = json.loads((directory / "zooprep.json").read_text())["files"]
    bounds = np.cumsum([0] + [f["rows"] for f in files])
    assert bounds[-1] == n
    idx = np.unique(np.concatenate([bounds[1:-1], bounds[1:-1] - 1, [0, n - 1, 5]]))[::-1]  # file edges, backwards
    raw = reader.take(idx)
    assert raw["input_ids"].dtype == np.int64
    np.testing.assert_array_equal(raw["input_ids"], cols["input_ids"][idx])
    np.testing.assert_array_equal(raw["length"], cols["length"][idx])
    for got, i in zip(raw["word_starts"], idx):
        np.testing.assert_array_equal(got, cols["word_starts"][i])


@pytest.mark.parametrize("name", list(VARIANTS))
def test_reader_equals_datasets_on_every_row_and_column(shards, name):
    directory, cols = shards[name]
    reader = ShardReader(directory)
    raw = reader.take(np.arange(len(reader)))
    assert set(raw) == set(cols)
    for key, want in cols.items():
        if isinstance(want, list):
            assert len(raw[key]) == len(want) and all(np.array_equal(a, b) for a, b in zip(raw[key], want)), key
        else:
            np.testing.assert_array_equal(raw[key], want, err_msg=key)


def test_reader_names_the_file_when_the_directory_is_not_a_shard(tmp_path, shards):
    with pytest.raises(InputError, match="zooprep.json"):
        ShardReader(tmp_path)
    directory, _ = shards["mlm"]
    meta = json.loads((directory / "zooprep.json").read_text())
    bad = tmp_path / "bad"
    bad.mkdir()
    meta["files"] = [{"path": "data-00009-of-00010.arrow"}]
    (bad / "zooprep.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="data-00009-of-00010.arrow"):
        ShardReader(bad)


def test_map_style_dataset_with_a_torch_sampler(shards):
    directory, cols = shards["mlm"]
    ds = ShardDataset(directory)
    assert len(ds) == rows_of(cols) and ds[5]["length"] == cols["length"][5]
    loader = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=True, collate_fn=ds.collator(seed=1))
    seen = 0
    for batch in loader:
        assert set(batch) == {"input_ids", "attention_mask", "token_type_ids", "labels"}
        seen += len(batch["input_ids"])
        has_candidates = (batch["attention_mask"].sum(1) > 2)  # more than [CLS] [SEP]
        assert ((batch["labels"] != -100).sum(1) >= 1)[has_candidates].all()
    assert seen == rows_of(cols)
    # a list of single rows collates like a raw batch
    rows = [ds[i] for i in range(4)]
    one = ds.collator()(rows, np.random.default_rng(0))
    two = ds.collator()(ds.__getitems__([0, 1, 2, 3]), np.random.default_rng(0))
    assert all(torch.equal(one[k], two[k]) for k in one)


# -- masking -------------------------------------------------------------------------------------

def _batches(directory, n, **kw):
    stream = PretrainStream(StreamConfig(str(directory), batch_size=64, **kw))
    it = iter(stream)
    return [next(it) for _ in range(n)]


@pytest.mark.parametrize("mode", ["token", "whole_word", "span"])
def test_masking_statistics_specials_and_at_least_one(shards, mode, SP, VOCAB):
    SPECIAL_SET = {SP["cls"], SP["sep"], SP["pad"]}
    directory, cols = shards["wwm"]
    pool_set = set(random_id_pool(VOCAB, SP).tolist())
    reader = ShardReader(directory)
    chosen = masked = kept = randomised = total_len = 0
    for batch_no in range(40):
        rng = np.random.default_rng(batch_no)
        raw = reader.take(rng.integers(0, len(reader), 64))
        ids, lengths = raw["input_ids"], raw["length"]
        out, flat = mask_batch(ids, lengths, SP, random_id_pool(VOCAB, SP), MaskingConfig(mode=mode), rng,
                               raw["word_starts"])
        sel = np.zeros(ids.size, bool)
        sel[flat] = True
        sel = sel.reshape(ids.shape)
        assert not (sel & np.isin(ids, list(SPECIAL_SET))).any(), "a special token was chosen"
        assert not (sel & (np.arange(ids.shape[1]) >= lengths[:, None])).any(), "padding was chosen"
        np.testing.assert_array_equal(out[~sel], ids[~sel])  # nothing else changes
        n_cand = candidates(ids, lengths, SP).sum(1)
        assert (sel.sum(1) >= 1)[n_cand > 0].all()
        budget = np.minimum(np.maximum(1, np.rint(0.15 * lengths)), n_cand)
        assert (sel.sum(1) <= budget).all()
        if mode == "token":
            np.testing.assert_array_equal(sel.sum(1), budget)
        new, old = out[sel], ids[sel]
        chosen += sel.sum()
        masked += (new == SP["mask"]).sum()
        same = new == old
        kept += same.sum()
        rand = (new != SP["mask"]) & ~same
        randomised += rand.sum()
        assert set(new[rand].tolist()) <= pool_set
        total_len += lengths.sum()
    assert abs(chosen / total_len - 0.15) < 0.01
    # a random replacement can draw the original id (1 in ~21000), so "kept" is slightly above 10 %
    assert abs(masked / chosen - 0.8) < 0.015
    assert abs(randomised / chosen - 0.1) < 0.012
    assert abs(kept / chosen - 0.1) < 0.012


def test_whole_word_masking_takes_whole_words(shards, SP, VOCAB):
    rng = np.random.default_rng(3)
    cols = shards["wwm"][1]
    ids, lengths = cols["input_ids"], cols["length"].astype(np.int64)
    out, flat = mask_batch(ids, lengths, SP, random_id_pool(VOCAB, SP), MaskingConfig(mode="whole_word"), rng,
                           cols["word_starts"])
    sel = np.zeros(ids.size, bool)
    sel[flat] = True
    sel = sel.reshape(ids.shape)
    cand = candidates(ids, lengths, SP)
    rows, starts, lens = word_units(cand, cols["word_starts"])
    whole = partial = 0
    for r, s, n in zip(rows, starts, lens):
        k = sel[r, s:s + n].sum()
        if k == n:
            whole += 1
        elif k:
            partial += 1
            # the only allowed exception: no word fitted the budget, so one single token was taken
            assert sel[r].sum() == 1 and lens[rows == r].min() > max(1, round(0.15 * lengths[r]))
    assert whole > 300 and partial < 5
    # units are the stored words, cut at specials
    for r in range(5):
        starts_r = set(starts[rows == r].tolist())
        expected = {p for p in cols["word_starts"][r].tolist() if cand[r, p]}
        assert expected <= starts_r


def test_span_units_tile_the_candidates_with_truncated_geometric_lengths(shards, SP):
    rng = np.random.default_rng(0)
    cols = shards["bert"][1]
    ids, lengths = cols["input_ids"], cols["length"].astype(np.int64)
    cand = candidates(ids, lengths, SP)
    rows, starts, lens = span_units(cand, rng, 0.2, 10)
    cover = np.zeros_like(cand, dtype=int)
    for r, s, n in zip(rows, starts, lens):
        cover[r, s:s + n] += 1
    np.testing.assert_array_equal(cover, cand.astype(int))  # disjoint, complete, never a special
    assert lens.min() >= 1 and lens.max() <= 10
    draws = _span_lengths(200_000, np.random.default_rng(1), 0.2, 10)
    probs = 0.2 * 0.8 ** np.arange(10)
    probs /= probs.sum()
    np.testing.assert_allclose(np.bincount(draws, minlength=11)[1:] / draws.size, probs, atol=0.005)


def test_span_masking_decides_once_per_span(shards, SP, VOCAB):
    cfg = MaskingConfig(mode="span", span_geo_prob=0.05, span_max_length=10)
    cols = shards["mlm"][1]
    ids, lengths = cols["input_ids"], cols["length"].astype(np.int64)
    out, flat = mask_batch(ids, lengths, SP, random_id_pool(VOCAB, SP), cfg, np.random.default_rng(4))
    sel = np.zeros(ids.size, bool)
    sel[flat] = True
    sel = sel.reshape(ids.shape)
    is_mask = out == SP["mask"]
    # long spans: a selected run mixes [MASK] and non-[MASK] only where two spans touch
    mixed = runs = 0
    for r in range(ids.shape[0]):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], sel[r].astype(int), [0]])))
        for a, b in zip(edges[::2], edges[1::2]):
            runs += 1
            mixed += 0 < is_mask[r, a:b].sum() < b - a
    assert runs > 200 and mixed / runs < 0.25


def test_static_masking_passes_stored_labels_through(shards, SP, VOCAB):
    directory, cols = shards["static"]
    raw = ShardReader(directory).take(np.arange(20))
    for names, unmasked in (("hf", -100), ("uer", 0)):
        cfg = CollatorConfig("mlm", SP, VOCAB, names=names)
        out = PretrainCollator(cfg)(raw, np.random.default_rng(0))
        src = out["input_ids" if names == "hf" else "src"].numpy()
        labels = out["labels" if names == "hf" else "tgt"].numpy()
        np.testing.assert_array_equal(src, cols["input_ids"][:20])
        for i in range(20):
            pos = cols["masked_positions"][i]
            np.testing.assert_array_equal(labels[i, pos], cols["masked_labels"][i])
            rest = np.ones(labels.shape[1], bool)
            rest[pos] = False
            assert (labels[i, rest] == unmasked).all()


def test_bert_and_albert_collate_to_hf_and_uer_names(shards, SP, VOCAB):
    for name, hf_label in (("bert", "next_sentence_label"), ("albert", "sentence_order_label")):
        directory, cols = shards[name]
        raw = ShardReader(directory).take(np.arange(30))
        hf = PretrainCollator(CollatorConfig(name, SP, VOCAB, names="hf"))(raw, np.random.default_rng(0))
        uer = PretrainCollator(CollatorConfig(name, SP, VOCAB, names="uer"))(raw, np.random.default_rng(0))
        assert set(hf) == {"input_ids", "attention_mask", "token_type_ids", "labels", hf_label}
        assert set(uer) == {"src", "tgt", "seg", "tgt_sp"}
        label_col = "nsp_label" if name == "bert" else "sop_label"
        np.testing.assert_array_equal(hf[hf_label].numpy(), cols[label_col][:30])
        np.testing.assert_array_equal(uer["tgt_sp"].numpy(), cols[label_col][:30])
        assert torch.equal(hf["input_ids"], uer["src"])  # same generator, same masking
        assert torch.equal(hf["labels"] != -100, uer["tgt"] != 0)
        for i in range(30):
            n, a = cols["length"][i], cols["seg_a_len"][i]
            expected_seg = [1] * a + [2] * (n - a) + [0] * (48 - n)
            assert uer["seg"][i].tolist() == expected_seg
            assert hf["token_type_ids"][i].tolist() == [0] * a + [1] * (n - a) + [0] * (48 - n)
            assert hf["attention_mask"][i].tolist() == [1] * n + [0] * (48 - n)


def test_lm_collate_shifts_and_ignores_padding(shards, SP, VOCAB):
    directory, cols = shards["lm"]
    raw = ShardReader(directory).take(np.arange(50))
    hf = PretrainCollator(CollatorConfig("lm", SP, VOCAB, names="hf"))(raw)
    uer = PretrainCollator(CollatorConfig("lm", SP, VOCAB, names="uer"))(raw)
    assert hf["input_ids"].shape == (50, 48)
    for i in range(50):
        ids, n = cols["input_ids"][i], int(cols["length"][i])
        assert hf["input_ids"][i].tolist() == ids[:-1].tolist()
        assert hf["labels"][i].tolist() == ids[1:n].tolist() + [-100] * (49 - n)
        assert uer["tgt"][i].tolist() == ids[1:].tolist()
        ones = 48 if n == 49 else n  # UER: seg_pos = seq_length for full pieces, else the piece length
        assert uer["seg"][i].tolist() == [1] * ones + [0] * (48 - ones)


def test_masking_is_reproducible_per_batch_and_differs_between_epochs(shards):
    directory, _ = shards["mlm"]
    stream = PretrainStream(StreamConfig(str(directory), batch_size=32, seed=3))
    a, b = stream.batch_at(0, 2), stream.batch_at(0, 2)
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = stream.batch_at(1, 2)
    assert not torch.equal(a["input_ids"], c["input_ids"])


# -- order and partitions ----------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 1000, 4097])
def test_feistel_is_a_permutation(n):
    perm = FeistelPermutation(n, (5, 0))(np.arange(n))
    np.testing.assert_array_equal(np.sort(perm), np.arange(n))
    if n >= 64:
        other = FeistelPermutation(n, (5, 1))(np.arange(n))
        assert (perm != other).mean() > 0.9 and (perm != np.arange(n)).mean() > 0.9


def _rows_read(directory, world, workers, remainder, epochs=1, batch_size=7):
    per_rank = []
    for rank in range(world):
        loader = FeedLoader(StreamConfig(str(directory), batch_size=batch_size, seed=11, rank=rank, world_size=world,
                                         remainder=remainder, epochs=epochs, with_index=True), num_workers=workers)
        per_rank.append(np.concatenate([b["index"].numpy() for b in loader]))
    return per_rank


@pytest.mark.parametrize("world", [1, 2, 3, 4])
@pytest.mark.parametrize("workers", [0, 1, 2])
def test_rank_partitions_are_disjoint_and_complete(shards, world, workers):
    directory, cols = shards["mlm"]
    n = rows_of(cols)
    uneven = _rows_read(directory, world, workers, "uneven")
    allrows = np.concatenate(uneven)
    assert len(allrows) == n and len(set(allrows.tolist())) == n
    if workers == 0:  # order does not depend on the worker count
        again = _rows_read(directory, world, 2, "uneven")
        assert all((a == b).all() for a, b in zip(uneven, again))


@pytest.mark.parametrize("world", [2, 3, 4])
def test_pad_and_drop_policies(shards, world):
    directory, cols = shards["mlm"]
    n = rows_of(cols)
    padded = _rows_read(directory, world, 0, "pad")
    assert len({len(p) for p in padded}) == 1 and len(padded[0]) == -(-n // world)
    allrows = np.concatenate(padded)
    assert set(allrows.tolist()) == set(range(n))
    assert len(allrows) - n == (-n) % world  # only the wrap-around slots repeat
    dropped = _rows_read(directory, world, 0, "drop")
    allrows = np.concatenate(dropped)
    assert len(allrows) == n - n % world and len(set(allrows.tolist())) == len(allrows)


def test_each_epoch_is_a_new_permutation_identical_on_every_rank():
    a = RankOrder(100, 10, seed=1, rank=0, world_size=2)
    b = RankOrder(100, 10, seed=1, rank=1, world_size=2)
    e0 = np.concatenate([a.rows(0, j) for j in range(5)] + [b.rows(0, j) for j in range(5)])
    e1 = np.concatenate([a.rows(1, j) for j in range(5)])
    assert sorted(e0.tolist()) == list(range(100))
    assert not np.array_equal(e1, e0[:50])


# -- resume --------------------------------------------------------------------------------------

@pytest.mark.parametrize("workers_before,workers_after", [(2, 0), (0, 2), (1, 1)])
def test_resume_gives_exactly_the_remaining_batches(shards, workers_before, workers_after):
    directory, cols = shards["bert"]
    batch = -(-rows_of(cols) // 2 // 7)  # about 7 batches per epoch on each of 2 ranks
    cfg = StreamConfig(str(directory), batch_size=batch, seed=5, rank=1, world_size=2, epochs=2, with_index=True)
    full = list(FeedLoader(cfg, num_workers=0))
    per_epoch = len(full) // 2
    assert 5 <= per_epoch <= 8
    first = FeedLoader(cfg, num_workers=workers_before)
    taken = []
    for batch in first:
        taken.append(batch)
        if len(taken) == per_epoch + 2:  # past the epoch boundary
            state = json.loads(json.dumps(first.state_dict()))  # survives a JSON checkpoint
            break
    resumed = FeedLoader(cfg, num_workers=workers_after)
    resumed.load_state_dict(state)
    rest = list(resumed)
    assert len(taken) + len(rest) == len(full)
    for got, want in zip(taken + rest, full):
        assert set(got) == set(want) and all(torch.equal(got[k], want[k]) for k in want)


def test_resume_refuses_a_different_setup(shards):
    directory, _ = shards["mlm"]
    state = FeedLoader(StreamConfig(str(directory), batch_size=16)).state_dict()
    other = FeedLoader(StreamConfig(str(directory), batch_size=8))
    with pytest.raises(ZooprepError, match="batch_size"):
        other.load_state_dict(state)


def test_in_process_stream_tracks_its_own_position(shards):
    directory, cols = shards["mlm"]
    batch = -(-rows_of(cols) // 5)  # 5 batches
    cfg = StreamConfig(str(directory), batch_size=batch, epochs=1, with_index=True)
    stream = PretrainStream(cfg)
    it = iter(stream)
    next(it)
    next(it)
    state = stream.state_dict()
    assert (state["epoch"], state["batch"]) == (0, 2)
    again = PretrainStream(cfg)
    again.load_state_dict(state)
    rest = [b["index"] for b in again]
    assert [b["index"].tolist() for b in it] == [r.tolist() for r in rest] and len(rest) == 3


def test_map_style_workers_do_not_repeat_each_others_masks(shards):
    directory, _ = shards["mlm"]
    ds = ShardDataset(directory)
    torch.manual_seed(0)
    loader = torch.utils.data.DataLoader(ds, batch_size=8, num_workers=2, sampler=[0] * 8 + [0] * 8,
                                         collate_fn=ds.collator(seed=3))
    a, b = list(loader)  # the same row 8 times per batch, one batch per worker
    assert not torch.equal(a["labels"], b["labels"])


def test_token_choice_is_exact_and_uniform_over_positions():
    from corpusprep.feed.masking import choose_tokens

    rng = np.random.default_rng(9)
    cand = np.ones((4000, 64), dtype=bool)
    cand[:, 0] = cand[:, 63] = False  # [CLS] ... [SEP]
    budget = np.full(4000, 10)
    sel = choose_tokens(cand, budget, rng)
    assert (sel.sum(1) == 10).all() and not sel[:, [0, 63]].any()
    share = sel[:, 1:63].mean(0)  # expected 10/62 everywhere
    assert np.abs(share - 10 / 62).max() < 0.03


@pytest.mark.parametrize("workers", [0, 1])
def test_the_loader_leaves_the_global_torch_rng_alone(shards, workers):
    """A trainer's dropout draws from the global torch RNG: the loader must not consume it, or the
    worker count (and a resume) would change the training run."""
    directory, _ = shards["mlm"]
    torch.manual_seed(0)
    want = torch.rand(3)
    torch.manual_seed(0)
    it = iter(FeedLoader(StreamConfig(str(directory), batch_size=8), num_workers=workers))
    next(it)
    next(it)
    assert torch.equal(torch.rand(3), want)
