"""Regenerate ``hf_bert_tables.bin`` by probing Hugging Face ``tokenizers`` (dev tool, not used at run time).

Why probe instead of re-deriving from ``unicodedata``: the Rust normalizer and pre-tokenizer use their own
Unicode tables (a different Unicode version than the running Python, a different CJK range list, private-use
characters removed, U+2028 treated as a space ...). Recording what the reference implementation does, per code
point, is the only way to be exact on every character. Normalisation is per character except for canonical
reordering of surviving combining marks, which ``char_classes`` guards against (the RISKY flag).

The file holds, per mode (``lower``: lowercase + strip accents, ``cased``): the class of every code point as
runs (``*.run_starts`` / ``*.run_values``, see ``char_classes``) and the normalisation map (``*.map_cps``,
``*.map_offsets`` into ``*.map_chars``, UTF-32 code points), plus the ``tokenizers`` and Python Unicode
versions it was made from. ``uer-*`` arrays hold the same classes for UER-py's Python tokenizer (``--uer``),
derived from this Python's ``unicodedata``; they are used only on a Python with the same Unicode version.

Run from the repository root: ``python tools/gen_hf_tables.py`` (needs ``tokenizers``; about a minute); it
rewrites ``zh_tokenizers/hf_bert_tables.bin``. Rerun it when upgrading ``tokenizers``.
"""
from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a dev tool run from a checkout

from zh_tokenizers.char_classes import DROP, MAX_CP, RISKY, SINGLE, SPACE, TABLES_FILE, WORD, scan_uer_classes  # noqa: E402
from zh_tokenizers.table_file import write_arrays  # noqa: E402


def probe_normalizer(lowercase: bool) -> dict:
    """Per code point: removed, CJK-padded, or mapped to another string by ``BertNormalizer``."""
    from tokenizers.normalizers import BertNormalizer

    norm = BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=lowercase, lowercase=lowercase)
    drop, chinese, mapping = [], [], {}
    for cp in range(MAX_CP):
        if 0xD800 <= cp <= 0xDFFF:
            drop.append(cp)  # lone surrogates cannot reach the Rust side at all; we drop them
            continue
        ch = chr(cp)
        out = norm.normalize_str(ch)
        if out == ch:
            continue
        if out == "":
            drop.append(cp)
        elif len(out) >= 3 and out[0] == " " and out[-1] == " " and out.strip() and cp >= 0x3400:
            chinese.append(cp)
            inner = out[1:-1]
            if inner != ch:
                mapping[cp] = inner  # compatibility ideographs: padded, then NFD to the unified one
        else:
            mapping[cp] = out
    return {"drop": set(drop), "chinese": set(chinese), "map": mapping}


def probe_pretokenizer() -> dict:
    """Code points ``BertPreTokenizer`` treats as a separator (space) or as a one-character token (punct)."""
    from tokenizers.pre_tokenizers import BertPreTokenizer

    pre = BertPreTokenizer()
    space, punct = set(), set()
    for cp in range(MAX_CP):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        pieces = [p for p, _ in pre.pre_tokenize_str("a" + chr(cp) + "a")]
        if pieces == ["a", "a"]:
            space.add(cp)
        elif pieces == ["a", chr(cp), "a"]:
            punct.add(cp)
        elif pieces != ["a" + chr(cp) + "a"]:
            raise RuntimeError(f"unexpected pre-tokenization of U+{cp:04X}: {pieces}")
    return {"space": space, "punct": punct}


