"""Regenerate the zoo page from the catalog, compare it with the published page, parse its tables.

``zh`` reproduces the page (Modelzoo.zh.md): its own text (``data/page_zh.yaml``) around tables whose
rows, labels, links and description cells come from models.yaml, the cells worded as the page words
them. Facts from other sources never appear on it (``zoo show`` gives them, with their source).
``en`` renders the same tables with descriptions written from the catalog's facts.
``compare_pages`` compares whole page texts; ``parse_zoo_tables`` reads the tables' rows back.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import yaml

from corpusprep.errors import InputError
from manifests.catalog import Catalog, CatalogError
from manifests.schema import Model, is_known

LANGS = ("zh", "en")
_GRID_L = (2, 4, 6, 8, 10, 12)
_GRID_H = (128, 256, 512, 768)

_T = {
    "zh": {
        "roberta-char": "中文RoBERTa预训练模型", "roberta-word": "基于词的中文RoBERTa预训练模型",
        "gpt2": "基于不同语料的中文GPT-2预训练模型", "google": "来自Google的中文预训练模型（采用UER格式）",
        "uer": "UER预训练模型", "grid_corner": "层数/隐层维度", "link": "模型链接", "card": "细节描述链接",
        "model": "预训练模型", "desc": "描述", "weights": "模型：", "vocab": "词典：",
        "corpus": "训练语料：{}", "config": "配置文件为{}", "steps": "训练步数：{}", "seq": "句长：{}",
        "google_by": "来自{}的中文预训练模型，已转换为UER格式", "sep": "；", "end": "。", "unknown": "未知",
    },
    "en": {
        "roberta-char": "Chinese RoBERTa pre-trained weights", "roberta-word": "Chinese word-based RoBERTa pre-trained weights",
        "gpt2": "Chinese GPT-2 pre-trained weights on different corpora", "google": "Chinese pre-trained weights from Google (in UER format)",
        "uer": "UER pre-trained weights", "grid_corner": "Layers/Hidden", "link": "Model link", "card": "Model card",
        "model": "Pre-trained model", "desc": "Description", "weights": "Model: ", "vocab": "Vocab: ",
        "corpus": "Corpus: {}", "config": "config file {}", "steps": "training steps: {}", "seq": "sequence length: {}",
        "google_by": "Chinese weights from {}, converted to UER format", "sep": "; ", "end": ".", "unknown": "unknown",
    },
}


@dataclass(frozen=True)
class Row:
    section: str
    label: str
    urls: tuple[str, ...]


def _page_models(cat: Catalog, section: str) -> list[Model]:
    return sorted((m for m in cat.models.values() if m.page and m.page.section == section), key=lambda m: m.page.order)


def _weights(m: Model) -> list[str]:
    return [l.url for l in m.links if l.current and l.kind in ("weights", "vocab")]


def _label(m: Model, lang: str) -> str:
    if lang == "en" and m.page.section == "gpt2":
        return f"**{m.name}**"
    if m.page.section == "gpt2":
        return f"**{m.page.label}**"
    return m.page.label


def _description(cat: Catalog, m: Model, lang: str) -> str:
    t = _T[lang]
    parts = []
    if m.recipe.status == "third-party" and m.recipe.trained_by:
        parts.append(t["google_by"].format(m.recipe.trained_by.split(" (")[0].split(",")[0]))
    if isinstance(m.datasets, list):
        names = [cat.dataset(d).name for d in m.datasets]
        parts.append(t["corpus"].format(", ".join(names)))
    named = re.search(r"([A-Za-z0-9_./]+_config\.json)", m.page.description or "")
    if named:  # the config file as the page names it (older flat names, e.g. bert_large_config.json)
        parts.append(t["config"].format(named.group(1)))
    recipe = cat.recipe_of(m.id)
    if recipe:
        steps = [s.total_steps for s in recipe.stages]
        seqs = [s.seq_length for s in recipe.stages]
        if any(is_known(s) for s in steps):
            parts.append(t["steps"].format(" + ".join(f"{s:,}" if is_known(s) else t["unknown"] for s in steps)))
        if any(is_known(s) for s in seqs):
            parts.append(t["seq"].format(" + ".join(str(s) if is_known(s) else t["unknown"] for s in seqs)))
    return t["sep"].join(parts) + t["end"]


def _grid_rows(cat: Catalog, lang: str) -> tuple[list[str], list[str]]:
    grid = {m.page.ref: m for m in _page_models(cat, "roberta-char")}
    rows, refs = [], []
    for n in _GRID_L:
        cells = []
        for h in _GRID_H:
            m = grid.get(f"{n}_{h}")
            cells.append(f"[{_label(m, lang)}][{m.page.ref}]" if m else "")
            if m:
                refs.append(f"[{m.page.ref}]:{_weights(m)[0]}")
        rows.append(f"| **L={n}** | " + " | ".join(cells) + " |")
    return rows, refs


def _list_rows(cat: Catalog, section: str, lang: str) -> tuple[list[str], list[str]]:
    rows, refs = [], []
    for m in _page_models(cat, section):
        cells = [f"[{_label(m, lang)}][{m.page.ref}]"]
        if section == "gpt2":
            cells.append(next((l.url for l in m.links if l.kind == "hf"), ""))
        rows.append("| " + " | ".join(cells) + " |")
        refs.append(f"[{m.page.ref}]:{_weights(m)[0]}")
    return rows, refs


def _link_cell(m: Model, lang: str) -> str:
    cur = [l for l in m.links if l.current and l.kind in ("weights", "vocab")]
    if len(cur) == 1:
        return cur[0].url
    return " ".join(f"{_T[lang][l.kind]}{l.url}" for l in cur)


def _html_rows(cat: Catalog, section: str, lang: str) -> list[str]:
    rows = []
    for m in _page_models(cat, section):
        desc = m.page.description if lang == "zh" and m.page.description else _description(cat, m, lang)
        rows.append(f'<tr align="center"><td> {_label(m, lang)} <td> {_link_cell(m, lang)} <td> {desc}')
    return rows


def _section_parts(cat: Catalog, lang: str) -> tuple[dict, dict]:
    rows, refs = {}, {}
    rows["roberta-char"], refs["roberta-char"] = _grid_rows(cat, lang)
    for section in ("roberta-word", "gpt2"):
        rows[section], refs[section] = _list_rows(cat, section, lang)
    for section in ("google", "uer"):
        rows[section] = _html_rows(cat, section, lang)
    return rows, refs


def page_template(cat: Catalog) -> str:
    """The zoo page's own text around its tables (``data/page_zh.yaml``)."""
    path = cat.data_dir / "page_zh.yaml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        return doc["page_zh"]["template"]
    except (FileNotFoundError, KeyError, TypeError):
        raise InputError(path, "page template missing (top-level key page_zh.template)") from None


