"""Regenerate the zoo page's model tables from the catalog, and parse such tables back into rows.

The tables keep the zoo page's rows, labels, order and download links; the description cells are
written by zooprep from the catalog's facts (corpus, target, config, steps), in Chinese or English.
``parse_zoo_tables`` reads either the published page or a rendered one, so the two can be compared
row by row (``zoo render --check PAGE``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from manifests.catalog import Catalog
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
    arch = cat.architecture(m.architecture)
    if arch.config_file:
        cfg = arch.config_file.split(" ")[0].split("/")[-1]
        if cfg != "base_config.json" or arch.kind != "bert":
            parts.append(t["config"].format(cfg))
    recipe = cat.recipe_of(m.id)
    if recipe:
        steps = [s.total_steps for s in recipe.stages]
        seqs = [s.seq_length for s in recipe.stages]
        if any(is_known(s) for s in steps):
            parts.append(t["steps"].format(" + ".join(f"{s:,}" if is_known(s) else t["unknown"] for s in steps)))
        if any(is_known(s) for s in seqs):
            parts.append(t["seq"].format(" + ".join(str(s) if is_known(s) else t["unknown"] for s in seqs)))
    return t["sep"].join(parts) + t["end"]


def render_tables(cat: Catalog, lang: str = "zh") -> str:
    """Markdown/HTML tables in the zoo page's layout, regenerated from the catalog."""
    if lang not in LANGS:
        from manifests.catalog import CatalogError

        raise CatalogError(f"unknown language '{lang}' (choose from {', '.join(LANGS)})")
    t = _T[lang]
    refs: list[str] = []
    out: list[str] = []

    grid = {(m.page.ref): m for m in _page_models(cat, "roberta-char")}
    out += [f"## {t['roberta-char']}", "", f"|{t['grid_corner']}|" + "|".join(f"H={h}" for h in _GRID_H) + "|",
            "| -------- |" + " :---: |" * len(_GRID_H)]
    for n in _GRID_L:
        cells = []
        for h in _GRID_H:
            m = grid.get(f"{n}_{h}")
            cells.append(f"[{_label(m, lang)}][{m.page.ref}]" if m else "")
            if m:
                refs.append(f"[{m.page.ref}]:{_weights(m)[0]}")
        out.append(f"| **L={n}** | " + " | ".join(cells) + " |")
    refs.append("")

    out += ["", f"## {t['roberta-word']}", "", f"| {t['link']} |", "| :---: |"]
    for m in _page_models(cat, "roberta-word"):
        out.append(f"| [{_label(m, lang)}][{m.page.ref}] |")
        refs.append(f"[{m.page.ref}]:{_weights(m)[0]}")
    refs.append("")

    out += ["", f"## {t['gpt2']}", "", f"| {t['link']} | {t['card']} |", "| :---: | :---: |"]
    for m in _page_models(cat, "gpt2"):
        card = next((l.url for l in m.links if l.kind == "hf"), "")
        out.append(f"| [{_label(m, lang)}][{m.page.ref}] | {card} |")
        refs.append(f"[{m.page.ref}]:{_weights(m)[0]}")

    for section in ("google", "uer"):
        out += ["", f"## {t[section]}", "<table>", f'<tr align="center"><th> {t["model"]} <th> Link <th> {t["desc"]} ']
        for m in _page_models(cat, section):
            cur = [l for l in m.links if l.current and l.kind in ("weights", "vocab")]
            if len(cur) == 1:
                link = cur[0].url
            else:
                link = " ".join(f"{t[l.kind]}{l.url}" for l in cur)
            out.append(f'<tr align="center"><td> {_label(m, lang)} <td> {link} <td> {_description(cat, m, lang)}')
        out.append("</table>")
    out += ["", *refs]
    return "\n".join(out).rstrip("\n") + "\n"


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
