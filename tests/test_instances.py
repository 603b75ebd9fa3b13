"""Pure instance builders: mlm/lm cutting, bert/albert pairs (exact random-call order), masking."""
from __future__ import annotations

import random

import numpy as np
import pytest

from corpusprep.instances.masking import (MaskIds, MaskingConfig, apply_masking, mask_instance, span_index_sets,
                                          token_index_sets, word_index_sets)
from corpusprep.instances.processors import FullSentencePacker, albert_instances, bert_instances, pack_documents
from corpusprep.instances.wordstarts import word_starts_from_tokens

IDS = MaskIds(pad=0, cls=2, sep=3, mask=4, vocab_size=50, unk=1)
C, S, P = IDS.cls, IDS.sep, IDS.pad


class ScriptedRng:
    """Answers random()/randint() from a script and fails on any call out of the expected order."""

    def __init__(self, script):
        self.script = list(script)

    def _next(self, kind):
        assert self.script, f"unexpected extra call {kind}"
        got_kind, value = self.script.pop(0)
        assert got_kind == kind, f"expected {got_kind}, got a {kind} call"
        return value

    def random(self):
        return self._next("random")

    def randint(self, a, b):
        value = self._next("randint")
        assert a <= value <= b
        return value


def rows_as_lists(rows, lengths):
    return [rows[i, : lengths[i]].tolist() for i in range(len(lengths))]


def test_mlm_cuts_each_framed_document_and_pads_the_last_piece():
    rows, lengths = pack_documents([[10, 11, 12, 13, 14], [20]], 4, IDS)
    assert rows.tolist() == [[C, 10, 11, 12], [13, 14, S, P], [C, 20, S, P]]
    assert lengths.tolist() == [4, 3, 3]


def test_exact_multiple_gives_no_empty_row_and_empty_doc_gives_cls_sep():
    rows, lengths = pack_documents([[10, 11], []], 4, IDS)
    assert rows_as_lists(rows, lengths) == [[C, 10, 11, S], [C, S]]


def test_lm_width_is_seq_len_plus_one():
    rows, lengths = pack_documents([[10, 11, 12, 13, 14]], 3, IDS)  # seq_len 2 -> width 3
    assert rows_as_lists(rows, lengths) == [[C, 10, 11], [12, 13, 14], [S]]


def test_full_sentences_packs_across_documents_and_batches():
    packer = FullSentencePacker(4, IDS)
    r1, l1 = packer.add([[10, 11]])  # C 10 11 S  -> one full row
    r2, l2 = packer.add([[20, 21, 22]])  # C 20 21 22 | S carried
    r3, l3 = packer.finish()
    assert rows_as_lists(r1, l1) == [[C, 10, 11, S]]
    assert rows_as_lists(r2, l2) == [[C, 20, 21, 22]]
    assert r3.tolist() == [[S, P, P, P]] and l3.tolist() == [1]
    assert packer.finish()[0].shape == (0, 4)


def test_pack_documents_matches_python_slicing():
    rng = np.random.default_rng(0)
    docs = [list(rng.integers(5, 50, size=n)) for n in rng.integers(0, 40, size=50)]
    rows, lengths = pack_documents(docs, 7, IDS)
    expected = []
    for d in docs:
        framed = [C, *d, S]
        expected += [framed[a: a + 7] for a in range(0, len(framed), 7)]
    assert rows_as_lists(rows, lengths) == expected
    assert all((rows[i, lengths[i]:] == P).all() for i in range(len(lengths)))


def test_bert_pair_in_document_order():
    docs = [[[10, 11], [12, 13], [14]], [[30, 30, 30]]]
    rng = ScriptedRng([("random", 0.5),  # short_seq_prob check: not short
                       ("randint", 2),  # a_end
                       ("random", 0.7)])  # >= 0.5: actual next
    out = []
    bert_instances(docs, 0, rng, 10, 0.1, C, S, out.append)
    assert [(x.src, x.seg_a_len, x.label) for x in out] == [([C, 10, 11, 12, 13, S, 14, S], 6, 0)]
    assert not rng.script


