"""Read what a zooprep output recorded into one neutral *section* per input (the renderers lay it out).

A section: ``{"path", "kind", "title", "figures": [[label, value]], "tables": [{"title", "columns", "rows"}],
"histograms": [{"title", "hist"}], "hints": [...], "samples": [{"title", "items": [...]}]}``. Values are
the recorded numbers as they are; samples are read from the files the command wrote (rejects/, shards).
"""
from __future__ import annotations

import json
from pathlib import Path

from corpusprep.errors import InputError, ZooprepError

TOP_FILES = 20  # per-file drops: the files with most drops, then one row for the rest and the total
SAMPLES = 3  # kept documents shown
REJECT_SAMPLES = 2  # per reason
SAMPLE_CHARS = 400
LENGTH_TITLES = {"chars_per_document": "characters per document", "tokens_per_document": "tokens per document",
                 "tokens_per_row": "tokens per row"}


def _load_json(path: Path) -> dict:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"cannot read: {exc}") from None
    if not isinstance(obj, dict):
        raise InputError(str(path), "not a JSON object")
    return obj


def collect(path: str) -> dict:
    """The section of one output: a clean or shard directory, a vocab (its .report.json) or spm model (.card.json)."""
    p = Path(path)
    if p.is_dir():
        from corpusprep.outdir import require_complete_input

        require_complete_input(p)
        if (p / "report.json").is_file():
            return clean_section(p, _load_json(p / "report.json"))
        if (p / "zooprep.json").is_file():
            return shard_section(p, _load_json(p / "zooprep.json"))
        raise ZooprepError(f"{p}: not a zooprep output (no report.json or zooprep.json)")
    for card in (p.with_name(p.name + ".report.json"), p.with_name(p.name + ".card.json"),
                 p.with_suffix(".card.json"), p):
        if card.is_file() and card.name.endswith(".json"):
            return card_section(p, _load_json(card))
    raise ZooprepError(f"{p}: not a zooprep output directory, vocab or spm model (no report or card found)")


def _base(path: Path, kind: str, title: str) -> dict:
    return {"path": str(path), "kind": kind, "title": title, "figures": [], "tables": [], "histograms": [],
            "hints": [], "samples": []}


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.2%}" if whole else "-"


def clean_section(path: Path, r: dict) -> dict:
    s = _base(path, "clean", f"clean output {path}")
    dropped = r.get("dropped", {})
    n_dropped = sum(dropped.values())
    s["figures"] = [["documents read", r["read"]], ["documents kept", r["kept"]], ["documents dropped", n_dropped],
                    ["characters read", r["chars_in"]], ["characters kept", r["chars_out"]],
                    ["bytes read", r["bytes_in"]], ["bytes kept", r["bytes_out"]],
                    ["exact duplicates removed", dropped.get("duplicate", 0)],
                    ["near duplicates removed", dropped.get("near_duplicate", 0)],
                    ["input files", len(r.get("files", {}))], ["failed files", len(r.get("failed_files", []))]]
    lengths = (r.get("lengths") or {}).get("chars_per_document")
    if lengths:
        s["figures"] += _percentile_figures("characters per document", lengths)
        s["histograms"].append({"title": LENGTH_TITLES["chars_per_document"], "hist": lengths})
    s["tables"].append({"title": "drops per reason", "columns": ["reason", "documents", "share of read"],
                        "rows": [[k, v, _share(v, r["read"])] for k, v in sorted(dropped.items(), key=lambda kv: -kv[1])]})
    if r.get("by_family"):
        s["tables"].append({"title": "per corpus family", "columns": ["family", "files", "read", "kept", "dropped",
                                                                      "characters kept"],
                            "rows": [[f, c["files"], c["read"], c["kept"], sum(c["dropped"].values()), c["chars_out"]]
                                     for f, c in r["by_family"].items()]})
    s["tables"].append(_file_table(r.get("files", {}), r))
    s["hints"] = list(r.get("hints", []))
    s["samples"] = _clean_samples(path, r)
    return s


def _percentile_figures(name: str, h: dict) -> list:
    return [[f"{name} {k}", h[k]] for k in ("p50", "p90", "p99", "max") if k in h]


def _file_table(files: dict, r: dict) -> dict:
    """Files with most drops first, the top ``TOP_FILES``; one row for the others and one for all."""
    order = sorted(files.items(), key=lambda kv: (-sum(kv[1]["dropped"].values()), kv[0]))
    rows = [[p, c.get("family", ""), c["read"], c["kept"], sum(c["dropped"].values()),
             ", ".join(f"{k} {v}" for k, v in c["dropped"].items())] for p, c in order[:TOP_FILES]]
    rest = order[TOP_FILES:]
    if rest:
        rows.append([f"({len(rest)} other files)", "", sum(c["read"] for _, c in rest), sum(c["kept"] for _, c in rest),
                     sum(sum(c["dropped"].values()) for _, c in rest), ""])
    rows.append([f"total ({len(files)} files)", "", r["read"], r["kept"], sum(r["dropped"].values()), ""])
    return {"title": f"drops per input file (top {TOP_FILES})", "columns": ["file", "family", "read", "kept",
                                                                           "dropped", "reasons"], "rows": rows}


def _clean_samples(path: Path, r: dict) -> list:
    out = []
    train = [sh["path"] for sh in r.get("shards", []) if sh.get("split") == "train" and sh.get("records")]
    if train:
        out.append({"title": "kept documents (first of the first shard)", "items": _first_texts(path / train[0])})
    for reason in sorted(r.get("rejects", {}).get("sampled", {})):
        f = path / "rejects" / f"{_safe(reason)}.jsonl"
        items = []
        try:
            with open(f, encoding="utf-8") as fh:
                for line in fh:
                    e = json.loads(line)
                    where = f"{e.get('source', '')}:{e.get('line', '')}"
                    items.append(f"{where}  {str(e.get('text', ''))[:SAMPLE_CHARS]}")
                    if len(items) == REJECT_SAMPLES:
                        break
        except (OSError, ValueError):
            continue
        out.append({"title": f"dropped: {reason}", "items": items})
    return out


