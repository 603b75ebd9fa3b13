"""Masking properties on real `shard` output, each against an oracle the production code does not share:

- token shares: the selection count per row is UER's max(1, round(0.15 * length)) exactly, and the
  [MASK] / random / unchanged shares are 80 / 10 / 10 within 5 sigma of a binomial over a sample
  large enough that a one-point drift (0.80 -> 0.79) lies far outside (fixed seeds: deterministic);
- whole words: segmented here by calling jieba on the decoded row text (not the production
  ``word_starts`` / ``word_units``), every jieba word is masked entirely or not at all;
- spans (dynamic and static): every span is taken whole, with one 80/10/10 decision, and span
  lengths follow the truncated geometric rule.
"""
from __future__ import annotations

import math
import random

import numpy as np
import pytest

from conftest import shard_columns
from corpusprep.feed import masking as feed_masking
from corpusprep.feed.masking import MaskingConfig, random_id_pool
from corpusprep.feed.stream import PretrainStream, StreamConfig
from corpusprep.instances import masking as static_masking

SIGMAS = 5.0
BREAKERS = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}


def within(observed: int, n: int, p: float, label: str) -> None:
    """``observed`` successes of ``n`` are within SIGMAS binomial standard deviations of ``p``, and the
    test has the power to see a 0.01 drift of ``p`` (which must lie beyond twice the tolerance)."""
    sd = math.sqrt(p * (1 - p) / n)
    tol = SIGMAS * sd
    assert 0.01 > 2 * tol, f"{label}: sample of {n} too small to see a 1-point drift (tolerance {tol:.4f})"
    share = observed / n
    assert abs(share - p) <= tol, f"{label}: {share:.5f} vs expected {p:.5f} (tolerance {tol:.5f}, n {n})"