_MARKER = re.compile(r"^\{(rows|refs):([a-z0-9-]+)\}$")


def render_page(cat: Catalog) -> str:
    """The Chinese zoo page: the page's text with its tables' rows and link definitions from the catalog."""
    rows, refs = _section_parts(cat, "zh")
    out = []
    for line in page_template(cat).splitlines():
        m = _MARKER.match(line.strip())
        if not m:
            out.append(line)
            continue
        table = rows if m.group(1) == "rows" else refs
        if m.group(2) not in table:
            raise CatalogError(f"page template names unknown section {m.group(2)!r} in {line.strip()!r}")
        out += table[m.group(2)]
    return "\n".join(out).rstrip("\n") + "\n"


def render_tables(cat: Catalog, lang: str = "zh") -> str:
    """``zh``: the zoo page itself (:func:`render_page`); ``en``: its tables with descriptions from the catalog."""
    if lang not in LANGS:
        raise CatalogError(f"unknown language '{lang}' (choose from {', '.join(LANGS)})")
    if lang == "zh":
        return render_page(cat)
    t = _T[lang]
    rows, refs = _section_parts(cat, lang)
    out = [f"## {t['roberta-char']}", "", f"|{t['grid_corner']}|" + "|".join(f"H={h}" for h in _GRID_H) + "|",
           "| -------- |" + " :---: |" * len(_GRID_H), *rows["roberta-char"]]
    out += ["", f"## {t['roberta-word']}", "", f"| {t['link']} |", "| :---: |", *rows["roberta-word"]]
    out += ["", f"## {t['gpt2']}", "", f"| {t['link']} | {t['card']} |", "| :---: | :---: |", *rows["gpt2"]]
    for section in ("google", "uer"):
        out += ["", f"## {t[section]}", "<table>", f'<tr align="center"><th> {t["model"]} <th> Link <th> {t["desc"]} ',
                *rows[section], "</table>"]
    out += [""]
    for section in ("roberta-char", "roberta-word", "gpt2"):
        out += [*refs[section], ""]
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------- comparing two pages
_ALIGN = re.compile(r"^:?-{3,}:?$")


