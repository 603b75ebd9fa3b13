"""`zoo list` filters, `zoo datasets` / `zoo dataset`, and `zoo render --lang en|zh` against the facts
files (../shared/reference/zoo_facts.yaml, datasets_facts.yaml, Modelzoo.zh.md), for EVERY model and
dataset of the facts (issue 25): what a user queries is what the sources say, not only for samples.

test_catalog_facts.py compares the shipped YAML with the facts; this file compares what the commands
print (the query and rendering code between the two).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli import app

runner = CliRunner()
URL = re.compile(r"https?://[^\s;,)]+")


def zoo(*args) -> str:
    res = runner.invoke(app, ["zoo", *map(str, args)])
    assert res.exit_code == 0, (args, res.output, res.exception)
    return res.output


def zoo_json(*args):
    return json.loads(zoo(*args, "--json"))


@pytest.fixture(scope="module")
def facts(reference_dir: Path) -> dict:
    z = yaml.safe_load((reference_dir / "zoo_facts.yaml").read_text(encoding="utf-8"))
    d = yaml.safe_load((reference_dir / "datasets_facts.yaml").read_text(encoding="utf-8"))
    models = {m["id"]: m for m in z["models"] + z["extra_models"]}
    return {"models": models, "datasets": {x["id"]: x for x in d["datasets"]},
            "page": (reference_dir / "Modelzoo.zh.md").read_text(encoding="utf-8")}


@pytest.fixture(scope="module")
def listed() -> dict:
    return {r["id"]: r for r in zoo_json("list")}


def first_url(text) -> str | None:
    m = URL.search(text or "")
    return m.group(0) if m else None


def on_page(f: dict, facts: dict) -> bool:
    url = first_url(f.get("weiyun_link"))
    return bool(url) and url in facts["page"]


def corpora(m: dict) -> set[str]:
    return {c for c in m["corpus"] if c != "unknown"} if isinstance(m["corpus"], list) else set()


# ------------------------------------------------------------------------------------------ zoo list
def test_list_holds_every_model_of_the_facts_with_its_facts(facts, listed):
    assert set(listed) == set(facts["models"])
    bad = []
    for mid, f in facts["models"].items():
        row = listed[mid]
        want = {"family": f["family"], "hf_id": f.get("hf_repo"), "weights": first_url(f.get("weiyun_link")),
                "datasets": corpora(f), "on_zoo_page": on_page(f, facts)}
        got = {"family": row["family"], "hf_id": row["hf_id"], "weights": (row["links"]["weights"] or [None])[0],
               "datasets": {d for d in row["datasets"] if d != "unknown"} if isinstance(row["datasets"], list) else set(),
               "on_zoo_page": row["on_zoo_page"]}
        for k in ("layers", "hidden", "heads"):
            if isinstance(f["architecture"].get(k), int):
                want[k], got[k] = f["architecture"][k], row[k]
        vocab = re.match(r"models/([\w.-]+)\.(txt|model)\b", str(f["tokenizer"].get("vocab_file") or
                                                                 f["tokenizer"].get("spm_model") or ""))
        if vocab:
            want["tokenizer"], got["tokenizer"] = vocab.group(1), row["tokenizer"]
        if got != want:
            bad.append(f"{mid}: {({k: (got[k], want[k]) for k in want if got[k] != want[k]})}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("flag,key", [("--dataset", "datasets"), ("--family", "family"), ("--tokenizer", "tokenizer")])
def test_each_value_filter_returns_exactly_the_matching_models(facts, listed, flag, key):
    """For every value the catalog holds (every dataset of the facts too), the filter is exact."""
    values = {v for r in listed.values() for v in (r[key] if isinstance(r[key], list) else [r[key]])}
    if flag == "--dataset":
        values = (values | set(facts["datasets"])) - {"unknown"}
    for value in sorted(values):
        got = {r["id"] for r in zoo_json("list", flag, value)}
        want = {mid for mid, r in listed.items() if value in (r[key] if isinstance(r[key], list) else [r[key]])}
        assert got == want, (flag, value, got ^ want)
        if flag == "--dataset" and value in facts["datasets"]:
            assert got == {mid for mid, f in facts["models"].items() if value in corpora(f)}, value


def test_numeric_and_boolean_filters_partition_the_catalog(facts, listed):
    for n in sorted({s for r in listed.values() for s in r["seq_lengths"] if isinstance(s, int)}):
        assert {r["id"] for r in zoo_json("list", "--seq-len", n)} == \
            {mid for mid, r in listed.items() if n in r["seq_lengths"]}, n
    for n in sorted({r["stages"] for r in listed.values()}):
        assert {r["id"] for r in zoo_json("list", "--stages", n)} == \
            {mid for mid, r in listed.items() if r["stages"] == n}, n
    has = {r["id"] for r in zoo_json("list", "--has-hf")}
    assert has == {mid for mid, f in facts["models"].items() if f.get("hf_repo")}
    assert {r["id"] for r in zoo_json("list", "--no-hf")} == set(listed) - has
    on = {r["id"] for r in zoo_json("list", "--on-page")}
    assert on == {mid for mid, f in facts["models"].items() if on_page(f, facts)}
    assert {r["id"] for r in zoo_json("list", "--not-on-page")} == set(listed) - on
    assert {r["id"] for r in zoo_json("list", "--page-only")} == on


# ------------------------------------------------------------------------------ zoo dataset(s)
FIELDS = {"name": ("name",), "url": ("url",), "size": ("size",), "licence": ("license",),
          "distribution": ("distribution",), "format": ("format_as_distributed", "format"), "origin": ("main_origin",)}


def test_datasets_lists_every_dataset_of_the_facts(facts):
    assert sorted(r["id"] for r in zoo_json("datasets")) == sorted(facts["datasets"])


def test_dataset_shows_every_dataset_with_its_facts_and_models(facts):
    bad = []
    for did, f in facts["datasets"].items():
        out = zoo_json("dataset", did)
        ds = out["dataset"]
        for field, keys in FIELDS.items():
            key = next((k for k in keys if k in f), None)
            if key is not None and ds.get(field) != f[key]:
                bad.append(f"{did}.{field}: {ds.get(field)!r} != fact {key} {f[key]!r}")
        if "size" not in f and ds.get("size") != "unknown":
            bad.append(f"{did}.size: {ds.get('size')!r}, no fact: must say unknown")
        if "parts" in f and [p["id"] for p in ds["parts"]] != [p["id"] for p in f["parts"]]:
            bad.append(f"{did}.parts")
        models = {m["id"] for m in out["models"]}
        want = {mid for mid, m in facts["models"].items() if did in corpora(m)}
        if models != want:
            bad.append(f"{did}.models: {sorted(models ^ want)}")
        text = zoo("dataset", did)
        if f["name"] not in text or any(mid not in text for mid in want):
            bad.append(f"{did}: the text view misses its name or a model")
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------------------------------- render
def _refs(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\[([^\]]+)\]:\s*(\S+)\s*$", text, flags=re.M))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_render_links_every_page_model_and_no_other(facts, lang):
    text = zoo("render", "--lang", lang)
    refs = _refs(text)
    by_url = {}
    for key, url in refs.items():
        by_url.setdefault(url, []).append(key)
    lines = text.splitlines()
    for mid, f in facts["models"].items():
        url = first_url(f.get("weiyun_link"))
        keys = by_url.get(url, [])
        rows = [line for line in lines if (line.startswith("|") and any(f"][{k}]" in line for k in keys))
                or (line.startswith("<tr") and url and url in line)]  # markdown tables, or the page's HTML table
        if url and url in facts["page"]:
            assert len(keys) <= 1, f"{lang}: {mid} ({url}) has {keys} references"
            assert len(rows) == 1, f"{lang}: {len(rows)} table rows link {mid} ({url})"
            if f.get("hf_repo") and "huggingface.co" in rows[0]:
                assert f"huggingface.co/{f['hf_repo']}" in rows[0], f"{lang}: {mid}: {rows[0]}"
        else:
            assert not url or url not in text, f"{lang}: {mid} is not on the zoo page but is rendered"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_render_roberta_grid_cells_hold_the_model_of_their_layers_and_hidden(facts, lang):
    text = zoo("render", "--lang", lang)
    refs = _refs(text)
    header = next(line for line in text.splitlines() if re.match(r"\|(Layers/Hidden|层数/隐层维度)\|", line))
    hidden = [int(h) for h in re.findall(r"H=(\d+)", header)]
    grid = {}
    for line in text.splitlines():
        m = re.match(r"\| \*\*L=(\d+)\*\* \|(.*)\|$", line)
        if m:
            for h, cell in zip(hidden, m.group(2).split("|")):
                grid[int(m.group(1)), h] = refs[re.search(r"\]\[([^\]]+)\]", cell).group(1)]
    chars = {(f["architecture"]["layers"], f["architecture"]["hidden"]): first_url(f["weiyun_link"])
             for f in facts["models"].values() if f["family"] == "roberta-char"}
    assert grid == chars and len(grid) == 24


def test_render_zh_equals_the_zoo_page(reference_dir):
    assert "0 difference(s)" in zoo("render", "--check", reference_dir / "Modelzoo.zh.md")
