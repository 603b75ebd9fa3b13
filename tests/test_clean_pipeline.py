"""`clean` end to end: accounting, determinism, dedup, resume, layouts, datasets loading, CLI errors."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpusprep.atomic import sha256_file
from corpusprep.cleaning import pipeline
from corpusprep.cleaning.config import CleanConfig
from corpusprep.cleaning.pipeline import run_clean
from corpusprep.errors import ZooprepError

from conftest import REPO, cli
from fault_hooks import clean_fails_in_unit, clean_stops_after

DOCS = [
    "今天天气很好，我们一起去公园散步，然后去吃饭。",
    "机器学习是人工智能的一个分支，研究计算机怎样模拟人类的学习行为。",
    "北京是中华人民共和国的首都，也是全国的政治和文化中心。",
    "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。这是一首唐诗。",
    "他说：“这本书真好看。”然后把书放回了书架上，转身离开了图书馆。",
    "长江是中国第一长河，全长约六千三百公里，流经十一个省级行政区。",
]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _corpus(tmp_path: Path, copies: int = 3) -> Path:
    """A small multi-file text corpus with duplicates across files and junk lines."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    lines = [f"{d}第{i}号。" for i in range(copies) for d in DOCS]
    _write(folder / "a.txt", lines[:10] + ["短", "", "hello world this is english only text"])
    _write(folder / "b.txt", lines[10:] + [lines[0], lines[3], "哈" * 40])
    return folder


def _cfg(tmp_path: Path, inputs, name="out", **kw) -> CleanConfig:
    kw.setdefault("workers", 1)
    kw.setdefault("progress", False)
    return CleanConfig(inputs=tuple(str(i) for i in inputs), out=str(tmp_path / name), **kw)


def _shard_hashes(out: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(out.iterdir())
            if p.is_file() and p.name not in ("report.json", "README.md")}  # data files, not metadata


def _assert_identity(report: dict) -> None:
    assert report["read"] == report["kept"] + sum(report["dropped"].values())
    for path, f in report["files"].items():
        assert f["read"] == f["kept"] + sum(f["dropped"].values()), path
    assert sum(f["read"] for f in report["files"].values()) == report["read"]
    assert sum(s["records"] for s in report["shards"]) == report["kept"]


def _texts(out: Path) -> list[str]:
    texts = []
    for p in sorted(out.glob("*.parquet")):
        texts.extend(pq.read_table(p).column("text").to_pylist())
    return texts