def _safe(reason: str) -> str:
    from corpusprep.cleaning.report import _safe as safe

    return safe(reason)


def _first_texts(f: Path) -> list[str]:
    if f.suffix == ".parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(f)
        batch = next(pf.iter_batches(batch_size=SAMPLES, columns=["text"]), None)
        return [t[:SAMPLE_CHARS] for t in batch.column(0).to_pylist()] if batch is not None else []
    out = []
    with open(f, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip():
                out.append(line.rstrip("\n")[:SAMPLE_CHARS])
            if len(out) == SAMPLES:
                break
    return out


def shard_section(path: Path, m: dict) -> dict:
    c = m.get("counts", {})
    encoded = m.get("kind") == "encoded"
    tok = m.get("tokenizer", {})
    what = "encoded corpus" if encoded else f"shard ({m.get('processor')}, seq_len {m.get('seq_len')})"
    s = _base(path, "encoded" if encoded else "shard", f"{what} {path}")
    s["figures"] = [["documents", c.get("documents", 0)]]
    if not encoded:
        s["figures"] += [["instances", c.get("instances", 0)]]
    s["figures"] += [["tokens", c.get("tokens", 0)], ["[UNK] rate", f"{c.get('unk_rate', 0):.4%}"],
                     ["[UNK] tokens", c.get("unk_tokens", 0)]]
    if not encoded:
        s["figures"].append(["padding share", f"{c.get('padding_share', 0):.2%}"])
        if c.get("instances"):
            s["figures"].append(["documents per row", f"{c.get('documents', 0) / c['instances']:.3f}"])
    val = ((m.get("splits") or {}).get("validation") or {}).get("counts")
    if val:  # a --validation-* shard: the figures above are the train split's
        s["figures"] += [["validation documents", val.get("documents", 0)],
                         ["validation instances", val.get("instances", 0)]]
    s["figures"] += [["rejected lines", c.get("rejected_lines", 0)], ["empty documents", c.get("empty_documents", 0)],
                     ["tokenizer", f"{tok.get('kind', '?')} {Path(str(tok.get('path', ''))).name}"],
                     ["vocab size", tok.get("vocab_size", "?")]]
    for name, h in (c.get("lengths") or {}).items():
        if h and h.get("count"):
            s["figures"] += _percentile_figures(LENGTH_TITLES.get(name, name), h)
            s["histograms"].append({"title": LENGTH_TITLES.get(name, name), "hist": h})
    for name, counts in (c.get("labels") or {}).items():
        total = sum(counts.values())
        s["tables"].append({"title": f"balance of {name}", "columns": ["value", "instances", "share"],
                            "rows": [[k, v, _share(v, total)] for k, v in counts.items()]})
    if c.get("unk_chars"):
        total = c.get("unk_tokens") or sum(n for _, n in c["unk_chars"])
        s["tables"].append({"title": "top characters that become [UNK]", "columns": ["character", "code point",
                                                                                     "occurrences", "share of [UNK]"],
                            "rows": [[ch, f"U+{ord(ch):04X}" if len(ch) == 1 else "", n, _share(n, total)]
                                     for ch, n in c["unk_chars"]]})
    if c.get("rejected_reasons"):
        s["tables"].append({"title": "rejected lines per reason", "columns": ["reason", "lines"],
                            "rows": [[k, v] for k, v in c["rejected_reasons"].items()]})
    if not encoded:
        static = m.get("static_masking")
        s["figures"].append(["masked share", f"{c.get('masked_tokens', 0) / c['tokens']:.2%}" if static and c.get("tokens")
                             else "dynamic (the loader masks each batch)"])
    shown = {"bert": ("single_sentence_documents",), "albert": ("single_sentence_documents",),
             "mlm": ("rows_without_target", "short_rows"), "lm": ("rows_without_target", "short_rows")}
    extra = [[k, c[k]] for k in shown.get(m.get("processor"), ()) if k in c]  # as the shard summary shows them
    if extra:
        s["figures"] += extra
    s["hints"] = list(c.get("hints", []))
    if m.get("reject_samples"):
        s["samples"].append({"title": "rejected lines", "items": [
            json.dumps(e, ensure_ascii=False)[:SAMPLE_CHARS] for e in m["reject_samples"][:5]]})
    return s


def card_section(path: Path, card: dict) -> dict:
    """A vocab (build-vocab report) or spm (build-spm card): its scalar figures and coverage."""
    cmd = card.get("zooprep_command") or card.get("command") or "card"
    s = _base(path, cmd, f"{cmd} output {path}")
    for k, v in card.items():
        if isinstance(v, (int, float, str)) and not isinstance(v, bool) and k not in ("zooprep_command",):
            s["figures"].append([k, v])
    for v in card.get("vocabs", []) or []:
        if isinstance(v, dict):
            s["figures"] += [[f"{Path(str(v.get('vocab', ''))).name} {k}", v[k]]
                             for k in ("char_coverage", "unk_rate", "distinct_chars_missing") if k in v]
            if v.get("top_missing_chars"):
                s["tables"].append({"title": "characters missing from the vocab", "columns": ["character", "count"],
                                    "rows": [list(x) if isinstance(x, (list, tuple)) else [x, ""]
                                             for x in v["top_missing_chars"][:20]]})
    return s
