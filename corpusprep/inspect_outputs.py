"""`inspect` for every zooprep output besides fixed-instance shards (instances/inspect_dir.py):
clean directories (records, meta, rejects per reason), encoded corpora (documents decoded, or the rows
of a view ``--view mlm:512``) and export files (their card, and the first rows of an hf Parquet or a
UER dataset.pt). What a directory is comes from its metadata (report.json, zooprep.json, the card).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from corpusprep.errors import InputError, ZooprepError

TEXT_CHARS = 300  # characters of a record shown


def _show(text: str, limit: int = TEXT_CHARS) -> str:
    """A record's text on one line: control characters by code point, long ones cut."""
    out = "".join(ch if ch.isprintable() else ("⏎" if ch == "\n" else f"<U+{ord(ch):04X}>") for ch in text[:limit])
    return out + (f" ... (+{len(text) - limit} chars)" if len(text) > limit else "")


# ---------------------------------------------------------------------------------------------- clean
def inspect_clean(out: Path, opts) -> str:
    from corpusprep.outdir import require_complete

    require_complete(out, "clean")
    r = json.loads((out / "report.json").read_text(encoding="utf-8"))
    dropped = r.get("dropped", {})
    lines = [f"clean output    {out}",
             f"documents       read {r['read']}  kept {r['kept']}  dropped {sum(dropped.values())}",
             "dropped         " + (", ".join(f"{k} {v}" for k, v in dropped.items()) or "none"),
             f"characters      read {r['chars_in']}  kept {r['chars_out']}",
             f"shards          " + ", ".join(f"{s['path']} ({s['split']}, {s['records']})" for s in r.get("shards", [])),
             f"families        " + ", ".join(f"{f} ({c['kept']} kept)" for f, c in (r.get("by_family") or {}).items())]
    h = (r.get("lengths") or {}).get("chars_per_document")
    if h and h.get("count"):
        lines.append(f"chars/document  p50 {h['p50']}  p90 {h['p90']}  p99 {h['p99']}  max {h['max']}")
    lines += [f"hint: {x}" for x in r.get("hints", [])]
    sampled = (r.get("rejects") or {}).get("sampled", {})
    if opts.reason is not None:
        return "\n".join(lines + _rejects(out, opts.reason, sampled, opts))
    lines.append("rejects         " + (", ".join(f"{k} ({n} sampled)" for k, n in sampled.items()) or "none")
                 + "   (--reason R shows them)")
    split = opts.split or "train"
    shards = [s["path"] for s in r.get("shards", []) if s.get("split") == split]
    if not shards:
        raise InputError(str(out / "report.json"), f"no {split} shard (splits: "
                         f"{', '.join(sorted({s.get('split') for s in r.get('shards', [])}))})")
    records = _records(out, shards)
    total = sum(s["records"] for s in r.get("shards", []) if s.get("split") == split)
    lines.append("legend: --- record R (0-based in the split, in shard order)  source:line  meta  text")
    chosen = set(opts.rows(total, out)) if total else set()
    for i, rec in enumerate(records):
        if i > max(chosen, default=-1):
            break
        if i in chosen:
            lines.append(f"--- record {i}  {rec.get('source', '')}:{rec.get('line', '')}  meta {rec.get('meta') or '{}'}")
            lines.append("text    " + _show(rec["text"]))
    return "\n".join(lines)


def _records(out: Path, shards: list[str]):
    for name in shards:
        path = out / name
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(path)
            cols = [c for c in ("text", "source", "line", "meta") if c in pf.schema_arrow.names]
            for batch in pf.iter_batches(batch_size=256, columns=cols):
                yield from batch.to_pylist()
        else:  # uer text layouts: documents as lines (or blank-line blocks)
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield {"text": line.rstrip("\n")}


def _rejects(out: Path, reason: str, sampled: dict, opts) -> list[str]:
    if reason not in sampled:
        raise ZooprepError(f"{out}: no sampled rejects for reason {reason!r} (have: {', '.join(sampled) or 'none'})")
    from corpusprep.cleaning.report import _safe

    entries = [json.loads(x) for x in (out / "rejects" / f"{_safe(reason)}.jsonl").read_text(encoding="utf-8").splitlines()]
    lines = [f"rejects         {reason}: {len(entries)} sampled (first in corpus order)"]
    for i in opts.rows(len(entries), out) if entries else []:
        e = entries[i]
        lines.append(f"--- reject {i}  {e.get('source', '')}:{e.get('line', '')}")
        lines.append("raw     " + _show(str(e.get("text", ""))))
        if "cleaned" in e:
            lines.append("cleaned " + _show(str(e["cleaned"])))
    return lines


