"""Issue 21: statistics recorded while `clean` / `shard` run, the `report` page drawn from them (opened
in a real headless Chromium), the dataset card, and hostile samples escaped.

One clean + shard of the demo CLUECorpusSmall sample, the lyrics file (one long document) and a file of
hostile lines is built once for the module; every test reads those outputs.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from conftest import DEMO, DEMO_DOCS, REPO, run_cli
from corpusprep.histogram import Histogram, bin_edges, bin_index, merge, percentile

HOSTILE = [
    # kept (Chinese enough): markup and a script end tag in the text, traditional characters for [UNK]
    "這個測試文件包含<script>alert(1)</script>標籤，還有</script>結束標記與繁體字內容，應當被安全地轉義顯示。",
    "繁體中文的句子會變成未知字符，因為詞彙表只認識簡體字，這裡重複幾個繁體字：們們們們們們們們們們們們。",
    "另一個繁體句子：體體體體體體體體體體體體體，還有這個說話聽說讀寫的測試句子，長度足夠被保留下來。",
    # dropped (too little Chinese): raw text with control and bidi characters goes to rejects/
    "<img src=x onerror=alert(1)>\x07\u202e</script><b>bold</b> abcdefghijklmnopqrstuvwxyz 0123456789",
]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    if not DEMO_DOCS.is_file():
        pytest.skip(f"{DEMO_DOCS} is absent (the demo corpus ships with the repo)")
    root = tmp_path_factory.mktemp("data-report")
    hostile = root / "inputs" / "hostile.txt"
    hostile.parent.mkdir()
    hostile.write_text("\n".join(HOSTILE) + "\n", encoding="utf-8")
    clean, shard, vocab = root / "clean", root / "mlm", root / "vocab.txt"
    run_cli("clean", str(DEMO_DOCS), str(DEMO / "lyrics" / "lyrics.txt"), str(hostile), "--out", str(clean),
            "-j", "1", "--license", "cc-by-4.0", "--no-progress")
    # simplified only: the traditional characters of the hostile lines get [UNK]
    run_cli("build-vocab", str(DEMO_DOCS), str(DEMO / "lyrics" / "lyrics.txt"), "--out", str(vocab))
    run_cli("shard", str(clean), "--out", str(shard), "--processor", "mlm", "--seq-len", "64", "--vocab", str(vocab),
            "--workers", "1", "--full-sentences")
    html = root / "report.html"
    run_cli("report", str(clean), str(shard), "--out", str(html))
    return {"root": root, "clean": clean, "shard": shard, "vocab": vocab, "html": html,
            "report": json.loads((clean / "report.json").read_text(encoding="utf-8")),
            "meta": json.loads((shard / "zooprep.json").read_text(encoding="utf-8"))}


# ------------------------------------------------------------------ histograms --------------------------
def _nearest_rank(values: np.ndarray, p: int) -> int:
    s = np.sort(values)
    return int(s[max(1, int(np.ceil(p / 100 * len(s)))) - 1])


def _check_percentiles(hist: dict, values: np.ndarray) -> None:
    """Recorded percentiles against the direct ones: the lower edge of the true value's bin."""
    assert hist["count"] == len(values) and hist["sum"] == int(values.sum())
    assert hist["min"] == int(values.min()) and hist["max"] == int(values.max())
    for p in (50, 90, 99):
        true = _nearest_rank(values, p)
        lo, hi = bin_edges(int(bin_index([true])[0]))
        assert hist[f"p{p}"] == max(lo, int(values.min())), (p, true, hist[f"p{p}"])
        assert hist[f"p{p}"] <= true < hi and (true < 32 or true - hist[f"p{p}"] <= true / 16)


def test_histogram_bins_and_percentiles_against_direct_computation():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.integers(0, 40, 500), rng.lognormal(6, 2, 3000).astype(np.int64), [1 << 40]])
    whole = Histogram()
    whole.add(values)
    h = whole.as_dict()
    _check_percentiles(h, values)
    for lo, hi, n in h["bins"]:  # every value in the bin it names, nothing lost
        assert n == int(np.count_nonzero((values >= lo) & (values < hi)))
    assert sum(n for _, _, n in h["bins"]) == len(values)
    parts = []
    for chunk in np.array_split(values, 7):  # units add up to the whole, in any order
        part = Histogram()
        part.add(chunk)
        parts.append(part.as_dict())
    assert merge(reversed(parts)) == h
    assert percentile([], 50, 0, 0) == 0 and merge([]) ["count"] == 0


