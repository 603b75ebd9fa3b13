"""SpmTokenizer: exactly UER-py's spm path of BertTokenizer on cluecorpussmall_spm.model."""
from __future__ import annotations

import json
import pickle
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zh_tokenizers.spm_tokenizer import SpmTokenizer

UNDERLINE = "\u2581".encode("utf-8")


def uer_encode_pieces(sp, text: str) -> list[str]:
    """Independent transcription of UER-py's ``encode_pieces`` as it runs under Python 3.

    The re-encode goes through bytes, as UER's does; its dummy-prefix check compares an element of
    the result with ``bytes`` and so never fires on Python 3 (kept that way on purpose).
    """
    new_pieces = []
    for piece in sp.EncodeAsPieces(text):
        if len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit():
            cur = sp.EncodeAsPieces(piece[:-1].encode("utf-8").replace(UNDERLINE, b""))
            cur = [c.decode("utf-8") if isinstance(c, bytes) else c for c in cur]
            if piece[0] != UNDERLINE and cur[0][0] == UNDERLINE:  # str vs bytes: never true
                cur = cur[1:] if len(cur[0]) == 1 else [cur[0][1:], *cur[1:]]
            cur.append(piece[-1])
            new_pieces.extend(cur)
        else:
            new_pieces.append(piece)
    return new_pieces


@pytest.fixture(scope="module")
def tok(clue_spm):
    return SpmTokenizer(clue_spm)


@pytest.fixture(scope="module")
def corpus_lines(corpora_dir):
    lines = []
    for path in sorted(corpora_dir.rglob("*")):
        if path.is_file() and path.suffix in {".txt", ".csv", ".tsv", ".json", ""} and path.name != "README.md":
            lines.extend(path.read_text(encoding="utf-8", errors="replace").splitlines())
    assert len(lines) > 10000
    return lines


def test_sample_ids_from_reference_notes(tok):
    # reference/spm_and_vocab.md: 我们 86, 中国 135, 美国 319, 日本 332, 北京 560 (piece ids).
    assert tok.convert_tokens_to_ids(["我们", "中国", "美国", "日本", "北京"]) == [86, 135, 319, 332, 560]
    # At the start of a text sentencepiece's dummy prefix gives "▁我们".
    assert tok.tokenize("我们中国美国日本北京") == ["▁我们", "中国", "美国", "日本", "北京"]
    assert tok.encode("我们中国美国日本北京") == [4215, 135, 319, 332, 560]
    # The HF card's fill-mask ids (中国 2873, 北京 9502, 我们 4215, 美国 7810, 日本 7788) are the
    # "▁"-prefixed pieces of this same file.
    assert tok.convert_tokens_to_ids(["▁中国", "▁北京", "▁我们", "▁美国", "▁日本"]) == [2873, 9502, 4215, 7810, 7788]


def test_special_ids_and_atomic_user_symbols(tok):
    assert tok.special_ids == {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4}
    assert tok.convert_ids_to_tokens(range(5)) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert tok.tokenize("[MASK]是") == ["\u2581", "[MASK]", "是"]
    assert tok.encode("[unused3]") == [17, 7]
    assert tok.vocab_size == 100000


def test_digit_comma_resplit_modes(clue_spm):
    text = "结束。1，然后共2,3个"
    uer = SpmTokenizer(clue_spm)
    assert uer._sp.encode(text, out_type=str) == ["\u2581", "结束", "。1,", "然后", "共", "2,3", "个"]
    # UER on Python 3: re-encoding "。1" adds a dummy-prefix piece that is never stripped.
    assert uer.tokenize(text) == ["\u2581", "结束", "\u2581", "。", "1", ",", "然后", "共", "2,3", "个"]
    assert uer.encode(text) == [17, 2270, 17, 16, 94, 15, 146, 1263, 31018, 95]
    xlnet = SpmTokenizer(clue_spm, digit_comma="xlnet")
    assert xlnet.tokenize(text) == ["\u2581", "结束", "。", "1", ",", "然后", "共", "2,3", "个"]
    plain = SpmTokenizer(clue_spm, digit_comma="none")
    assert plain.tokenize(text) == uer._sp.encode(text, out_type=str)
    assert len({uer.fingerprint, xlnet.fingerprint, plain.fingerprint}) == 3


def _check_parity(tok, text):
    ref = uer_encode_pieces(tok._sp, text)
    assert tok.tokenize(text) == ref
    assert tok.encode(text) == [tok._sp.PieceToId(p) for p in ref]


def test_parity_with_uer_on_every_corpus_line(tok, corpus_lines):
    fixed = 0
    for line in corpus_lines:
        _check_parity(tok, line)
        fixed += tok.encode(line) != tok._sp.encode(line)
    batch = tok.encode_batch(corpus_lines[:2000])
    assert batch == [tok.encode(t) for t in corpus_lines[:2000]]
    assert fixed > 0  # the corpora do exercise the digit-comma re-split


