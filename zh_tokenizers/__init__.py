"""Chinese tokenizers for zooprep: BERT-compatible char tokenizer, UER char/space, sentencepiece word.

``load_tokenizer`` is the one entry point other stages use (interface: docs/FORMATS.md section 3).
"""
from __future__ import annotations

from corpusprep.errors import ZooprepError

KINDS = ("bert", "char", "space")


def load_tokenizer(vocab=None, spm=None, kind: str = "bert", uer_compat: bool = False, do_lower_case: bool = True,
                   vocab_data: bytes | None = None):
    """Build a tokenizer from a vocab file (``kind`` bert|char|space) or a sentencepiece model (``spm``).

    ``kind="bert"``: ids identical to HF ``BertTokenizer(do_lower_case=...)``; with ``uer_compat=True``
    identical to UER-py's BertTokenizer (Python Unicode tables, 200-char word limit, no atomic specials).
    ``kind="char"`` / ``"space"``: UER-py's CharTokenizer / SpaceTokenizer.
    ``vocab_data``: the vocab file's bytes, already read (``vocab`` then only names it).
    """
    if kind not in KINDS:
        raise ZooprepError(f"unknown tokenizer kind {kind!r}; choose one of {', '.join(KINDS)}")
    if (vocab is None) == (spm is None):
        raise ZooprepError("give exactly one of vocab= (a vocab .txt) or spm= (a sentencepiece .model)")
    if spm is not None:
        try:
            from zh_tokenizers.spm_tokenizer import SpmTokenizer
        except ImportError as exc:
            raise ZooprepError(f"sentencepiece tokenizer is not available yet ({exc})") from None
        return SpmTokenizer(str(spm), kind=kind)

    from zh_tokenizers.vocab_file import read_vocab

    if kind == "bert":
        from zh_tokenizers.bert_tokenizer import BertCharTokenizer

        return BertCharTokenizer(read_vocab(vocab, "uer" if uer_compat else "hf", vocab_data), uer_compat=uer_compat,
                                 do_lower_case=do_lower_case)
    from zh_tokenizers.uer_simple import UerCharTokenizer, UerSpaceTokenizer

    cls = UerCharTokenizer if kind == "char" else UerSpaceTokenizer
    return cls(read_vocab(vocab, "uer", vocab_data))


def _register() -> None:
    """Pickled tokenizers are rebuilt through ``load_tokenizer`` (base.__reduce__): handed to base here,
    so that base does not import the package's entry point back."""
    from zh_tokenizers import base

    base.FACTORY = load_tokenizer


_register()

__all__ = ["load_tokenizer", "KINDS"]