# -------------------------------------------------------------------------------------------- encoded
def inspect_encoded(out: Path, meta: dict, opts) -> str:
    from corpusprep.instances.decode import Renderer, tokenizer_from_meta
    from corpusprep.instances.stats import summary_lines

    c = meta.get("counts", {})
    tok_desc = meta.get("tokenizer", {})
    lines = [f"encoded corpus  {out}",
             f"documents       {c.get('documents')}   tokens {c.get('tokens')}   [UNK] rate {c.get('unk_rate')}",
             f"tokenizer       {tok_desc.get('kind')}  {tok_desc.get('path')}  vocab {tok_desc.get('vocab_size')}",
             f"views           {'/'.join(meta.get('encoded', {}).get('views', []))} at any seq len (--view mlm:512)"]
    lines += summary_lines(c, "encoded", indent="", width=16)
    tok = tokenizer_from_meta(meta, opts.vocab, opts.spm)
    render = Renderer(tok, meta.get("special_ids") or tok.special_ids) if tok is not None else None
    if render is None:
        lines.append("(tokenizer files not found: showing ids; pass --vocab/--spm to decode)")
    if opts.view:
        from corpusprep.feed.views import ViewReader, parse_view

        reader = ViewReader(out, parse_view(opts.view))
        lines.append(f"view {opts.view}: {len(reader)} rows; legend: --- row R  length  text (specials by role)")
        chosen = opts.rows(len(reader), out)
        raw = reader.take(chosen)
        for j, i in enumerate(chosen):
            ids = [int(t) for t in raw["input_ids"][j][: int(raw["length"][j])]]
            lines.append(f"--- row {i}  length {len(ids)}")
            lines.append("text    " + (render.text(ids) if render else " ".join(map(str, ids))))
        return "\n".join(lines)
    from corpusprep.feed.views import EncodedCorpus

    corpus = EncodedCorpus(out)
    lines.append("legend: --- document D  tokens  text (decoded)")
    chosen = opts.rows(len(corpus.doc_lens), out)
    for i in chosen:
        start = int(corpus.tok_start[i])
        end = start + int(corpus.doc_lens[i])
        ids = [int(t) for t in corpus.runs(np.array([start]), np.array([end]))[0]] if end > start else []
        lines.append(f"--- document {i}  tokens {len(ids)}")
        lines.append("text    " + _show(render.text(ids)) if render else "ids     " + " ".join(map(str, ids[:64])))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- export
def inspect_export(path: Path, opts) -> str:
    from corpusprep.atomic import sha256_file

    card_file = path.with_name(path.name + ".card.json")
    card = json.loads(card_file.read_text(encoding="utf-8"))
    if card.get("zooprep_command") != "export":
        raise InputError(str(card_file), "not the card of a `zooprep export` file")
    recorded = (card.get("zooprep_outputs") or {}).get(path.name)
    if recorded != sha256_file(path):
        raise InputError(str(path), "changed since `zooprep export` wrote it (sha256 differs from its card)")
    lines = [f"export          {path}  (to {card.get('to')}, {card.get('processor')}, {card.get('instances')} instances"
             + (f", split {card['split']}" if card.get("split") else "") + ")",
             f"from            {card.get('directory')}"]
    render = _export_renderer(card, opts)
    if card.get("to") == "hf":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        lines.append(f"columns         {', '.join(table.column_names)}")
        chosen = opts.rows(table.num_rows, path) if table.num_rows else []
        for i in chosen:
            row = {k: v[0] for k, v in table.slice(i, 1).to_pydict().items()}
            ids = row.get("input_ids") or []
            extra = "  ".join(f"{k} {v}" for k, v in row.items() if not isinstance(v, list))
            lines.append(f"--- row {i}  length {len(ids)}  {extra}".rstrip())
            lines.append("text    " + (render.text(ids) if render else " ".join(map(str, ids[:64]))))
    else:  # a UER dataset.pt: one pickle per instance (checked above to be the file zooprep wrote)
        import pickle

        chosen = set(opts.rows(int(card.get("instances") or 0), path)) if card.get("instances") else set()
        with open(path, "rb") as fh:
            for i in range(max(chosen, default=-1) + 1):
                inst = pickle.load(fh)
                if i in chosen:
                    ids = _first_ids(inst)
                    lines.append(f"--- instance {i}  fields {len(inst) if isinstance(inst, tuple) else 1}")
                    lines.append("text    " + (render.text(ids) if render and ids else repr(inst)[:TEXT_CHARS]))
    return "\n".join(lines)


def _first_ids(inst) -> list[int]:
    """The token ids of a UER instance tuple: its first flat list of integers in order (``src``)."""
    if isinstance(inst, list) and inst and all(isinstance(v, int) for v in inst):
        return list(inst)
    if isinstance(inst, (list, tuple)):
        for x in inst:
            ids = _first_ids(x)
            if ids:
                return ids
    return []


def _export_renderer(card: dict, opts):
    from corpusprep.instances.format import read_meta_json
    from corpusprep.instances.decode import Renderer, tokenizer_from_meta

    try:
        meta = read_meta_json(card.get("directory", ""))
    except InputError:
        meta = {}
    tok = tokenizer_from_meta(meta, opts.vocab, opts.spm)
    return Renderer(tok, meta.get("special_ids") or tok.special_ids) if tok is not None else None
