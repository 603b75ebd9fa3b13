"""UER-py behaviours: BertTokenizer with uer_compat (checked against a naive transcription of its documented
algorithm), CharTokenizer and SpaceTokenizer."""
from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings

from zh_tokenizers import load_tokenizer
from zh_tokenizers.char_classes import UER_CHINESE_RANGES

from test_char_tokenizer_parity import corpus_lines, random_text


def _naive_uer_bert(text: str, vocab: dict[str, int], lower: bool = True, limit: int = 200) -> list[int]:
    """Character-at-a-time BasicTokenizer + WordPiece, written from spm_and_vocab.md section 3 (slow, obvious)."""
    def is_punct(ch):
        cp = ord(ch)
        return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or \
            unicodedata.category(ch).startswith("P")

    cleaned = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ord(ch) in (0, 0xFFFD) or (ch not in "\t\n\r" and cat in ("Cc", "Cf")):
            continue
        cleaned.append(" " if ch in " \t\n\r" or cat == "Zs" else ch)
    spaced = "".join(f" {c} " if any(a <= ord(c) <= b for a, b in UER_CHINESE_RANGES) else c for c in cleaned)
    pieces = []
    for token in spaced.split():
        if lower:
            token = "".join(c for c in unicodedata.normalize("NFD", token.lower()) if unicodedata.category(c) != "Mn")
        word = ""
        for ch in token:
            if is_punct(ch):
                pieces += [word, ch] if word else [ch]
                word = ""
            else:
                word += ch
        if word:
            pieces.append(word)
    ids = []
    unk = vocab["[UNK]"]
    for word in " ".join(pieces).split():
        if len(word) > limit:
            ids.append(unk)
            continue
        out, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                sub = ("##" if start else "") + word[start:end]
                if sub in vocab:
                    out.append(vocab[sub])
                    start = end
                    break
            else:
                out = [unk]
                break
        ids.extend(out)
    return ids


@pytest.fixture(scope="module")
def uer(google_vocab):
    return load_tokenizer(vocab=google_vocab, uer_compat=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=random_text)
def test_uer_bert_matches_naive_reference(uer, text):
    expected = _naive_uer_bert(text, uer.vocab.token_to_id)
    assert uer.encode(text) == expected
    assert uer.encode_batch([text, "中文", text, "x"]) == [expected, [704, 3152], expected, [166]]


@pytest.mark.parametrize("text", ["ΑΣ'Α", "ΑΣ.Α", "ΑΣ,Α", "ΑΣ:Α", "Α'Σ", "ΟΔΥΣΣΕΥΣ.", "ΑΣ·Α", "ΑΣ\u00adΑ"])
def test_uer_final_sigma_around_punctuation(uer, text):
    # Python's final-sigma rule looks through "case-ignorable" punctuation; those must not be cut early.
    expected = _naive_uer_bert(text, uer.vocab.token_to_id)
    assert uer.encode(text) == expected and uer.encode_batch([text] * 4) == [expected] * 4


def test_uer_bert_matches_naive_reference_on_corpus_sample(uer, corpora_dir):
    sample = corpus_lines(corpora_dir)[::20]
    vocab = uer.vocab.token_to_id
    expected = [_naive_uer_bert(t, vocab) for t in sample]
    assert uer.encode_batch(sample) == expected
    assert [uer.encode(t) for t in sample[::5]] == expected[::5]


def test_uer_bert_differs_from_hf_where_documented(uer):
    assert uer.tokenize("[MASK]") == ["[", "ma", "##sk", "]"]  # UER has no atomic special tokens
    assert uer.tokenize("a\U0002B820b") == ["a", "[UNK]", "b"]  # UER's CJK range starts at U+2B820
    assert uer.tokenize("ΑΣ") == ["α", "##ς"]  # Python str.lower(): final sigma


def test_uer_char_tokenizer(google_vocab):
    tok = load_tokenizer(vocab=google_vocab, kind="char")
    assert tok.tokenize("  中文 Ab\u00e9!\n") == ["中", "文", "[UNK]", "[UNK]", "b", "[UNK]", "!"]  # no space, capitals or accents in google vocab
    assert tok.encode("中文") == [704, 3152]
    assert tok.encode("   ") == []


@pytest.fixture(scope="module")
def char_tok(google_vocab):
    return load_tokenizer(vocab=google_vocab, kind="char")


@settings(max_examples=200, deadline=None)
@given(text=random_text)
def test_uer_char_tokenizer_one_token_per_char(char_tok, text):
    tok = char_tok
    vocab = tok.vocab.token_to_id
    assert tok.tokenize(text) == [c if c in vocab else "[UNK]" for c in text.strip()]


def test_uer_space_tokenizer(google_vocab):
    tok = load_tokenizer(vocab=google_vocab, kind="space")
    assert tok.tokenize(" 中 hello  world\n") == ["中", "hello", "[UNK]", "world"]  # '' between the 2 spaces
    assert tok.tokenize("") == ["[UNK]"]  # UER: ''.split(' ') == ['']
    assert tok.tokenize("Hello") == ["[UNK]"]  # no lower-casing


def test_bad_inputs_are_clear_errors(tmp_path, google_vocab):
    from corpusprep.errors import InputError, ZooprepError

    with pytest.raises(InputError, match="not found"):
        load_tokenizer(vocab=tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"[PAD]\n[UNK]\n\xff\xfe\n")
    with pytest.raises(InputError, match=r"bad.txt:3"):
        load_tokenizer(vocab=bad)
    nounk = tmp_path / "nounk.txt"
    nounk.write_text("[PAD]\na\n")
    with pytest.raises(InputError, match=r"\[UNK\]"):
        load_tokenizer(vocab=nounk)
    with pytest.raises(ZooprepError, match="kind"):
        load_tokenizer(vocab=google_vocab, kind="wordpiece")
    with pytest.raises(ZooprepError):
        load_tokenizer()