def test_bert_random_next_pushes_unused_sentences_back():
    docs = [[[10, 11], [12, 13], [14]], [[30, 31, 32], [33]]]
    rng = ScriptedRng([
        ("random", 0.9),  # not a short target (seq_len 10 -> max 7)
        ("randint", 2), ("random", 0.2),  # a_end 2 (A = 10 11 12 13), random next
        ("randint", 1), ("randint", 0),  # other document 1, from its sentence 0; B needs 7-4=3 -> 30 31 32
        # sentence [14] goes back: a one-sentence chunk is always random next (no random() draw)
        ("randint", 0), ("randint", 1), ("randint", 1),  # first pick is itself, retry -> doc 1, start 1
    ])
    out = []
    bert_instances(docs, 0, rng, 10, 0.0, C, S, out.append)
    assert [(x.src, x.seg_a_len, x.label) for x in out] == [
        ([C, 10, 11, 12, 13, S, 30, 31, 32, S], 6, 1),
        ([C, 14, S, 33, S], 3, 1),
    ]
    assert not rng.script


def test_truncation_trims_the_longer_side_front_or_back():
    docs = [[[10, 11, 12, 13, 14, 15], [20, 21, 22, 23]]]
    rng = ScriptedRng([("random", 0.9), ("randint", 1), ("random", 0.9),  # A 6 tokens, B 4: actual next
                       ("random", 0.1), ("random", 0.6)])  # 10 > 8: A loses its front, then its back
    out = []
    bert_instances(docs, 0, rng, 11, 0.0, C, S, out.append)  # max_tokens 8
    assert out[0].src == [C, 11, 12, 13, 14, S, 20, 21, 22, 23, S]
    assert not rng.script


def test_albert_swaps_a_and_b():
    doc = [[10, 11], [12], [13, 14]]
    rng = ScriptedRng([("random", 0.9), ("randint", 1), ("random", 0.3)])  # a_end 1, swap
    out = []
    albert_instances(doc, rng, 20, 0.0, C, S, out.append)
    assert [(x.src, x.seg_a_len, x.label) for x in out] == [([C, 12, 13, 14, S, 10, 11, S], 5, 1)]


def test_short_seq_target_uses_randint_between_2_and_max():
    doc = [[10], [11], [12], [13]]
    rng = ScriptedRng([("random", 0.05), ("randint", 2),  # short: target 2
                       ("randint", 1), ("random", 0.9),  # chunk [10],[11]: a_end 1, keep order
                       ("randint", 1), ("random", 0.9)])
    out = []
    albert_instances(doc, rng, 20, 0.1, C, S, out.append)
    assert [x.src for x in out] == [[C, 10, S, 11, S], [C, 12, S, 13, S]]


def uer_style_mask(src, rng, ids):
    """The rule of uer/utils/mask.py (token masking), written out plainly."""
    src = list(src)
    candidates = [[i] for i, t in enumerate(src) if t not in (ids.cls, ids.sep, ids.pad)]
    rng.shuffle(candidates)
    n = max(1, int(round(len(src) * 0.15)))
    tgt = []
    for (i,) in candidates:
        if len(tgt) >= n:
            break
        tgt.append((i, src[i]))
        r = rng.random()
        if r < 0.8:
            src[i] = ids.mask
        elif r < 0.9:
            while True:
                x = rng.randint(1, ids.vocab_size - 1)
                if x not in (ids.cls, ids.sep, ids.mask, ids.pad):
                    break
            src[i] = x
    tgt.sort()
    return src, [p for p, _ in tgt], [t for _, t in tgt]


