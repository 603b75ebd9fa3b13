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
from corpusprep.instances.format import read_meta as checked_meta
from corpusprep.instances.stats import LABEL_MEANINGS, summary_lines as stats_lines

ROLE_NAMES = {"cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]", "pad": "[PAD]", "unk": "[UNK]"}
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


def tokenizer_from_meta(meta: dict, vocab: Path | None = None, spm: Path | None = None):
    """Rebuild the tokenizer recorded in zooprep.json (or the one given), None when unavailable."""
    from zh_tokenizers import load_tokenizer

    if vocab is not None and spm is not None:
        raise ZooprepError("give at most one of --vocab or --spm")
    if vocab is not None or spm is not None:  # asked for by name: a bad file is the user's error to hear
        return load_tokenizer(spm=spm) if spm is not None else load_tokenizer(vocab=vocab)
    desc = meta.get("tokenizer", {})
    try:
        kind, path, opts = desc.get("kind"), desc.get("path"), desc.get("options", {})
        from corpusprep import storage

        if not path or not (storage.exists(path) if storage.is_url(path) else Path(path).exists()):
            return None
        if str(path).endswith(".model"):
            return load_tokenizer(spm=path)
        kwargs = {k: v for k, v in opts.items() if k in ("uer_compat", "do_lower_case")}
        return load_tokenizer(vocab=path, kind=kind if kind in ("bert", "char", "space") else "bert", **kwargs)
    except Exception:  # the recorded vocab moved or changed: show ids instead of failing the summary
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
    lines += stats_lines(c, meta.get("processor"), indent="", width=16)
    if (meta.get("manifest") or {}).get("dataset"):
        lines.append(f"manifest        {meta['manifest']}")
    return lines


class Renderer:
    """Ids -> text with special ids shown by role, the same for every tokenizer."""

    def __init__(self, tok, special_ids: dict):
        self.tok = tok
        self.role = {int(i): ROLE_NAMES[name] for name, i in special_ids.items()
                     if name in ROLE_NAMES and i is not None and int(i) >= 0}

    def text(self, ids: list[int]) -> str:
        parts, run = [], []
        for i in ids:
            if i in self.role:
                if run:
                    parts.append(self.tok.decode(run).strip())
                    run = []
                parts.append(self.role[i])
            else:
                run.append(i)
        if run:
            parts.append(self.tok.decode(run).strip())
        return " ".join(p for p in parts if p)

    def pieces(self, ids: list[int]) -> list[str]:
        return [self.role.get(i) or p for i, p in zip(ids, self.tok.convert_ids_to_tokens(ids))]


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
    if "masked_positions" in columns:
        lines.append("  masked          static masking: position=original token (the ids already hold the masks)")
    if "word_starts" in columns:
        lines.append("  words           tokens grouped by the stored jieba word starts, words separated by |")
    if opts.ids or not decoded:
        lines.append("  ids             token ids")
    if opts.pieces and decoded:
        lines.append("  pieces          vocabulary entries, one per id, separated by spaces")
    return lines


def instance_lines(row: dict, index: int, render: Renderer | None, opts: InspectOptions) -> list[str]:
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


def inspect_dir(out: Path, n: int = 3, vocab: Path | None = None, spm: Path | None = None,
                opts: InspectOptions | None = None) -> str:
    """The report `inspect` prints: the summary, a legend, then the chosen rows."""
    import datasets

    from corpusprep.outdir.remote import readable

    opts = opts or InspectOptions(n=n, vocab=vocab, spm=spm)
    opts.validate()
    out = readable(out)  # a URL: its verified local copy ($ZOOPREP_CACHE/objects)
    meta = read_meta(out)
    for f in meta.get("files") or []:  # name the damaged file instead of a pyarrow traceback
        path = Path(out) / (f["path"] if isinstance(f, dict) else str(f))
        if path.is_file() and path.stat().st_size == 0:
            raise InputError(str(path), "empty file (0 bytes): not an Arrow stream; rebuild the shard directory")
    try:
        ds = datasets.load_from_disk(str(out))
    except Exception as exc:  # pyarrow / datasets raise several types for damaged files
        raise InputError(str(out), f"cannot load the shard files ({type(exc).__name__}: {str(exc)[:200]})") from None
    lines = summary_lines(meta, len(ds))
    chosen = opts.rows(len(ds), Path(out))
    if not chosen:
        return "\n".join(lines)
    tok = tokenizer_from_meta(meta, opts.vocab, opts.spm)
    render = Renderer(tok, meta.get("special_ids") or tok.special_ids) if tok is not None else None
    if render is None:
        lines.append("(tokenizer files not found: showing ids; pass --vocab/--spm to decode)")
    lines += legend_lines(meta, list(ds.column_names), opts, render is not None)
    for i in chosen:
        row = ds[i]
        if "length" in row and not 0 <= row["length"] <= len(row["input_ids"]):  # format 1: an edited length
            raise InputError(str(out), f"row {i}: length {row['length']} outside 0..{len(row['input_ids'])} "
                                       "(edited? see `zooprep verify`); rebuild the shard directory")
        lines += instance_lines(row, i, render, opts)
    return "\n".join(lines)