def test_shard_histograms_equal_direct_computation_on_real_output(outputs):
    import datasets
    import pyarrow.parquet as pq

    from zh_tokenizers import load_tokenizer

    lengths = outputs["meta"]["counts"]["lengths"]
    rows = np.array([len(r) for r in datasets.load_from_disk(str(outputs["shard"]))["input_ids"]], dtype=np.int64)
    _check_percentiles(lengths["tokens_per_row"], rows)
    direct = Histogram()
    direct.add(rows)
    assert lengths["tokens_per_row"] == direct.as_dict()
    assert lengths["tokens_per_row"]["sum"] == outputs["meta"]["counts"]["tokens"]
    # documents: the clean shard's texts, tokenized directly
    texts = [t for f in sorted(outputs["clean"].glob("train-*.parquet")) for t in pq.read_table(f)["text"].to_pylist()]
    tok = load_tokenizer(vocab=str(outputs["vocab"]))
    doc_tokens = np.array([len(ids) for ids in tok.encode_batch(texts)], dtype=np.int64)
    _check_percentiles(lengths["tokens_per_document"], doc_tokens)
    chars = np.array([len(t) for t in texts], dtype=np.int64)
    _check_percentiles(lengths["chars_per_document"], chars)
    _check_percentiles(outputs["report"]["lengths"]["chars_per_document"], chars)


def test_clean_records_families_and_hints(outputs):
    r = outputs["report"]
    fam = r["by_family"]
    assert sum(c["read"] for c in fam.values()) == r["read"] and sum(c["kept"] for c in fam.values()) == r["kept"]
    assert fam["lyrics"]["kept"] == 1
    assert any("one long document" in h and "lyrics.txt" in h for h in r["hints"])
    assert r["license"] == "cc-by-4.0"
    hints = outputs["meta"]["counts"]["hints"]
    assert any("--t2s" in h for h in hints), hints  # 們 體 說 ... are [UNK] for a simplified vocab


# ------------------------------------------------------------------ dataset card -----------------------
def test_dataset_card_parses_and_is_recorded(outputs):
    import datasets
    from huggingface_hub import DatasetCard

    from corpusprep.card import size_category

    for d, n, tasks, license_ in ((outputs["clean"], outputs["report"]["kept"], ["fill-mask", "text-generation"],
                                   "cc-by-4.0"),
                                  (outputs["shard"], outputs["meta"]["counts"]["instances"], ["fill-mask"], "unknown")):
        card = DatasetCard.load(d / "README.md")
        data = card.data.to_dict()
        assert data["language"] == ["zh"] and data["license"] == license_
        assert data["size_categories"] == [size_category(n)] and data["task_categories"] == tasks
        assert data["source_datasets"]
        complete = json.loads((d / ".zooprep" / "complete.json").read_text(encoding="utf-8"))
        assert "README.md" in complete["files"]
        assert "zooprep verify" not in card.text and "Command" in card.text
        run_cli("verify", str(d))
    meta = outputs["meta"]
    card = DatasetCard.load(outputs["shard"] / "README.md").text
    assert meta["tokenizer"]["vocab_sha256"] in card and str(meta["counts"]["instances"]) in card
    info = datasets.load_from_disk(str(outputs["shard"])).info
    assert info.license == "unknown" and "mlm" in info.description and "UER" in info.citation
    assert size_category(999) == "n<1K" and size_category(1000) == "1K<n<10K" and size_category(10**6) == "1M<n<10M"


# ------------------------------------------------------------------ the page ---------------------------
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "div", "section", "table",
                "thead", "tbody", "tr", "th", "td", "pre", "svg", "rect", "line", "text"}


class _Page(HTMLParser):
    """Tables as rows of cell texts, and all text."""

    def __init__(self):
        super().__init__()
        self.rows, self.text, self._row, self._cell = [], [], None, None
        self.tags, self.attrs = set(), set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _figures(html: str) -> dict[str, list[str]]:
    page = _Page()
    page.feed(html)
    out: dict[str, list[str]] = {}
    for row in page.rows:  # the first table with a label wins: the side-by-side one
        if row:
            out.setdefault(row[0], row[1:])
    return out


def _check_figures(html: str, r: dict, m: dict) -> None:
    """The side-by-side table (clean column, shard column) shows the recorded numbers."""
    fig = _figures(html)
    assert fig["documents kept"][0] == str(r["kept"]) and fig["documents read"][0] == str(r["read"])
    assert fig["exact duplicates removed"][0] == str(r["dropped"].get("duplicate", 0))
    assert fig["characters per document p50"][0] == str(r["lengths"]["chars_per_document"]["p50"])
    c = m["counts"]
    assert fig["instances"][1] == str(c["instances"]) and fig["tokens"][1] == str(c["tokens"])
    assert fig["padding share"][1] == f"{c['padding_share']:.2%}"
    for key in ("p50", "p90", "p99", "max"):
        assert fig[f"tokens per row {key}"][1] == str(c["lengths"]["tokens_per_row"][key])
        assert fig[f"tokens per document {key}"][1] == str(c["lengths"]["tokens_per_document"][key])


