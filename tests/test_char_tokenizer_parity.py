"""Our BERT char tokenizer == Hugging Face tokenizers / transformers ids, on every corpus line and random text."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from zh_tokenizers import load_tokenizer  # noqa: E402

tokenizers = pytest.importorskip("tokenizers")


def _hf(vocab: Path, lowercase: bool = True):
    from tokenizers import BertWordPieceTokenizer

    return BertWordPieceTokenizer(str(vocab), lowercase=lowercase)


def _hf_ids(hf, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]


def corpus_lines(corpora_dir: Path) -> list[str]:
    """Every line of every sample file, decoded as UTF-8, else GB18030 (the one GBK file)."""
    lines: list[str] = []
    for path in sorted(corpora_dir.rglob("*")):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        lines.extend(text.splitlines())
    return lines


@pytest.fixture(scope="module")
def lines(corpora_dir) -> list[str]:
    out = corpus_lines(corpora_dir)
    assert len(out) > 10_000
    return out


@pytest.fixture(scope="module")
def ours(google_vocab):
    return load_tokenizer(vocab=google_vocab)


@pytest.fixture(scope="module")
def hf(google_vocab):
    return _hf(google_vocab)


@pytest.fixture(scope="module")
def cased(google_vocab):
    """(ours, HF) with do_lower_case=False."""
    return load_tokenizer(vocab=google_vocab, do_lower_case=False), _hf(google_vocab, lowercase=False)


def _first_mismatch(ours_ids, ref_ids, texts):
    for text, a, b in zip(texts, ours_ids, ref_ids):
        if a != b:
            return text, a, b
    return None


def test_every_corpus_line_matches_hf_tokenizers(ours, hf, lines):
    expected = _hf_ids(hf, lines)
    assert _first_mismatch(ours.encode_batch(lines), expected, lines) is None
    sample = slice(None, None, 7)  # the per-line path too (on a sample, to keep the test short)
    assert _first_mismatch([ours.encode(t) for t in lines[sample]], expected[sample], lines[sample]) is None


def test_corpus_sample_matches_hf_tokenizers_cased(cased, lines):
    ours, hf = cased
    sample = lines[::4]
    assert _first_mismatch(ours.encode_batch(sample), _hf_ids(hf, sample), sample) is None


def test_sample_matches_transformers_bert_tokenizer(ours, google_vocab, lines):
    from transformers import BertTokenizer

    bt = BertTokenizer(str(google_vocab), do_lower_case=True)
    sample = lines[::50] + ["Ünïcödé ÀÉÎ straße ΑΣ İ", "[MASK] and [mask] a[SEP]b", "\u00adsoft\u200bhyphen"]
    expected = [bt.encode(t, add_special_tokens=False) for t in sample]
    assert _first_mismatch(ours.encode_batch(sample), expected, sample) is None


# Random text biased towards the hard parts: CJK (incl. the 0x2B820-0x2B91F block HF does not split),
# accents and combining marks, controls/format chars, punctuation, spaces, long words, specials, other scripts.
_pieces = st.one_of(
    st.text(min_size=1, max_size=30),  # any Unicode (hypothesis excludes lone surrogates)
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=20),
    st.text(alphabet=st.sampled_from(list("àéîõüÀÉÎÕÜçñøåßæœΑΣσςİıﬁ\u0301\u0308\u0338\u1d165\u1d16e≠≮")),
            min_size=1, max_size=12),
    st.text(alphabet=st.sampled_from(list("\x00\x01\x07\x0b\x0c\x1c\x85\t\n\r \u00a0\u2028\u200b\u200d\ufeff"
                                          "\ufffd\ue000\U000f0000\u3000\u00ad")), min_size=1, max_size=6),
    st.text(alphabet=st.sampled_from(list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~，。！？、“”《》…—·¿¡§¶")),
            min_size=1, max_size=6),
    st.sampled_from(["[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[unused1]", "[mask]", "[MASK"]),
    st.integers(95, 210).map(lambda n: "a" * n),
    st.integers(95, 105).map(lambda n: "é" * n),
    st.text(alphabet=st.characters(min_codepoint=0x20000, max_codepoint=0x2FA1F), min_size=1, max_size=4),
    st.text(alphabet=st.characters(min_codepoint=0x3040, max_codepoint=0x30FF), min_size=1, max_size=8),
    st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), min_size=1, max_size=8),
    st.text(alphabet=st.characters(min_codepoint=0xF900, max_codepoint=0xFAFF), min_size=1, max_size=4),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0123456789", min_size=1, max_size=25),
)
random_text = st.lists(_pieces, max_size=8).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(random_text, min_size=1, max_size=5))
def test_random_unicode_matches_hf_tokenizers(ours, hf, texts):
    expected = _hf_ids(hf, texts)
    assert _first_mismatch([ours.encode(t) for t in texts], expected, texts) is None  # per-line path
    batch = texts * 4  # >= 4 texts: the vectorised batch path
    assert _first_mismatch(ours.encode_batch(batch), expected * 4, batch) is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(random_text, min_size=1, max_size=5))
def test_random_unicode_matches_hf_tokenizers_cased(cased, texts):
    ours, hf = cased
    expected = _hf_ids(hf, texts)
    assert _first_mismatch([ours.encode(t) for t in texts], expected, texts) is None
    assert _first_mismatch(ours.encode_batch(texts * 4), expected * 4, texts * 4) is None


def test_long_word_limit_counts_characters(ours, hf):
    # 100 characters is the HF limit, counted in code points (150 two-byte chars would be > 100 bytes).
    for word in ["a" * 100, "a" * 101, "α" * 100, "α" * 101, "é" * 101]:
        assert ours.encode(word) == hf.encode(word, add_special_tokens=False).ids
    assert ours.tokenize("a" * 101) == ["[UNK]"]
    assert ours.tokenize("α" * 100)[0] == "α"


def test_uer_compat_long_word_limit_is_200(google_vocab):
    uer = load_tokenizer(vocab=google_vocab, uer_compat=True)
    assert uer.tokenize("a" * 150)[0] == "aaa"
    assert uer.tokenize("a" * 200)[0] == "aaa"
    assert uer.tokenize("a" * 201) == ["[UNK]"]
    assert load_tokenizer(vocab=google_vocab).tokenize("a" * 150) == ["[UNK]"]


def test_known_hf_quirks(ours):
    # HF splits CJK from U+2B920 on, UER-py (and Google's Python) from U+2B820.
    assert ours.tokenize("a\U0002B820b") == ["[UNK]"]
    assert ours.tokenize("a\U0002B920b") == ["a", "[UNK]", "b"]
    # Special tokens in the vocab are atomic in the raw text; lower-cased ones are not.
    assert ours.tokenize("x[MASK]y [mask]") == ["x", "[MASK]", "y", "[", "ma", "##sk", "]"]
    # Private use and format characters vanish, joining their neighbours; U+2028 is a space.
    assert ours.tokenize("ab\ue000cd a\u200bb x\u2028y") == ["abc", "##d", "ab", "x", "y"]


def test_interface(ours, google_vocab):
    assert ours.vocab_size == 21128
    assert ours.special_ids == {"pad": 0, "unk": 100, "cls": 101, "sep": 102, "mask": 103}
    ids = ours.encode("北京 Hello")
    assert ids == [1266, 776, 8701]
    assert ours.convert_ids_to_tokens(ids) == ["北", "京", "hello"]
    assert ours.decode(ours.encode("北京大学 unaffable")) == "北京大学unaffable"
    d = ours.describe()
    assert d["kind"] == "bert" and d["vocab_size"] == 21128 and d["fingerprint"] == ours.fingerprint
    clone = pickle.loads(pickle.dumps(ours))
    assert clone.encode("中文 naïve") == ours.encode("中文 naïve") and clone.fingerprint == ours.fingerprint
    assert load_tokenizer(vocab=google_vocab, uer_compat=True).fingerprint != ours.fingerprint


def test_combining_mark_reordering_follows_the_reference(tmp_path):
    # NFD puts U+1D165 (ccc 216) before U+1D16D (ccc 226); per-character normalisation alone would not.
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nx\n##\U0001D165\n##\U0001D16D\n##y\n", encoding="utf-8")
    text = "x\U0001D16D\U0001D165y"
    expected = _hf(vocab).encode(text, add_special_tokens=False).ids
    assert expected == [5, 6, 7, 8]
    ours = load_tokenizer(vocab=vocab)
    assert ours.encode(text) == expected
    assert ours.encode_batch([text, "x", text, text]) == [expected, [5], expected, expected]


def test_odd_vocab_lines_read_like_hf(tmp_path):
    # CRLF, trailing whitespace, an empty line, a repeated token (the later id wins), a tab inside a line.
    vocab = tmp_path / "odd.txt"
    vocab.write_bytes(b"[PAD]\r\n[UNK]\r\n[CLS]\n[SEP]\n[MASK]\nfoo \nbar\tbaz\n\n##s\nfoo\n")
    texts = ["foo foos bar", "x", "bar\tbaz", "[UNK]"]
    expected = [e.ids for e in _hf(vocab).encode_batch(texts, add_special_tokens=False)]
    ours = load_tokenizer(vocab=vocab)
    assert [ours.encode(t) for t in texts] == expected == [[9, 9, 8, 1], [1], [1, 1], [1]]
    assert ours.vocab_size == 10 and ours.special_ids["unk"] == 1
