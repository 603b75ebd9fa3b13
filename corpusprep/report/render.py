"""Sections (collect.py) -> one self-contained HTML page, Markdown, or JSON.

The page has no script, no external resource and no font: inline CSS and inline SVG only. Every
text taken from the data goes through ``text``: HTML-escaped, and control / invisible formatting
characters (bidi overrides, U+2028, NUL, ...) shown as ``⟨U+XXXX⟩`` so a sample cannot reshape the page.
"""
from __future__ import annotations

import json
import unicodedata
from html import escape

from corpusprep.report.svg import histogram_svg

KEEP = "\n\t"


def visible(value) -> str:
    """A value as printable text: control and format characters by code point, lone surrogates escaped."""
    s = str(value)
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if ch not in KEEP and (cat in ("Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn")):
            out.append(f"⟨U+{ord(ch):04X}⟩")
        else:
            out.append(ch)
    return "".join(out)


def text(value) -> str:
    """HTML-safe text of any recorded value."""
    return escape(visible(value), quote=True)


CSS = """body{font-family:sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em}h2{font-size:1.2em;margin-top:1.5em}
h3{font-size:1em}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;
text-align:left;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}.cols{display:grid;
gap:2em;grid-template-columns:repeat(var(--n),minmax(0,1fr))}.hint{background:#fff3bf;padding:4px 8px;margin:4px 0}
pre{white-space:pre-wrap;word-break:break-all;background:#f5f5f5;padding:4px 6px;margin:4px 0;max-height:12em;
overflow:auto}.path{font-family:monospace}svg{max-width:100%;height:auto}"""


def _cell(v) -> str:
    cls = ' class="n"' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
    return f"<td{cls}>{text(v)}</td>"


def _table(columns: list, rows: list) -> str:
    head = "".join(f"<th>{text(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _comparison(sections: list[dict]) -> str:
    """Key figures of every input side by side: one column per input."""
    labels: list[str] = []
    for s in sections:
        labels += [f[0] for f in s["figures"] if f[0] not in labels]
    values = [{f[0]: f[1] for f in s["figures"]} for s in sections]
    rows = [[label, *[v.get(label, "") for v in values]] for label in labels]
    return _table(["figure", *[s["path"] for s in sections]], rows)


def _section_html(s: dict) -> str:
    parts = [f'<section><h2>{text(s["title"])}</h2>']
    for h in s["hints"]:
        parts.append(f'<div class="hint">hint: {text(h)}</div>')
    parts.append(_table(["figure", "value"], s["figures"]))
    for h in s["histograms"]:
        hist = h["hist"]
        parts.append(f'<h3>{text(h["title"])}</h3>{histogram_svg(hist, h["title"])}')
        parts.append(_table(["count", "min", "p50", "p90", "p99", "max", "mean"],
                            [[hist["count"], hist["min"], hist["p50"], hist["p90"], hist["p99"], hist["max"],
                              round(hist["sum"] / hist["count"], 1) if hist["count"] else 0]]))
    for t in s["tables"]:
        parts.append(f'<h3>{text(t["title"])}</h3>{_table(t["columns"], t["rows"])}')
    for sample in s["samples"]:
        parts.append(f'<h3>{text(sample["title"])}</h3>' + "".join(f"<pre>{text(i)}</pre>" for i in sample["items"]))
    parts.append("</section>")
    return "".join(parts)


def to_html(sections: list[dict], note: str) -> str:
    from corpusprep import __version__

    title = "zooprep data report: " + ", ".join(s["path"] for s in sections)
    body = [f"<h1>{text(title)}</h1>", f"<p>{text(note)}</p>"]
    if len(sections) > 1:
        body += ["<h2>side by side</h2>", _comparison(sections)]
    body.append(f'<div class="cols" style="--n:{len(sections)}">' + "".join(_section_html(s) for s in sections) + "</div>")
    body.append(f"<p>zooprep {text(__version__)}; percentiles: {text(_exactness())}</p>")
    return ("<!DOCTYPE html>\n<html lang=\"zh\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>{text(title)}</title><style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")


def _exactness() -> str:
    from corpusprep.histogram import PERCENTILE_EXACTNESS

    return PERCENTILE_EXACTNESS


def _md(value) -> str:
    """Markdown-table-safe text: escaped like HTML (no raw tags), pipes and newlines neutralised."""
    return text(value).replace("|", "\\|").replace("\n", "⏎").replace("`", "\\`")


def _md_table(columns: list, rows: list) -> list[str]:
    out = ["| " + " | ".join(_md(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(_md(v) for v in row) + " |" for row in rows]
    return out + [""]


def to_markdown(sections: list[dict], note: str) -> str:
    lines = ["# zooprep data report", "", _md(note), ""]
    if len(sections) > 1:
        lines += ["## side by side", ""]
        labels: list[str] = []
        for s in sections:
            labels += [f[0] for f in s["figures"] if f[0] not in labels]
        values = [{f[0]: f[1] for f in s["figures"]} for s in sections]
        lines += _md_table(["figure", *[s["path"] for s in sections]],
                           [[label, *[v.get(label, "") for v in values]] for label in labels])
    for s in sections:
        lines += [f"## {_md(s['title'])}", ""]
        lines += [f"- hint: {_md(h)}" for h in s["hints"]] + ([""] if s["hints"] else [])
        lines += _md_table(["figure", "value"], s["figures"])
        for h in s["histograms"]:
            hist = h["hist"]
            lines += [f"### {_md(h['title'])}", ""]
            top = max((n for _, _, n in hist["bins"]), default=0)
            lines += ["```"] + [f"{lo:>9}-{hi - 1:<9} {'#' * max(1, round(40 * n / top)) if top else ''} {n}"
                                for lo, hi, n in hist["bins"]] + ["```", ""]
        for t in s["tables"]:
            lines += [f"### {_md(t['title'])}", ""] + _md_table(t["columns"], t["rows"])
        for sample in s["samples"]:
            lines += [f"### {_md(sample['title'])}", ""] + [f"- {_md(i)}" for i in sample["items"]] + [""]
    return "\n".join(lines) + "\n"


def to_json(sections: list[dict], note: str) -> str:
    return json.dumps({"note": note, "sections": sections}, ensure_ascii=False, indent=1) + "\n"


RENDERERS = {"html": to_html, "md": to_markdown, "json": to_json}
