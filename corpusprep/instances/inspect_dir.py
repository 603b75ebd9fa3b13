"""`inspect DIR`: what a shard directory holds, and chosen instances decoded back to text.

Instances are rendered the same way for every tokenizer: the runs between special ids are decoded by
the tokenizer, the special ids themselves are shown by role ([CLS], [SEP], [MASK], [PAD], [UNK]), so a
vocab and a sentencepiece shard read alike. A legend names every line and field shown.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from corpusprep.errors import InputError, ZooprepError
from corpusprep.instances.decode import Renderer, tokenizer_from_meta
from corpusprep.instances.format import read_meta as checked_meta
from corpusprep.instances.stats import LABEL_MEANINGS, summary_lines as stats_lines

SHOWN_IDS = 64  # ids / pieces / positions listed per line before "..."


@dataclass(frozen=True)
class InspectOptions:
    """Which rows to show and how (the `inspect` command's options)."""

    n: int = 3  # rows from ``start`` on (ignored with ``random``)
    start: int = 0
    random: int = 0  # this many rows drawn at random from ``start`` on
    seed: int = 0
    ids: bool = False
    pieces: bool = False
    vocab: Path | None = None
    spm: Path | None = None
    split: str | None = None  # a --validation-* shard or a clean output: train (default) | validation
    view: str | None = None  # encoded corpus: show rows of this view (mlm:512) instead of documents
    reason: str | None = None  # clean output: show the sampled rejects of this reason

    def validate(self) -> None:
        for name in ("n", "start", "random"):
            if getattr(self, name) < 0:
                raise ZooprepError(f"--{name}: must be >= 0 (got {getattr(self, name)})")

    def rows(self, total: int, out: Path) -> list[int]:
        if self.start and self.start >= total:
            raise InputError(str(out), f"--start {self.start} is past the last row ({total} rows)")
        if self.random:
            pool = range(self.start, total)
            return sorted(random.Random(self.seed).sample(pool, min(self.random, len(pool))))
        return list(range(self.start, min(total, self.start + self.n)))


def read_meta(out: Path) -> dict:
    """zooprep.json, checked as the loader and export check it (complete, not encoded, fields agree)."""
    return checked_meta(out).raw


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
    lines += stats_lines(c, meta.get("processor"), indent="", width=16)
    if (meta.get("manifest") or {}).get("dataset"):
        lines.append(f"manifest        {meta['manifest']}")
    return lines


def _listed(values: list, limit: int = SHOWN_IDS) -> str:
    shown = " ".join(map(str, values[:limit]))
    return shown + (f" ... (+{len(values) - limit})" if len(values) > limit else "")


def legend_lines(meta: dict, columns: list[str], opts: InspectOptions, decoded: bool) -> list[str]:
    """One line per field or line an instance shows."""
    lm = meta.get("processor") == "lm"
    lines = ["legend:",
             "  --- row R       R = row number in the dataset (0-based, as ds[R])",
             "  length          the row's tokens (rows are stored unpadded; the loader pads per batch)"
             + ("; the model reads ids[:-1] and predicts ids[1:]" if lm else "")]
    for col in columns:
        if col in LABEL_MEANINGS:
            meaning = ", ".join(f"{k} = {v}" for k, v in LABEL_MEANINGS[col].items())
            lines.append(f"  {col:<15} {meaning}")
    if "seg_a_len" in columns:
        lines.append("  seg_a_len       tokens of [CLS] A [SEP]; the rest is B [SEP]")
    if decoded:
        lines.append("  text / A / B    ids decoded; special ids by role: [CLS] [SEP] [MASK] [PAD] [UNK]")
    if "target_ids" in columns:
        lines.append("  target          the stored decoder target" + (" (the target vocabulary's ids)"
                                                                      if meta.get("processor") == "mt" else ""))
    if "masked_positions" in columns:
        lines.append("  masked          static masking: position=original token (the ids already hold the masks)")
    if "word_starts" in columns:
        lines.append("  words           tokens grouped by the stored jieba word starts, words separated by |")
    if opts.ids or not decoded:
        lines.append("  ids             token ids")
    if opts.pieces and decoded:
        lines.append("  pieces          vocabulary entries, one per id, separated by spaces")
    return lines


def instance_lines(row: dict, index: int, render: Renderer | None, opts: InspectOptions,
                   target: Renderer | None = None) -> list[str]:
    length = row["length"] if "length" in row else len(row["input_ids"])  # format 1 stored padded rows
    ids = list(row["input_ids"][:length])
    fields = "".join(f"  {k} {row[k]}" for k in ("seg_a_len", "nsp_label", "sop_label") if k in row)
    out = [f"--- row {index}  length {length}{fields}"]
    if render is None:
        out.append("ids     " + _listed(ids, len(ids)))
        return out
    if "seg_a_len" in row:
        a = row["seg_a_len"]
        out.append("A       " + render.text(ids[:a]))
        out.append("B       " + render.text(ids[a:]))
    else:
        out.append("text    " + render.text(ids))
    if "target_ids" in row:
        tgt = list(row["target_ids"])
        out.append("target  " + (target.text(tgt) if target is not None else _listed(tgt, len(tgt))))
    if "masked_positions" in row:
        toks = render.pieces(list(row["masked_labels"]))
        out.append("masked  " + _listed([f"{p}={t}" for p, t in zip(row["masked_positions"], toks)]))
    if "word_starts" in row:
        pieces, starts = render.pieces(ids), set(row["word_starts"])
        words, cur = [], []
        for pos, piece in enumerate(pieces):
            if pos in starts and cur:
                words.append(cur)
                cur = []
            cur.append(piece)
        words.append(cur)
        out.append("words   " + " | ".join(" ".join(w) for w in words if w))
    if opts.ids:
        out.append("ids     " + _listed(ids))
    if opts.pieces:
        out.append("pieces  " + _listed(render.pieces(ids)))
    return out


def _other_output(out: Path, opts: InspectOptions) -> str | None:
    """A clean output, an encoded corpus or an export file (corpusprep.inspect_outputs); None for a shard."""
    from corpusprep import inspect_outputs as other

    if out.is_file() and out.with_name(out.name + ".card.json").is_file():
        return other.inspect_export(out, opts)
    if out.is_dir() and (out / "report.json").is_file() and not (out / "zooprep.json").exists():
        return other.inspect_clean(out, opts)
    if out.is_dir() and (out / "zooprep.json").is_file():
        from corpusprep.instances.format import read_meta_json

        raw = read_meta_json(out)
        if raw.get("kind") == "encoded":
            from corpusprep.outdir import require_complete

            require_complete(out, "shard")
            return other.inspect_encoded(out, raw, opts)
    if opts.view:
        raise ZooprepError("--view applies to an encoded corpus (`shard --encode-only`)")
    if opts.reason is not None:
        raise ZooprepError("--reason applies to a `clean` output directory")
    return None


def inspect_dir(out: Path, n: int = 3, vocab: Path | None = None, spm: Path | None = None,
                opts: InspectOptions | None = None) -> str:
    """The report `inspect` prints: the summary, a legend, then the chosen rows."""
    import datasets

    from corpusprep.outdir.remote import readable

    opts = opts or InspectOptions(n=n, vocab=vocab, spm=spm)
    opts.validate()
    out = readable(out)  # a URL: its verified local copy ($ZOOPREP_CACHE/objects)
    other = _other_output(Path(out), opts)
    if other is not None:
        return other
    meta = checked_meta(out, opts.split).raw
    for f in meta.get("files") or []:  # name the damaged file instead of a pyarrow traceback
        path = Path(out) / (f["path"] if isinstance(f, dict) else str(f))
        if path.is_file() and path.stat().st_size == 0:
            raise InputError(str(path), "empty file (0 bytes): not an Arrow stream; rebuild the shard directory")
    try:
        ds = datasets.load_from_disk(str(out))
    except Exception as exc:  # pyarrow / datasets raise several types for damaged files
        raise InputError(str(out), f"cannot load the shard files ({type(exc).__name__}: {str(exc)[:200]})") from None
    if isinstance(ds, datasets.DatasetDict):  # a --validation-* shard: one split at a time
        ds = ds[opts.split or "train"]
        meta = {**meta, "counts": (meta.get("splits") or {}).get(opts.split, {}).get("counts", meta.get("counts"))}
    lines = summary_lines(meta, len(ds))
    chosen = opts.rows(len(ds), Path(out))
    if not chosen:
        return "\n".join(lines)
    tok = tokenizer_from_meta(meta, opts.vocab, opts.spm, Path(out))
    render = Renderer(tok, meta.get("special_ids") or tok.special_ids) if tok is not None else None
    if render is None:
        lines.append("(tokenizer files not found: showing ids; pass --vocab/--spm to decode)")
    target = render
    if meta.get("processor") == "mt":  # the target has its own vocabulary
        desc = (meta.get("processor_options") or {}).get("tgt_tokenizer") or {}
        tgt_tok = tokenizer_from_meta(meta, shard_dir=Path(out), desc=desc) if render is not None else None
        target = Renderer(tgt_tok, desc.get("special_ids") or tgt_tok.special_ids) if tgt_tok is not None else None
    lines += legend_lines(meta, list(ds.column_names), opts, render is not None)
    for i in chosen:
        row = ds[i]
        if "length" in row and not 0 <= row["length"] <= len(row["input_ids"]):  # format 1: an edited length
            raise InputError(str(out), f"row {i}: length {row['length']} outside 0..{len(row['input_ids'])} "
                                       "(edited? see `zooprep verify`); rebuild the shard directory")
        lines += instance_lines(row, i, render, opts, target)
    return "\n".join(lines)