def test_accounting_dedup_and_reasons(tmp_path):
    folder = _corpus(tmp_path)
    report = run_clean(_cfg(tmp_path, [folder], fmt="text", num_shards=2))
    _assert_identity(report)
    out = tmp_path / "out"
    assert not (out / ".zooprep" / "work").exists()
    a, b = str(folder / "a.txt"), str(folder / "b.txt")
    assert report["read"] == 13 + 11
    assert report["files"][b]["dropped"]["duplicate"] == 2  # first occurrence (in a.txt) wins
    assert "duplicate" not in report["files"][a]["dropped"]
    assert report["files"][a]["dropped"]["too_short"] == 1
    assert report["files"][a]["dropped"]["low_chinese_share"] == 1
    assert report["files"][b]["dropped"]["char_spam"] == 1
    assert report["files"][a]["dropped"]["empty"] == 1  # the blank line is a record, counted
    texts = _texts(out)
    assert len(texts) == len(set(texts)) == report["kept"] == 18
    dup = [json.loads(x) for x in (out / "rejects" / "duplicate.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [d["source"] for d in dup] == [b, b] and dup[0]["line"] == 9
    table = pq.read_table(out / "train-00000-of-00002.parquet")
    assert table.schema.names == ["text", "source", "line", "meta"]
    # within a shard, records come in corpus order: (file, line)
    rows = list(zip(table.column("source").to_pylist(), table.column("line").to_pylist()))
    assert rows == sorted(rows)


def test_real_corpus_accounting(tmp_path, corpora_dir):
    """Every reader reject and every filter is counted: read = kept + dropped, per file too."""
    from corpusprep.readers import plan_units, read_unit

    inputs = [corpora_dir / "weibo", corpora_dir / "cluecorpussmall", corpora_dir / "couplets"]
    report = run_clean(_cfg(tmp_path, inputs, num_shards=2, valid_fraction=0.1))
    _assert_identity(report)
    expected = sum(1 for u in plan_units([str(i) for i in inputs]) for _ in read_unit(u))
    assert report["read"] == expected
    assert report["dropped"]["duplicate"] > 0  # the weibo samples hold exact duplicate lines
    texts = _texts(tmp_path / "out")
    assert len(texts) == report["kept"]
    joined = "\n".join(texts)
    for junk in ("\ufeff", "//@", "&amp;", "\u200b", "[哈哈]", "http://t.cn"):
        assert junk not in joined, junk
    gb = [p for p in report["files"] if p.endswith("nCov_10k_test.csv")]
    assert gb and report["files"][gb[0]]["kept"] > 900  # GB18030 + CRLF file decoded
    splits = {s["split"] for s in report["shards"]}
    assert splits == {"train", "validation"}
    rows = pq.read_table(tmp_path / "out" / "train-00000-of-00002.parquet").to_pylist()
    tsv = [r for r in rows if r["source"].endswith("usual/train.tsv")]
    assert tsv and all(json.loads(r["meta"])["label"] in list("012345") for r in tsv)
    first = min(tsv, key=lambda r: r["line"])
    raw = Path(first["source"]).read_text(encoding="utf-8").split("\n")[first["line"] - 1]
    assert raw.split("\t", 1)[0] == json.loads(first["meta"])["label"]  # source + line point at the record


def test_bad_input_is_counted_not_fatal(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "broken.jsonl").write_bytes(
        '{"text": "第一条正常的记录，内容足够长。"}\n{"text": "坏的 JSON\n{"text": "第三条正常记录，也足够长了。"}\n'.encode())
    (folder / "empty.txt").write_bytes(b"")
    (folder / "mixed.txt").write_bytes(
        "正常的一行中文文本内容在这里。\r\n".encode() + b"\xff\xfe\xfa bad bytes \xc3\n" + "含有\x00空字符的中文行内容。\n".encode()
        + "\ufeff行内有字节序标记的中文文本。\n".encode())
    good = "压缩文件里的一行中文文本，足够长。\n" * 50
    raw = gzip.compress(good.encode())
    (folder / "cut.txt.gz").write_bytes(raw[: len(raw) // 2])
    report = run_clean(_cfg(tmp_path, [folder / "broken.jsonl"], name="o1", fmt="jsonl", text_field="text"))
    _assert_identity(report)
    assert report["read"] == 3 and report["kept"] == 2 and sum(report["dropped"].values()) == 1
    report = run_clean(_cfg(tmp_path, [folder / "empty.txt", folder / "mixed.txt", folder / "cut.txt.gz"],
                            name="o2", fmt="text"))
    _assert_identity(report)
    assert report["files"][str(folder / "empty.txt")]["read"] == 0
    cut = report["files"][str(folder / "cut.txt.gz")]
    assert any("trunc" in r for r in cut["dropped"]), cut
    texts = _texts(tmp_path / "o2")
    assert "行内有字节序标记的中文文本。" in texts
    assert all("\x00" not in t and "\ufeff" not in t for t in texts)


def test_workers_1_vs_2_byte_identical(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOOPREP_MIN_MB_PER_WORKER", "0")  # a real pool even for this small input
    folder = _corpus(tmp_path)
    kw = dict(fmt="text", num_shards=3, valid_fraction=0.3, unit_bytes=300, near_dup=True)
    r1 = run_clean(_cfg(tmp_path, [folder], name="w1", workers=1, **kw))
    r2 = run_clean(_cfg(tmp_path, [folder], name="w2", workers=2, **kw))
    assert r1["units"] > 2 and r1["packages"] > 2  # byte ranges really split the files
    h1, h2 = _shard_hashes(tmp_path / "w1"), _shard_hashes(tmp_path / "w2")
    assert h1 == h2 and len(h1) == 6
    assert [s["sha256"] for s in r1["shards"]] == [s["sha256"] for s in r2["shards"]]
    assert r1["files"] == r2["files"]
    from corpusprep.outdir.rerun import AlreadyComplete

    with pytest.raises(AlreadyComplete):  # the same command on the finished output: nothing to do
        run_clean(_cfg(tmp_path, [folder], name="w1", workers=2, **kw))
    r3 = run_clean(_cfg(tmp_path, [folder], name="w1", workers=1, overwrite=True, **kw))  # rebuilt: same bytes
    assert _shard_hashes(tmp_path / "w1") == h1 and r3["kept"] == r1["kept"]
    kw.pop("unit_bytes")  # whole files, packed into one package: still the same bytes
    r4 = run_clean(_cfg(tmp_path, [folder], name="w4", workers=2, **kw))
    assert r4["packages"] == 1 and _shard_hashes(tmp_path / "w4") == h1 and r4["files"] == r1["files"]


def test_seed_changes_assignment_not_content(tmp_path):
    folder = _corpus(tmp_path)
    a = run_clean(_cfg(tmp_path, [folder], name="s0", fmt="text", num_shards=4, seed=0))
    b = run_clean(_cfg(tmp_path, [folder], name="s1", fmt="text", num_shards=4, seed=1))
    assert sorted(_texts(tmp_path / "s0")) == sorted(_texts(tmp_path / "s1"))
    assert a["kept"] == b["kept"]
    assert _shard_hashes(tmp_path / "s0") != _shard_hashes(tmp_path / "s1")


def test_near_duplicates_opt_in(tmp_path):
    base = "我们今天在学校的操场上举行了一场非常精彩的篮球比赛，同学们都玩得很开心，老师也来给大家加油。"
    near = base.replace("很开心", "特开心")
    other = "长江是中国第一长河，全长约六千三百公里，流经十一个省级行政区，最后注入东海。"
    f = _write(tmp_path / "n.txt", [base, other, near])
    plain = run_clean(_cfg(tmp_path, [f], name="plain", fmt="text"))
    assert plain["kept"] == 3
    rep = run_clean(_cfg(tmp_path, [f], name="near", fmt="text", near_dup=True, near_dup_threshold=0.7))
    _assert_identity(rep)
    assert rep["dropped"] == {"near_duplicate": 1}
    assert sorted(_texts(tmp_path / "near")) == sorted([base, other])


def test_resume_after_kill_gives_same_bytes(tmp_path, monkeypatch):
    folder = _corpus(tmp_path, copies=4)
    kw = dict(fmt="text", num_shards=2, valid_fraction=0.2, unit_bytes=250)
    clean_run = run_clean(_cfg(tmp_path, [folder], name="ref", **kw))
    expected = _shard_hashes(tmp_path / "ref")
    out = tmp_path / "resumed"

    with clean_stops_after("packages", 2), pytest.raises(RuntimeError, match="injected stop"):
        run_clean(_cfg(tmp_path, [folder], name="resumed", **kw))
    assert not (out / "report.json").exists() and (out / ".zooprep" / "work").exists()
    assert not list(out.glob("*.parquet"))

    calls = []
    real = pipeline.process_package

    def counting(package, config):
        calls.append(package.index)
        return real(package, config)

    monkeypatch.setattr(pipeline, "process_package", counting)
    with clean_stops_after("shards", 1), pytest.raises(RuntimeError, match="injected stop"):
        run_clean(_cfg(tmp_path, [folder], name="resumed", **kw))
    assert 0 not in calls and 1 not in calls  # the two finished packages were skipped
    assert len(calls) == clean_run["packages"] - 2
    assert not (out / "report.json").exists()

    calls.clear()
    report = run_clean(_cfg(tmp_path, [folder], name="resumed", **kw))
    assert calls == []  # every unit verified by checksum
    assert _shard_hashes(out) == expected
    assert report["files"] == clean_run["files"]
    assert not (out / ".zooprep" / "work").exists()


def test_crash_inside_unit_and_tampered_spill_are_redone(tmp_path):
    folder = _corpus(tmp_path)
    kw = dict(fmt="text", num_shards=2, unit_bytes=250)
    run_clean(_cfg(tmp_path, [folder], name="ref", **kw))
    expected = _shard_hashes(tmp_path / "ref")
    with clean_fails_in_unit(1, after=2), pytest.raises(RuntimeError, match="injected failure"):
        run_clean(_cfg(tmp_path, [folder], name="x", **kw))
    work = tmp_path / "x" / ".zooprep" / "work" / "packages"
    assert not (work / "pkg-000001" / "done.json").exists()
    # Damage a finished unit's spill: its checksum no longer verifies, so it must be redone.
    spill = work / "pkg-000000" / "records.arrow"
    spill.write_bytes(spill.read_bytes()[:-7])
    run_clean(_cfg(tmp_path, [folder], name="x", **kw))
    assert _shard_hashes(tmp_path / "x") == expected


def test_changed_options_restart_from_scratch(tmp_path):
    folder = _corpus(tmp_path)
    with clean_stops_after("packages", 1), pytest.raises(RuntimeError):
        run_clean(_cfg(tmp_path, [folder], name="o", fmt="text", unit_bytes=250, seed=1))
    a = run_clean(_cfg(tmp_path, [folder], name="o", fmt="text", unit_bytes=250, seed=2, num_shards=2))
    b = run_clean(_cfg(tmp_path, [folder], name="fresh", fmt="text", unit_bytes=250, seed=2, num_shards=2))
    assert _shard_hashes(tmp_path / "o") == _shard_hashes(tmp_path / "fresh")
    assert a["kept"] == b["kept"]
    # fewer shards on a rerun: the stale shard files zooprep wrote are removed; files that only look
    # like a killed run's temp files but were not written by zooprep are left alone
    (tmp_path / "o" / ".train-00001-of-00002.parquet.999.tmp").write_bytes(b"partial")
    (tmp_path / "o" / "rejects" / ".too_short.jsonl.999.tmp").write_bytes(b"partial")
    run_clean(_cfg(tmp_path, [folder], name="o", fmt="text", seed=2, num_shards=1, overwrite=True))
    assert sorted(p.name for p in (tmp_path / "o").rglob(".*.tmp")) == [
        ".too_short.jsonl.999.tmp", ".train-00001-of-00002.parquet.999.tmp"]
    assert sorted(p.name for p in (tmp_path / "o").glob("*.parquet")) == ["train-00000-of-00001.parquet"]


def test_layouts_uer_and_uer_sentences(tmp_path):
    doc = "第一句话在这里。第二句话！“第三句带引号。”\n第二段的内容也很重要"
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps({"text": doc}, ensure_ascii=False) + "\n"
                 + json.dumps({"text": "另一篇文档，只有一句话。"}, ensure_ascii=False) + "\n", encoding="utf-8")
    run_clean(_cfg(tmp_path, [f], name="uer", fmt="jsonl", text_field="text", layout="uer"))
    lines = (tmp_path / "uer" / "train-00000-of-00001.txt").read_text(encoding="utf-8").split("\n")
    assert lines == ["第一句话在这里。第二句话！“第三句带引号。”第二段的内容也很重要", "另一篇文档，只有一句话。", ""]
    run_clean(_cfg(tmp_path, [f], name="sent", fmt="jsonl", text_field="text", layout="uer-sentences"))
    text = (tmp_path / "sent" / "train-00000-of-00001.txt").read_text(encoding="utf-8")
    assert text == ("第一句话在这里。\n第二句话！\n“第三句带引号。”\n第二段的内容也很重要\n\n"
                    "另一篇文档，只有一句话。\n\n")


def test_datasets_loads_parquet_output(tmp_path):
    import datasets

    folder = _corpus(tmp_path)
    report = run_clean(_cfg(tmp_path, [folder], fmt="text", num_shards=2, valid_fraction=0.3))
    out = tmp_path / "out"
    cache = tmp_path / "hf-cache"
    by_dir = datasets.load_dataset("parquet", data_dir=str(out), cache_dir=str(cache))
    plain = datasets.load_dataset(str(out), cache_dir=str(cache))
    for ds in (by_dir, plain):
        assert set(ds) == {"train", "validation"}
        assert ds["train"].num_rows + ds["validation"].num_rows == report["kept"]
        assert set(ds["train"].column_names) == {"text", "source", "line", "meta"}
        assert isinstance(json.loads(ds["train"][0]["meta"]), dict)


def test_empty_validation_split_is_not_written(tmp_path):
    import datasets

    f = _write(tmp_path / "two.txt", DOCS[:2])
    report = run_clean(_cfg(tmp_path, [f], fmt="text", num_shards=3, valid_fraction=1e-9))
    assert {s["split"] for s in report["shards"]} == {"train"} and report["kept"] == 2
    assert not list((tmp_path / "out").glob("validation-*"))
    ds = datasets.load_dataset(str(tmp_path / "out"), cache_dir=str(tmp_path / "hf"))
    assert ds["train"].num_rows == 2  # empty train shards among non-empty ones load fine


def test_errors_are_clear(tmp_path):
    folder = _corpus(tmp_path)
    with pytest.raises(ZooprepError, match="lies inside the input"):
        run_clean(_cfg(tmp_path, [tmp_path], name="corpus/out", fmt="text"))
    assert not (folder / "out").exists()
    with pytest.raises(ZooprepError, match="unknown cleaning op"):
        run_clean(_cfg(tmp_path, [tmp_path], enable=("no_such_op",)))
    with pytest.raises(ZooprepError):
        run_clean(_cfg(tmp_path, [tmp_path / "missing.txt"]))
    proc = cli("clean", str(tmp_path / "nothing-*.txt"), "--out", str(tmp_path / "o"), timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error:") and "nothing-" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_list_ops_and_run(tmp_path):
    from typer.testing import CliRunner
    import typer

    from corpusprep.cleaning.command import clean

    app = typer.Typer()
    app.command()(clean)
    app.command("noop")(lambda: None)
    runner = CliRunner()
    listed = runner.invoke(app, ["clean", "--list-ops"])
    assert listed.exit_code == 0 and "emoticons" in listed.output and "weibo" in listed.output
    folder = _corpus(tmp_path)
    res = runner.invoke(app, ["clean", str(folder), "--format", "text", "--out", str(tmp_path / "c"), "--workers", "1",
                              "--disable", "exact_dup,char_spam", "--enable", "urls", "--num-shards", "2"])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "c" / "report.json").read_text(encoding="utf-8"))
    assert "duplicate" not in report["dropped"] and "char_spam" not in report["dropped"]
    assert report["options"]["disable"] == ["exact_dup", "char_spam"] and report["options"]["enable"] == ["urls"]
    assert "urls" in report["families"]["text"] and "exact_dup" not in report["families"]["text"]


def test_lone_surrogate_with_controls_off_is_counted(tmp_path, monkeypatch):
    """A text the output cannot hold (a lone surrogate) is dropped as undecodable, not a crash."""
    from corpusprep.records import Record

    def fake_read_unit(u):
        yield Record("正常的中文文本，足够长的一句话。", u.path, 1)
        yield Record("坏的\udcff代理字符，足够长的一句话。", u.path, 2)

    monkeypatch.setattr("corpusprep.readers.read.read_unit", fake_read_unit)
    f = _write(tmp_path / "s.txt", ["占位一", "占位二"])
    report = run_clean(_cfg(tmp_path, [f], fmt="text", disable=("controls",)))
    _assert_identity(report)
    assert report["dropped"] == {"undecodable": 1} and report["kept"] == 1
    sample = (tmp_path / "out" / "rejects" / "undecodable.jsonl").read_text(encoding="utf-8")
    assert json.loads(sample.splitlines()[0])["line"] == 2 and "udcff" in sample


def test_batch_boundaries_do_not_change_output(tmp_path, monkeypatch, corpora_dir):
    """Flushing mid-unit and across small files (tiny batches) gives the same bytes and counts."""
    from corpusprep.cleaning import unit as unit_mod

    inputs = [corpora_dir / "couplets", corpora_dir / "ancient" / "NiuTrans__Classical-Modern" / "古文原文" / "论语",
              corpora_dir / "cluecorpussmall" / "brightmart__albert_zh",
              corpora_dir / "weibo" / "CLUEbenchmark__CLUEmotionAnalysis2020",
              corpora_dir / "weibo" / "dbiir__UER-py" / "datasets" / "smp2020-ewect" / "usual"]
    kw = dict(num_shards=2, valid_fraction=0.2, near_dup=True)
    ref = run_clean(_cfg(tmp_path, inputs, name="ref", **kw))
    monkeypatch.setattr(unit_mod, "BATCH_DOCS", 3)
    small = run_clean(_cfg(tmp_path, inputs, name="small", **kw))
    assert ref["packages"] == small["packages"] == 1 and ref["units"] > 20
    assert _shard_hashes(tmp_path / "ref") == _shard_hashes(tmp_path / "small")
    assert ref["files"] == small["files"] and ref["dropped"] == small["dropped"]
    assert {"duplicate", "near_duplicate", "too_short", "char_spam"} <= set(ref["dropped"])
    for p in (tmp_path / "ref" / "rejects").iterdir():
        assert p.read_bytes() == (tmp_path / "small" / "rejects" / p.name).read_bytes()