def test_token_masking_matches_uer_rule_draw_for_draw():
    src = [C] + list(range(5, 45)) + [S, 8, 9, S]
    for seed in range(20):
        got = mask_instance(src, random.Random(seed), IDS, MaskingConfig("token"))
        assert got == uer_style_mask(src, random.Random(seed), IDS)


def test_masking_properties():
    rng = random.Random(1)
    masked_share = []
    for _ in range(300):
        src = [C] + [rng.randint(5, 49) for _ in range(rng.randint(1, 60))] + [S]
        out, pos, labels = mask_instance(src, rng, IDS, MaskingConfig("token"))
        assert len(pos) == min(max(1, round(len(src) * 0.15)), len(src) - 2)
        assert 0 not in pos and len(src) - 1 not in pos
        assert [src[p] for p in pos] == labels
        assert all(out[i] == src[i] for i in range(len(src)) if i not in pos)
        masked_share += [out[p] == IDS.mask for p in pos]
    assert 0.75 < sum(masked_share) / len(masked_share) < 0.85


def test_cls_sep_only_instance_masks_nothing():
    assert mask_instance([C, S], random.Random(0), IDS, MaskingConfig("token")) == ([C, S], [], [])


def test_span_sets_start_on_non_specials_and_stop_at_the_end():
    src = [C] + list(range(5, 25)) + [S]
    sets = span_index_sets(src, IDS, random.Random(3), 0.2, 10)
    starts = [s[0] for s in sets]
    assert starts == sorted(starts) and 0 not in starts
    for (a, n), nxt in zip(sets, starts[1:] + [len(src)]):
        assert 1 <= n <= 10 and a + n <= len(src)
        assert nxt >= a + n or a + n >= len(src)


def test_span_masking_takes_whole_spans_within_budget():
    src = [C] + list(range(5, 45)) + [S]
    out, pos, labels = mask_instance(src, random.Random(5), IDS, MaskingConfig("span", span_geo_prob=0.2, span_max_length=10))
    assert 1 <= len(pos) <= round(len(src) * 0.15)


def test_word_masking_masks_whole_words_only():
    src = [C, 10, 11, 12, 13, 14, 15, S]
    word_starts = [0, 1, 3, 4, 7]  # words: [10 11] [12] [13 14 15]
    sets = word_index_sets(len(src), word_starts, {0, 7})
    assert sets == [[1, 2], [3, 1], [4, 3]]
    for seed in range(10):
        _, pos, _ = apply_masking(src, [list(s) for s in sets], random.Random(seed), IDS, "word")
        covered = {tuple(range(a, a + n)) for a, n in sets}
        assert all(any(p in w for w in covered) for p in pos)
        for w in covered:
            assert set(w) <= set(pos) or not set(w) & set(pos)


def test_token_index_sets_skip_specials():
    assert token_index_sets([C, 7, P, S, 8], IDS) == [[1], [4]]


def test_word_starts_from_tokens_groups_jieba_words():
    tokens = ["[CLS]", "我", "们", "喜", "欢", "北", "京", "[SEP]"]
    starts = word_starts_from_tokens(tokens, cut=lambda text: ["我们", "喜欢", "北京"])
    assert starts == [0, 1, 3, 5, 7]


def test_word_starts_wordpiece_and_unk():
    tokens = ["[CLS]", "hello", "##world", "[UNK]", "好", "[SEP]"]
    starts = word_starts_from_tokens(tokens, cut=lambda text: ["helloworld"] if text.startswith("h") else list(text))
    assert starts == [0, 1, 3, 4, 5]


@pytest.mark.parametrize("text", ["我们喜欢北京天安门。", "今天天气很好"])
def test_word_starts_with_real_jieba(text):
    tokens = ["[CLS]", *text, "[SEP]"]
    starts = word_starts_from_tokens(tokens)
    assert starts[0] == 0 and starts[-1] == len(tokens) - 1 and 1 in starts
    assert len(starts) < len(tokens)  # some word spans more than one character
