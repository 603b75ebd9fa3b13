"""`inspect DIR`: what a shard directory holds, and a few instances decoded back to text."""
from __future__ import annotations

import json
from pathlib import Path

from corpusprep.instances.format import read_meta_json as read_meta


def tokenizer_from_meta(meta: dict, vocab: Path | None = None, spm: Path | None = None):
    """Rebuild the tokenizer recorded in zooprep.json (or the one given), None when unavailable."""
    from zh_tokenizers import load_tokenizer

    desc = meta.get("tokenizer", {})
    try:
        if vocab or spm:
            return load_tokenizer(spm=spm) if spm is not None else load_tokenizer(vocab=vocab)
        kind, path, opts = desc.get("kind"), desc.get("path"), desc.get("options", {})
        if not path or not Path(path).exists():
            return None
        if str(path).endswith(".model"):
            return load_tokenizer(spm=path)
        kwargs = {k: v for k, v in opts.items() if k in ("uer_compat", "do_lower_case")}
        return load_tokenizer(vocab=path, kind=kind if kind in ("bert", "char", "space") else "bert", **kwargs)
    except Exception:  # a moved or changed vocab: show ids instead of failing the summary
        return None


def summary_lines(meta: dict, rows: int) -> list[str]:
    c = meta.get("counts", {})
    tok = meta.get("tokenizer", {})
    lines = [
        f"rows            {rows}",
        f"processor       {meta.get('processor')}  seq_len {meta.get('seq_len')}  row_len {meta.get('row_len')}  dtype {meta.get('dtype')}",
        f"tokenizer       {tok.get('kind')}  {tok.get('path')}  vocab {tok.get('vocab_size')}  fingerprint {str(tok.get('fingerprint'))[:12]}",
        f"special ids     {meta.get('special_ids')}",
        f"options         seed {meta.get('seed')}  full_sentences {meta.get('full_sentences')}  static_masking {meta.get('static_masking')}  dup_factor {meta.get('dup_factor')}  whole_word {meta.get('whole_word')}",
        f"documents       {c.get('documents')}   instances {c.get('instances')}   tokens {c.get('tokens')}",
        f"padding share   {c.get('padding_share')}   [UNK] rate {c.get('unk_rate')}",
        f"files           {len(meta.get('files', []))}   sources {len(meta.get('sources', []))}",
    ]
    if (meta.get("manifest") or {}).get("dataset"):
        lines.append(f"manifest        {meta['manifest']}")
    return lines


def instance_lines(ds, tok, n: int) -> list[str]:
    out = []
    for i in range(min(n, len(ds))):
        row = ds[i]
        ids = row["input_ids"][: row["length"]]
        extra = {k: v for k, v in row.items() if k not in ("input_ids", "length")}
        out.append(f"--- instance {i}: length {row['length']} {json.dumps(extra, ensure_ascii=False)[:200]}")
        if tok is None:
            out.append("ids: " + " ".join(map(str, ids)))
        elif "seg_a_len" in row:
            a = row["seg_a_len"]
            out.append("A: " + tok.decode(ids[:a]))
            out.append("B: " + tok.decode(ids[a:]))
        else:
            out.append(tok.decode(ids))
    return out


def inspect_dir(out: Path, n: int = 3, vocab: Path | None = None, spm: Path | None = None) -> str:
    """The report `inspect` prints."""
    import datasets

    meta = read_meta(out)
    ds = datasets.load_from_disk(str(out))
    tok = tokenizer_from_meta(meta, vocab, spm) if n > 0 else None
    lines = summary_lines(meta, len(ds))
    if n > 0:
        if tok is None:
            lines.append("(tokenizer files not found: showing ids; pass --vocab/--spm to decode)")
        lines += instance_lines(ds, tok, n)
    return "\n".join(lines)