def classify(norm: dict, pre: dict, lowercase: bool) -> np.ndarray:
    """Class of every *raw* code point by what it becomes, so text can be cut before normalising."""
    drop, chinese, mapping = norm["drop"], norm["chinese"], norm["map"]
    punct = {cp for cp in pre["punct"] if cp not in mapping and cp not in drop}
    space = {cp for cp in pre["space"] if cp not in mapping and cp not in drop}
    for cp, out in mapping.items():
        if cp in chinese:
            continue
        kinds = {"space" if ord(c) in pre["space"] else "punct" if ord(c) in pre["punct"] else "word" for c in out}
        if kinds == {"space"}:
            space.add(cp)
        elif kinds == {"punct"} and len(out) == 1:
            punct.add(cp)
        elif kinds != {"word"}:
            raise RuntimeError(f"U+{cp:04X} normalises to mixed word/punctuation {out!r}; tables need a pre-pass")
    cls = np.full(MAX_CP, WORD, dtype=np.uint8)
    cls[sorted(space - chinese)] = SPACE
    cls[sorted((punct - chinese) | chinese)] = SINGLE
    cls[sorted(drop)] = DROP
    if lowercase:
        cls[sorted(_reorder_risky(drop, mapping))] |= RISKY
    return cls


def _reorder_risky(drop: set[int], mapping: dict[int, str]) -> set[int]:
    """Characters that are, or normalise to, a combining mark that survives accent stripping.

    Accent stripping is NFD then removal of Mn marks; per character that is exact except when two marks that
    survive the removal (a few Mc marks, marks newer than the Rust tables) with different combining classes
    meet. Lines with two such characters go through the Rust normaliser itself (``char_classes``).
    """
    risky = {cp for cp in range(sys.maxunicode + 1) if cp not in drop and unicodedata.combining(chr(cp))}
    risky |= {cp for cp, v in mapping.items() if any(unicodedata.combining(c) for c in v)}
    return risky


def to_runs(cls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = np.concatenate(([0], np.flatnonzero(cls[1:] != cls[:-1]) + 1)).astype(np.uint32)
    return starts, cls[starts]


def pack_map(mapping: dict[int, str]) -> dict[str, np.ndarray]:
    cps = sorted(mapping)
    outs = [mapping[cp] for cp in cps]
    offsets = np.concatenate(([0], np.cumsum([len(o) for o in outs]))).astype(np.uint32)
    chars = np.frombuffer("".join(outs).encode("utf-32-le"), dtype=np.uint32)
    return {"map_cps": np.array(cps, dtype=np.uint32), "map_offsets": offsets, "map_chars": chars}


def main(path: Path | None = None) -> None:
    import tokenizers

    path = path or TABLES_FILE
    pre = probe_pretokenizer()
    arrays: dict[str, np.ndarray] = {}
    for mode, lowercase in (("lower", True), ("cased", False)):
        norm = probe_normalizer(lowercase)
        starts, values = to_runs(classify(norm, pre, lowercase))
        arrays[f"{mode}.run_starts"], arrays[f"{mode}.run_values"] = starts, values
        arrays.update({f"{mode}.{k}": v for k, v in pack_map(norm["map"]).items()})
        uer_cls, changed = scan_uer_classes(lowercase)  # UER-py on this Python's unicodedata
        arrays[f"uer-{mode}.run_starts"], arrays[f"uer-{mode}.run_values"] = to_runs(uer_cls)
        arrays[f"uer-{mode}.changed"] = np.array(sorted(map(ord, changed)), dtype=np.uint32)
    meta = {
        "generated_by": "python tools/gen_hf_tables.py",
        "source": "Hugging Face tokenizers BertNormalizer(clean_text, handle_chinese_chars, lowercase[+strip_accents])"
                  " + BertPreTokenizer, probed per code point",
        "tokenizers_version": tokenizers.__version__,
        "python_unicode_version": unicodedata.unidata_version,  # only for the RISKY flag
        # uer-* arrays: UER-py's Python BasicTokenizer classes, used only on a Python with this Unicode version
        "uer_python_unicode_version": unicodedata.unidata_version,
        "classes": {"WORD": WORD, "SINGLE": SINGLE, "SPACE": SPACE, "DROP": DROP, "RISKY (flag)": RISKY},
    }
    write_arrays(path, meta, arrays)
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