def test_report_page_is_self_contained_escaped_and_recorded(outputs):
    html = outputs["html"].read_text(encoding="utf-8")
    _check_figures(html, outputs["report"], outputs["meta"])
    low = html.lower()
    assert "<script" not in low and "<img" not in low and "<b>" not in low  # no markup from the data
    assert "&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "⟨U+0007⟩" in html and "⟨U+202E⟩" in html and "\x07" not in html and "\u202e" not in html
    page = _Page()
    page.feed(html)
    assert page.tags <= ALLOWED_TAGS, page.tags - ALLOWED_TAGS
    assert not page.attrs & {"src", "href", "xlink:href", "action", "srcset"} and not any(
        a.startswith("on") for a in page.attrs)  # nothing fetched, no handler
    assert "@import" not in low and "url(" not in low
    assert low.count("<svg") >= 4  # chars/doc (clean), chars/tokens per doc and tokens per row (shard)
    assert "--t2s" in html and "one long document" in html
    card = json.loads((outputs["root"] / "report.html.card.json").read_text(encoding="utf-8"))
    assert card["zooprep_command"] == "report"


def test_report_formats_and_owned_output(outputs, tmp_path):
    md, js = tmp_path / "r.md", tmp_path / "r.json"
    run_cli("report", str(outputs["clean"]), "--out", str(md), "--format", "md")
    run_cli("report", str(outputs["shard"]), "--out", str(js), "--format", "json")
    text = md.read_text(encoding="utf-8")
    assert f"| documents kept | {outputs['report']['kept']} |" in text and "<script" not in text.lower()
    section = json.loads(js.read_text(encoding="utf-8"))["sections"][0]
    assert dict(map(tuple, section["figures"]))["tokens"] == outputs["meta"]["counts"]["tokens"]
    run_cli("report", str(outputs["shard"]), "--out", str(js), "--format", "json")  # ours: replaced
    foreign = tmp_path / "mine.html"
    foreign.write_text("not zooprep's", encoding="utf-8")
    done = subprocess.run([sys.executable, "cli.py", "report", str(outputs["clean"]), "--out", str(foreign)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "was not written by `zooprep report`" in done.stderr
    assert foreign.read_text(encoding="utf-8") == "not zooprep's"
    inside = subprocess.run([sys.executable, "cli.py", "report", str(outputs["clean"]), "--out",
                             str(outputs["clean"] / "r.html")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert inside.returncode == 2 and "inside" in inside.stderr


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def _open(browser: str, page: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                           *flags, page.as_uri()], capture_output=True, text=True, timeout=120)


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_report_in_headless_chromium(outputs, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium installed (`apt-get install -y chromium`; .ci/run installs it)")
    # the check can fail: a page with a script error is caught
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>missing()</script></body></html>", encoding="utf-8")
    assert _console(_open(browser, bad, "--dump-dom").stderr)
    dom = _open(browser, outputs["html"], "--dump-dom")
    assert dom.returncode == 0 and not _console(dom.stderr), _console(dom.stderr)
    _check_figures(dom.stdout, outputs["report"], outputs["meta"])  # the DOM the browser built
    shot = tmp_path / "report.png"
    done = _open(browser, outputs["html"], f"--screenshot={shot}", "--window-size=1400,2200")
    assert done.returncode == 0 and not _console(done.stderr)
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {shot}")


# ------------------------------------------------------------------ inspect every output ---------------
def test_inspect_clean_encoded_and_export(outputs, tmp_path):
    from corpusprep.feed.export import ExportConfig, export
    from corpusprep.instances.config import ShardConfig
    from corpusprep.instances.inspect_dir import InspectOptions, inspect_dir
    import pyarrow.parquet as pq

    clean = outputs["clean"]
    text = inspect_dir(clean, opts=InspectOptions(n=2))
    first = pq.read_table(sorted(clean.glob("train-*.parquet"))[0]).slice(0, 2).to_pylist()
    assert f"kept {outputs['report']['kept']}" in text and "--- record 1" in text
    assert first[1]["text"][:40].replace("\n", "⏎") in text and first[1]["source"] in text
    rejects = inspect_dir(clean, opts=InspectOptions(n=5, reason="low_chinese_share"))
    assert "<U+0007>" in rejects and "<U+202E>" in rejects and "\x07" not in rejects  # shown, not obeyed
    with pytest.raises(Exception, match="no sampled rejects"):
        inspect_dir(clean, opts=InspectOptions(reason="nope"))
    # encoded corpus: documents decoded, and the rows of a view
    from corpusprep.instances.pipeline import run_shard

    enc = tmp_path / "enc"
    run_shard(ShardConfig(corpus=(DEMO_DOCS,), out=enc, vocab=outputs["vocab"], encode_only=True, workers=1,
                          show_progress=False))
    docs = inspect_dir(enc, opts=InspectOptions(n=1))
    line = next(ln for ln in DEMO_DOCS.read_text(encoding="utf-8").splitlines() if ln.strip())
    assert "--- document 0" in docs and line[:20] in docs.replace(" ", "")
    rows = inspect_dir(enc, opts=InspectOptions(n=2, view="mlm:32"))
    assert "--- row 1" in rows and "[CLS]" in rows
    # an export file: its card and first rows
    out = tmp_path / "x.parquet"
    export(ExportConfig(directory=outputs["shard"], out=out, to="hf"))
    shown = inspect_dir(out, opts=InspectOptions(n=1))
    assert f"{outputs['meta']['counts']['instances']} instances" in shown and "--- row 0" in shown and "[CLS]" in shown