_digits_commas = st.text(alphabet=st.sampled_from(list("0123456789,，。?！ 我们年月日元ab▁\t") + ["１", "２", "²", "٣"]),
                         max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_digits_commas, st.text(max_size=60)))
def test_parity_with_uer_on_random_text(tok, text):
    _check_parity(tok, text)


def test_pickle_describe_decode(tok, clue_spm):
    clone = pickle.loads(pickle.dumps(tok))
    assert clone.encode("北京欢迎你1,") == tok.encode("北京欢迎你1,")
    assert clone.fingerprint == tok.fingerprint
    d = tok.describe()
    json.dumps(d)
    assert d["kind"] == "spm" and d["vocab_size"] == 100000 and d["special_ids"]["mask"] == 4
    assert d["model_sha256"] == "b9a190932eeea14788ec1abd3405b2fb612b52622945ccb3bb68d67fd586dfcc"
    assert tok.decode(tok.encode("我们在北京")) == "我们在北京"


def test_char_and_space_kinds_use_model_vocab(clue_spm):
    char = SpmTokenizer(clue_spm, kind="char")
    assert char.tokenize(" 我们 \x00") == ["我", "们", "[UNK]", "[UNK]"]
    assert char.encode(" 我们 ") == [25, 427]
    space = SpmTokenizer(clue_spm, kind="space")
    assert space.tokenize("我们  中国") == ["我们", "[UNK]", "中国"]
    assert space.encode("我们  中国") == [86, 1, 135]


def test_bad_model_is_one_clear_error(tmp_path):
    from corpusprep.errors import InputError

    with pytest.raises(InputError, match="not found"):
        SpmTokenizer(tmp_path / "missing.model")
    bad = tmp_path / "bad.model"
    bad.write_bytes(b"not a model")
    with pytest.raises(InputError, match="not a sentencepiece model"):
        SpmTokenizer(bad)


def test_model_loads_unchanged_in_hf_albert_tokenizer(tok, clue_spm, tmp_path, corpus_lines):
    transformers = pytest.importorskip("transformers")
    (tmp_path / "spiece.model").symlink_to(clue_spm)
    # UER's settings: no lower-casing, keep accents, the model's own [UNK]/[PAD] pieces.
    hf = transformers.AlbertTokenizer.from_pretrained(str(tmp_path), do_lower_case=False, keep_accents=True,
                                                      unk_token="[UNK]", pad_token="[PAD]")
    assert [hf.pad_token_id, hf.unk_token_id, hf.cls_token_id, hf.sep_token_id, hf.mask_token_id] == [0, 1, 2, 3, 4]
    assert len(hf) == tok.vocab_size
    lines = [ln for ln in corpus_lines if ln.strip()][:3000]
    same = sum(hf(ln, add_special_tokens=False)["input_ids"] == tok.encode(ln) for ln in lines)
    assert same / len(lines) > 0.97, same
    assert hf("我们中国美国日本北京", add_special_tokens=False)["input_ids"] == [4215, 135, 319, 332, 560]
    # Known differences (docs/spm.md): HF has no digit-comma re-split, and lower-cases by default.
    assert hf("结束。1，然后", add_special_tokens=False)["input_ids"] != tok.encode("结束。1，然后")
    default = transformers.AlbertTokenizer.from_pretrained(str(tmp_path), unk_token="[UNK]", pad_token="[PAD]")
    assert default.tokenize("ABC") != hf.tokenize("ABC")
    assert unicodedata.normalize("NFKC", "ＡＢＣ") == "ABC"


def test_unknown_run_ending_in_digit_comma_is_resplit(tmp_path, corpora_dir):
    """A model without ',' lets an unknown run like '٣,' reach the fix; ids must still be UER's."""
    import sentencepiece as spm

    src = corpora_dir / "cluecorpussmall/dbiir__UER-py/corpora/CLUECorpusSmall_sampled.txt"
    lines = [ln.replace(",", "").replace("，", "") for ln in src.read_text(encoding="utf-8").splitlines()[:200]]
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_prefix=str(tmp_path / "nocomma"),
                                   vocab_size=2600, hard_vocab_limit=False, minloglevel=2)
    tok = SpmTokenizer(tmp_path / "nocomma.model")
    assert not tok._comma_known
    text = "价格a٣,b"
    assert "٣," in tok._sp.encode(text, out_type=str)
    _check_parity(tok, text)
    assert tok.tokenize(text)[-2:] == [",", "b"]
    for line in lines[:50]:
        _check_parity(tok, line + " 12,5٣,")