def normalize_line(line: str) -> str:
    """One page line with layout-only differences removed (cell padding, runs of spaces, trailing blanks)."""
    line = re.sub(r"\s+", " ", line.strip())
    if line.startswith("|"):
        cells = [c.strip() for c in line.strip("|").split("|")]
        cells = [(":" if c.startswith(":") else "") + "---" + (":" if c.endswith(":") else "") if _ALIGN.match(c) else c
                 for c in cells]
        return "|" + "|".join(cells) + "|"
    return line


def _normalized(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for n, line in enumerate(text.splitlines(), 1):
        norm = normalize_line(line)
        if norm == "" and (not out or out[-1][1] == ""):
            continue  # several blank lines are one paragraph break
        out.append((n, norm))
    while out and out[-1][1] == "":
        out.pop()
    return out


def compare_pages(page: str, rendered: str) -> list[str]:
    """Differences between the published page and the rendered one, line by line after layout normalisation."""
    a, b = _normalized(page), _normalized(rendered)
    diffs = []
    sm = difflib.SequenceMatcher(a=[x[1] for x in a], b=[x[1] for x in b], autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            left = a[i1 + k] if i1 + k < i2 else None
            right = b[j1 + k] if j1 + k < j2 else None
            where = f"page line {left[0]}" if left else f"rendered line {right[0]}"
            diffs.append(f"{where}: page {left[1] if left else '(nothing)'!r} != rendered {right[1] if right else '(nothing)'!r}")
    return diffs


_REF_DEF = re.compile(r"^\[([^\]]+)\]:\s*(\S+)\s*$")
_MD_CELL = re.compile(r"\[(.+?)\]\[([^\]]+)\]")
_URL = re.compile(r"https?://[^\s<|]+")


def parse_zoo_tables(text: str) -> list[Row]:
    """Rows of the zoo page's tables: markdown tables (RoBERTa grid, word RoBERTa, GPT-2) then HTML tables."""
    refs = {m.group(1): m.group(2) for m in map(_REF_DEF.match, text.splitlines()) if m}
    rows: list[Row] = []
    md_sections = iter(("roberta-char", "roberta-word", "gpt2"))
    html_sections = iter(("google", "uer"))
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("|"):
            block = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                block.append(lines[i].strip())
                i += 1
            section = next(md_sections, "extra")
            for row in block[2:]:  # header + alignment line
                for label, ref in _MD_CELL.findall(row):
                    rows.append(Row(section, label.strip(), (refs.get(ref, f"<undefined ref {ref}>"),)))
            continue
        if line.lower().startswith("<table"):
            section = next(html_sections, "extra")
            i += 1
            while i < len(lines) and not lines[i].strip().lower().startswith("</table"):
                cells = re.split(r"<td>", lines[i])
                if len(cells) >= 3:
                    rows.append(Row(section, cells[1].strip(), tuple(_URL.findall(cells[2]))))
                i += 1
        i += 1
    return rows
