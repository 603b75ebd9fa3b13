"""A tokenizer crosses to worker processes by path + options and is built once per process there."""
from __future__ import annotations

import pickle

from zh_tokenizers import load_tokenizer


def _vocab(tmp_path):
    path = tmp_path / "vocab.txt"
    specials = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    path.write_text("\n".join(specials + list("中文北京大学") + ["##s"]) + "\n", encoding="utf-8")
    return path


def test_unpickled_tokenizer_is_reused_within_a_process_and_encodes_the_same(tmp_path):
    tok = load_tokenizer(vocab=str(_vocab(tmp_path)))
    blob = pickle.dumps(tok)
    first, second = pickle.loads(blob), pickle.loads(blob)
    assert first is second  # one per process and vocab: tables and word cache are not rebuilt per unit
    assert first.encode("北京大学 中文") == tok.encode("北京大学 中文")
    assert first.fingerprint == tok.fingerprint


def test_a_rewritten_vocab_file_is_not_served_from_the_process_cache(tmp_path):
    path = _vocab(tmp_path)
    stale = pickle.loads(pickle.dumps(load_tokenizer(vocab=str(path))))
    path.write_text(path.read_text(encoding="utf-8") + "新\n", encoding="utf-8")
    fresh = pickle.loads(pickle.dumps(load_tokenizer(vocab=str(path))))
    assert fresh is not stale and fresh.vocab_size == stale.vocab_size + 1