def read_vocab(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def masked_batches(directory, epochs: int, batch_size: int = 256, masking: MaskingConfig | None = None, seed: int = 1):
    """(original rows, masked batch) for every batch of ``epochs`` epochs, through the real stream."""
    cols = shard_columns(directory)
    stream = PretrainStream(StreamConfig(str(directory), batch_size=batch_size, seed=seed, with_index=True,
                                         masking=masking))
    for epoch in range(epochs):
        for b in range(stream.order.batches_per_epoch):
            batch = stream.numpy_batch_at(epoch, b)
            idx = np.asarray(batch["index"])
            yield {k: (v[idx] if isinstance(v, np.ndarray) else [v[i] for i in idx]) for k, v in cols.items()}, batch, stream


def candidates_of(ids: np.ndarray, lengths: np.ndarray, sp: dict) -> np.ndarray:
    real = np.arange(ids.shape[1])[None, :] < lengths[:, None]
    return real & ~np.isin(ids, [sp["cls"], sp["sep"], sp["pad"]])


# ------------------------------------------------------------------------------- token shares
def test_token_masking_budget_and_80_10_10_shares(real_shards):
    directory = real_shards("mlm")
    chosen = masked = kept = randomised = 0
    expected_kept = 0.0
    pool = None
    for rows, batch, stream in masked_batches(directory, epochs=90):
        sp, meta = stream.meta.special_ids, stream.meta
        if pool is None:
            pool = set(random_id_pool(meta.vocab_size, sp).tolist())
        orig, lengths = rows["input_ids"], rows["length"]
        labels, got = np.asarray(batch["labels"]), np.asarray(batch["input_ids"])
        sel = labels != -100
        cand = candidates_of(orig, lengths, sp)
        assert not (sel & ~cand).any(), "a special or padding position was chosen"
        np.testing.assert_array_equal(labels[sel], orig[sel])
        np.testing.assert_array_equal(got[~sel], orig[~sel])
        budget = np.minimum(np.maximum(1, np.array([round(0.15 * n) for n in lengths.tolist()])), cand.sum(1))
        np.testing.assert_array_equal(sel.sum(1), budget)  # UER: max(1, round(0.15 * length)), exactly
        new, old = got[sel], orig[sel]
        is_mask = new == sp["mask"]
        same = new == old
        chosen += sel.sum()
        masked += is_mask.sum()
        kept += same.sum()
        rand = ~is_mask & ~same
        randomised += rand.sum()
        assert set(new[rand].tolist()) <= pool
        # a random draw equals the original with probability 1/|pool| (orig is never a banned special)
        expected_kept += np.isin(old, list(pool)).sum() / len(pool)
    q = expected_kept / chosen
    within(masked, chosen, 0.8, "[MASK] share")
    within(kept, chosen, 0.1 + 0.1 * q, "unchanged share")
    within(randomised, chosen, 0.1 * (1 - q), "random-id share")


# ------------------------------------------------------------------------------- whole words
def jieba_units(tokens: list[str]) -> list[tuple[int, int]]:
    """(start, length) token runs forming one jieba word each, segmenting the text between special
    tokens with jieba directly. A token belongs to the word holding its first character."""
    import jieba

    units, seg = [], []

    def close():
        if not seg:
            return
        text = "".join(s for _, s in seg)
        word_of_char, w = [], 0
        for w, word in enumerate(jieba.lcut(text)):
            word_of_char += [w] * len(word)
        at, last = 0, None
        for pos, s in seg:
            w = word_of_char[at] if at < len(word_of_char) else -1
            if w != last:
                units.append([pos, 1])
            else:
                units[-1][1] += 1
            last = w
            at += len(s)
        seg.clear()

    for pos, tok in enumerate(tokens):
        if tok in BREAKERS:
            close()
        else:
            seg.append((pos, tok[2:] if tok.startswith("##") else tok))
    close()
    return [tuple(u) for u in units]


@pytest.mark.parametrize("processor", ["mlm", "bert"])
def test_whole_words_are_masked_whole_against_jieba(real_shards, processor):
    directory = real_shards(processor, "--whole-word")
    vocab = read_vocab(real_shards.vocab)
    words = partial = multi = fallback = 0
    for rows, batch, stream in masked_batches(directory, epochs=3, batch_size=128):
        sp = stream.meta.special_ids
        sel = np.asarray(batch["labels"]) != -100
        orig, lengths = rows["input_ids"], rows["length"]
        for i in range(len(orig)):
            n = int(lengths[i])
            units = jieba_units([vocab[t] for t in orig[i, :n].tolist()])
            budget = max(1, round(0.15 * n))
            for s, ln in units:
                k = int(sel[i, s:s + ln].sum())
                words += k > 0
                multi += k > 0 and ln > 1
                if 0 < k < ln:
                    # the one allowed exception: no word fitted the budget, one single token was taken
                    if sel[i].sum() == 1 and min(u[1] for u in units) > budget:
                        fallback += 1
                        continue
                    partial += 1
            chosen_pos = set(np.flatnonzero(sel[i]).tolist())
            assert chosen_pos <= {p for s, ln in units for p in range(s, s + ln)}
    assert multi > 300, "too few multi-token words were masked to test anything"
    assert partial == 0, f"{partial} of {words} masked jieba words were masked only in part"


@pytest.mark.parametrize("processor", ["mlm", "bert"])
def test_stored_word_starts_are_jieba_words(real_shards, processor):
    """The word starts `shard --whole-word` stores are the starts of jieba's words of the row text."""
    directory = real_shards(processor, "--whole-word")
    vocab = read_vocab(real_shards.vocab)
    cols = shard_columns(directory)
    for i in range(len(cols["length"])):
        n = int(cols["length"][i])
        tokens = [vocab[t] for t in cols["input_ids"][i, :n].tolist()]
        starts = {s for s, _ in jieba_units(tokens)} | {p for p, t in enumerate(tokens) if t in BREAKERS}
        assert sorted(starts) == cols["word_starts"][i].tolist(), i


# ------------------------------------------------------------------------------- spans
def truncated_geometric(p: float, max_len: int) -> np.ndarray:
    probs = p * (1 - p) ** np.arange(max_len)
    return probs / probs.sum()


def test_dynamic_spans_are_whole_with_one_decision_and_geometric_lengths(real_shards, monkeypatch):
    recorded = []
    original = feed_masking.span_units

    def recording_span_units(cand, rng, p, max_len):
        out = original(cand, rng, p, max_len)
        recorded.append((cand.copy(), *(np.asarray(x).copy() for x in out)))
        return out

    monkeypatch.setattr(feed_masking, "span_units", recording_span_units)
    cfg = MaskingConfig(mode="span", span_geo_prob=0.2, span_max_length=10)
    uncut = []
    whole = mixed_decision = 0
    for rows, batch, stream in masked_batches(real_shards("mlm"), epochs=4, batch_size=128, masking=cfg):
        sp = stream.meta.special_ids
        cand, r, s, ln = recorded.pop()
        sel = np.asarray(batch["labels"]) != -100
        got = np.asarray(batch["input_ids"])
        orig, lengths = rows["input_ids"], rows["length"]
        np.testing.assert_array_equal(cand, candidates_of(orig, lengths, sp))
        cover = np.zeros(cand.shape, dtype=int)
        for ri, si, li in zip(r.tolist(), s.tolist(), ln.tolist()):
            assert 1 <= li <= cfg.span_max_length
            cover[ri, si:si + li] += 1
            k = int(sel[ri, si:si + li].sum())
            if k == 0:
                pass
            elif k == li:
                whole += 1
                m = int((got[ri, si:si + li] == sp["mask"]).sum())
                mixed_decision += 0 < m < li  # one decision per span: all [MASK] or none
            else:
                assert sel[ri].sum() == 1, f"row {ri}: span {si}+{li} masked in part"  # one-token fallback
            end = si + li
            if end < cand.shape[1] and cand[ri, end]:
                uncut.append(li)  # a span cut by a special is shorter than its draw
        np.testing.assert_array_equal(cover, cand.astype(int))  # spans tile the candidates, never a special
    assert whole > 1000 and mixed_decision == 0
    counts = np.bincount(uncut, minlength=cfg.span_max_length + 1)[1:]
    probs = truncated_geometric(cfg.span_geo_prob, cfg.span_max_length)
    n = len(uncut)
    sd = np.sqrt(probs * (1 - probs) / n)
    assert (np.abs(counts / n - probs) <= SIGMAS * sd).all(), (counts / n, probs)


def test_static_spans_are_whole_with_one_decision(real_shards, monkeypatch):
    recorded = []
    original = static_masking.span_index_sets

    def recording(src, ids, rng, p, max_len):
        sets = original(src, ids, rng, p, max_len)
        recorded.append([list(x) for x in sets])
        return sets

    monkeypatch.setattr(static_masking, "span_index_sets", recording)
    cols = shard_columns(real_shards("mlm"))
    vocab_size = len(read_vocab(real_shards.vocab))
    ids = static_masking.MaskIds(pad=0, cls=101, sep=102, mask=103, vocab_size=vocab_size, unk=100)
    spec_type = getattr(static_masking, "MaskSpec", None) or static_masking.MaskingConfig  # one type after the registry
    spec = spec_type(mode="span", span_geo_prob=0.2, span_max_length=10)
    rng = random.Random(7)
    spans_taken = 0
    for i in range(len(cols["length"])):
        src = cols["input_ids"][i, :int(cols["length"][i])].tolist()
        out, pos, labels = static_masking.mask_instance(src, rng, ids, spec)
        sets = recorded.pop()
        pos_set = set(pos)
        assert labels == [src[p] for p in pos]
        assert len(pos) <= max(1, round(0.15 * len(src)))
        for a, n in sets:
            assert 1 <= n <= 10
            span = set(range(a, a + n))
            if span & pos_set:
                assert span <= pos_set, f"row {i}: span {a}+{n} taken in part"
                spans_taken += 1
                masks = sum(out[p] == ids.mask for p in span)
                assert masks in (0, n), f"row {i}: span {a}+{n} got more than one 80/10/10 decision"
        assert pos_set <= {p for a, n in sets for p in range(a, a + n)}
    assert spans_taken > 500
