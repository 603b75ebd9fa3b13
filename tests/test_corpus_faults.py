"""Real corpora as they come (issue 11): per-file fault isolation, header-less tables, honest
decoding, and one `error:` line (or a counted reject) for every bad input, never a traceback."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from corpusprep.readers import FailureLog, plan_units, read_unit, read_unit_guarded
from corpusprep.records import Record, Reject

from conftest import REPO, cli
DOUBAN = "reviews/bbublm__Douban-Movie-Review-Dataset/data/top250/origin/douban_movie_xsk_1-5阿凡达.csv"


def one_error_line(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def headerless_douban(shared: Path, dest: Path) -> Path:
    body = (shared / "corpora" / DOUBAN).read_bytes().split(b"\n", 1)[1]  # the published file minus its header
    dest.write_bytes(body)
    return dest


# --- header-less tables ------------------------------------------------------------------------
def test_headerless_douban_csv_text_column_inferred(tmp_path, shared_dir):
    p = headerless_douban(shared_dir, tmp_path / "avatar.csv")
    units = plan_units([str(p)])
    assert units[0].option("csv_header") is False and units[0].option("text_field") == "col2"
    assert "most Chinese characters" in units[0].option("text_choice")
    items = list(read_unit(units[0]))
    assert all(isinstance(i, Record) for i in items) and len(items) == 98  # the published file has 98 rows
    assert items[0].text.strip() == "James Cameron闭上眼，全是电影的明天。" and items[0].line == 1
    assert items[0].meta["col0"] == "2009-12-23 13:17:28" and items[0].meta["col3"] == "4"
    by_index = list(read_unit(plan_units([str(p)], text_field="4")[0]))  # --text-field as a 0-based index
    assert by_index[0].text == "推荐"
    with_header = list(read_unit(plan_units([str(shared_dir / "corpora" / DOUBAN)])[0]))
    assert [r.text for r in with_header] == [r.text for r in items]  # same rows as with the header


def test_header_without_known_text_column_is_inferred(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("id,body,score\n1,今天天气很好我们去公园,3\n2,这部电影非常好看推荐,5\n3,服务一般般吧,2\n",
                 encoding="utf-8")
    items = list(read_unit(plan_units([str(p)])[0]))
    assert [(r.text, r.line, r.meta) for r in items][0] == ("今天天气很好我们去公园", 2, {"id": "1", "score": "3"})


# --- decoding -----------------------------------------------------------------------------------
@pytest.mark.parametrize("codec,text", [
    ("big5", "這部電影真的很好看，演員的表演非常出色，劇情也很感人。我們下次還會再來看。\n"),
    ("cp932", "この映画はとても面白かったです。俳優の演技が素晴らしい。また見たいと思います。\n"),
    ("gb18030", "这部电影真的很好看，演员的表演非常出色，剧情也很感人。我们下次还会再来看。\n"),
])
def test_legacy_encodings_decode_correctly(tmp_path, codec, text):
    p = tmp_path / "t.txt"
    p.write_bytes((text * 20).encode(codec))
    units = plan_units([str(p)], fmt="text")
    items = list(read_unit(units[0]))
    assert [r.text for r in items] == [text.strip()] * 20  # never mojibake


def test_corrupt_gzip_member_rejects_its_records_and_small_corrupt_gz_is_a_failed_file(tmp_path):
    lines = "".join(f"第{i}行，正常的文本内容。\n" for i in range(2000)).encode()
    blob = bytearray(gzip.compress(lines))
    blob[len(blob) // 2] ^= 0x55  # damaged mid-stream: deflate may decode garbage until the CRC fails
    p = tmp_path / "bad.txt.gz"
    p.write_bytes(bytes(blob))
    items = list(read_unit(plan_units([str(p)])[0]))
    assert not any(isinstance(i, Record) for i in items)  # no garbage kept
    assert {i.reason for i in items} == {"corrupt_input"} and len(items) >= 1000
    tiny = tmp_path / "tiny.txt.gz"
    tiny.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage!")
    log = FailureLog()
    assert plan_units([str(tiny), str(tmp_path / "bad.txt.gz")], failures=log)
    assert [f.path for f in log.failed] == [str(tiny)] and "corrupt" in log.failed[0].reason


def test_one_line_json_array_over_the_line_limit_counts_its_records(tmp_path):
    objs = [{"title": f"t{i}", "paragraphs": ["床前明月光，疑是地上霜。" * 4]} for i in range(110_000)]
    p = tmp_path / "poems.json"
    p.write_text(json.dumps(objs, ensure_ascii=False), encoding="utf-8")  # one line, ~17 MB > 16 MB
    assert p.stat().st_size > 16 << 20
    items = list(read_unit(plan_units([str(p)], fmt="poems")[0]))
    assert len(items) == 110_000 and all(isinstance(i, Record) for i in items)


def test_deep_json_and_lone_surrogates_are_counted_rejects(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000  # far past any parser's recursion limit
    p = tmp_path / "d.jsonl"
    p.write_text('{"text": "好"}\n{"text": "x", "k": %s}\n{"text": "坏\\udfff"}\n{"t\\udfff": "v", "text": "a"}\n'
                 '{"text": "尾"}\n' % deep, encoding="utf-8")
    items = list(read_unit_guarded(plan_units([str(p)], fmt="jsonl", text_field="text")[0]))
    assert [(type(i).__name__, getattr(i, "reason", None), i.line) for i in items] == [
        ("Record", None, 1), ("Reject", "bad_json", 2), ("Reject", "undecodable", 3), ("Reject", "undecodable", 4),
        ("Record", None, 5)]
    arr = tmp_path / "a.json"
    arr.write_text('[{"paragraphs": %s}, {"paragraphs": ["床前明月光"]}]' % deep, encoding="utf-8")
    items = list(read_unit_guarded(plan_units([str(arr)], fmt="poems")[0]))
    assert [type(i).__name__ for i in items] == ["Reject", "Record"] and items[1].text == "床前明月光"


# --- per-file fault isolation, end to end -------------------------------------------------------
def _mixed_folder(root: Path, shared_dir: Path, bad: bool) -> Path:
    d = root / ("mixed" if bad else "good")
    d.mkdir()
    for family in sorted(os.listdir(shared_dir / "corpora")):
        if (shared_dir / "corpora" / family).is_dir():
            (d / family).symlink_to(shared_dir / "corpora" / family)  # every shared corpus family
    headerless_douban(shared_dir, d / "douban_avatar.csv")
    if bad:
        blob = bytearray(gzip.compress("一些文本\n".encode() * 500))
        blob[12] ^= 0xFF
        (d / "corrupt.txt.gz").write_bytes(bytes(blob[:40]))  # small and corrupt
        (d / "unreadable.txt").symlink_to(root / "nowhere")  # tests run as root: chmod 000 reads fine
        os.mkfifo(d / "pipe.txt")  # would block a naive open()
    return d


def test_clean_mixed_folder_finishes_keeps_good_records_and_names_failures(tmp_path, shared_dir):
    good = cli("clean", _mixed_folder(tmp_path, shared_dir, False), "--out", tmp_path / "o-good")
    assert good.returncode == 0, good.stderr
    mixed_dir = _mixed_folder(tmp_path, shared_dir, True)
    mixed = cli("clean", mixed_dir, "--out", tmp_path / "o-mixed")
    assert mixed.returncode == 3, mixed.stderr  # finished, some inputs failed
    assert "Traceback" not in mixed.stderr
    g = json.loads((tmp_path / "o-good" / "report.json").read_text(encoding="utf-8"))
    m = json.loads((tmp_path / "o-mixed" / "report.json").read_text(encoding="utf-8"))
    failed = {Path(f["path"]).name: f for f in m["failed_files"]}
    assert set(failed) == {"corrupt.txt.gz", "unreadable.txt", "pipe.txt"}
    assert "corrupt" in failed["corrupt.txt.gz"]["reason"] and failed["corrupt.txt.gz"]["bytes"] == 40
    assert "dangling" in failed["unreadable.txt"]["reason"] and "FIFO" in failed["pipe.txt"]["reason"]
    for name in failed:
        assert f"failed: {mixed_dir / name}" in mixed.stderr
    assert (m["read"], m["kept"], m["dropped"]) == (g["read"], g["kept"], g["dropped"])  # every good record
    assert m["read"] == m["kept"] + sum(m["dropped"].values())
    assert m["inputs"]["files"] == m["inputs"]["read"] + m["inputs"]["failed"] and m["inputs"]["failed"] == 3
    rel = {os.path.relpath(k, mixed_dir): v for k, v in m["files"].items()}
    d = rel["douban_avatar.csv"]
    assert (d["family"], d["layout"], d["encoding"], d["text_field"], d["header"]) == ("csv", "csv", "utf-8", "col2", False)
    assert d["read"] == 98
    assert {v["family"] for v in m["files"].values()} >= {"weibo", "reviews", "poems", "couplets", "lyrics", "ancient",
                                                          "cluecorpussmall"}


def test_on_error_modes(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.txt").write_text("第一篇文章的内容足够长了吧。\n", encoding="utf-8")
    (d / "b.txt.gz").write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage!")
    (d / "c.txt").write_text("第二篇文章的内容也足够长了。\n", encoding="utf-8")
    cont = cli("clean", d, "--out", tmp_path / "o1")
    assert cont.returncode == 3 and f"failed: {d / 'b.txt.gz'}: " in cont.stderr and "Traceback" not in cont.stderr
    rep = json.loads((tmp_path / "o1" / "report.json").read_text(encoding="utf-8"))
    assert rep["kept"] == 2 and [f["path"] for f in rep["failed_files"]] == [str(d / "b.txt.gz")]
    skip = cli("clean", d, "--out", tmp_path / "o2", "--on-error", "skip")
    assert skip.returncode == 0 and "failed: " in skip.stderr
    fail = cli("clean", d, "--out", tmp_path / "o3", "--on-error", "fail")
    one_error_line(fail, "b.txt.gz")  # the first failure stops the run
    assert not (tmp_path / "o3" / "report.json").exists()
    one_error_line(cli("clean", d, "--out", tmp_path / "o4", "--on-error", "maybe"), "--on-error")


def test_corpus_commands_isolate_failed_files(tmp_path, shared_dir):
    good = tmp_path / "good.txt"
    good.write_text("北京大学\n上海交通大学\n", encoding="utf-8")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    vocab = shared_dir / "reference"
    for args in (["build-vocab", good, tmp_path / "broken.parquet", "--out", tmp_path / "v.txt"],):
        proc = cli(*args)
        assert proc.returncode == 3 and "failed: " in proc.stderr and "broken.parquet" in proc.stderr, proc.stderr
    rep = json.loads((tmp_path / "v.txt.report.json").read_text(encoding="utf-8"))
    assert [Path(f["path"]).name for f in rep["corpus"]["failed_files"]] == ["broken.parquet"]
    shard = cli("shard", good, tmp_path / "broken.parquet", "--out", tmp_path / "s", "--vocab", tmp_path / "v.txt",
                "--seq-len", "8", "--workers", "1")
    assert shard.returncode == 3, shard.stderr
    meta = json.loads((tmp_path / "s" / "zooprep.json").read_text(encoding="utf-8"))
    assert meta["counts"]["documents"] == 2 and len(meta["failed_files"]) == 1
    del vocab


def test_shard_refuses_a_raw_table_and_points_to_clean(tmp_path):
    table = tmp_path / "train.tsv"
    table.write_text("label\ttext_a\n1\t今天天气很好\n0\t这部电影很难看\n1\t服务很周到\n", encoding="utf-8")
    vocab = tmp_path / "v.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"今天气很好"]) + "\n", encoding="utf-8")
    proc = cli("shard", table, "--out", tmp_path / "s", "--vocab", vocab, "--seq-len", "8")
    one_error_line(proc, "train.tsv", "zooprep clean")


# --- defect 7: one line, never a traceback -------------------------------------------------------
def test_bad_inputs_and_options_are_one_error_line(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("一二一二\n二一二一\n", encoding="utf-8")
    vocab = tmp_path / "v.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n一\n二\n", encoding="utf-8")
    no_pad = tmp_path / "nopad.txt"
    no_pad.write_text("[UNK]\n[CLS]\n[SEP]\n[MASK]\n一\n二\n", encoding="utf-8")
    no_mask = tmp_path / "nomask.txt"
    no_mask.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n一\n二\n", encoding="utf-8")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": [1, 2]}), tmp_path / "ints.parquet")
    pq.write_table(pa.table({"text": pa.array([b"x"], pa.binary())}), tmp_path / "bin.parquet")
    os.mkfifo(tmp_path / "fifo")
    odd = os.fsdecode(bytes(tmp_path / "x") + b"\xff\xfe.txt")
    with open(odd, "w", encoding="utf-8") as fh:
        fh.write("文本\n")
    out = tmp_path / "o"
    shard = ["shard", corpus, "--out", out, "--seq-len", "8"]
    cases = [
        (shard + ["--vocab", no_pad], ["nopad.txt", "[PAD]"]),
        (shard + ["--vocab", no_mask], ["nomask.txt", "[MASK]"]),
        (["shard", tmp_path / "ints.parquet", "--out", out, "--vocab", vocab], ["ints.parquet", "int64"]),
        (["shard", tmp_path / "bin.parquet", "--out", out, "--vocab", vocab], ["bin.parquet", "binary"]),
        (["shard", corpus, "--out", out, "--vocab", vocab, "--seq-len", "4294967296"], ["--seq-len"]),
        (shard + ["--vocab", vocab, "--workers", "-1"], ["--workers"]),
        (shard + ["--vocab", "/dev/zero"], ["/dev/zero", "not a regular file"]),
        (shard + ["--vocab", tmp_path / "fifo"], ["fifo", "not a regular file"]),
        (shard + ["--spm", tmp_path / "fifo"], ["fifo", "not a regular file"]),
        (["clean", corpus, "--out", out, "--unit-mb", "nan"], ["--unit-mb"]),
        (["clean", corpus, "--out", out, "--min-chinese-share", "nan"], ["--min-chinese-share"]),
        (["clean", corpus, "--out", out, "--workers", "-1"], ["--workers"]),
        (["clean", corpus, "--out", ""], ["--out"]),
        (["clean", odd, "--out", out], ["not valid UTF-8"]),
        (["build-vocab", odd, "--out", tmp_path / "v2.txt"], ["not valid UTF-8"]),
        (["shard", odd, "--out", out, "--vocab", vocab], ["not valid UTF-8"]),
    ]
    for args, needles in cases:
        one_error_line(cli(*args), *needles)


def test_errors_without_a_file_name_get_the_command_path(monkeypatch, capsys):
    import errno

    import cli as cli_module

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cli_module, "app", full)
    monkeypatch.setattr(sys, "argv", ["zooprep", "clean", "in/", "--out", "out/dir"])
    with pytest.raises(SystemExit) as stop:
        cli_module.main()
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == "error: out/dir: No space left on device"

    import pyarrow as pa

    def flat(*a, **k):
        raise pa.ArrowInvalid("Invalid flatbuffers message.")

    monkeypatch.setattr(cli_module, "app", flat)
    monkeypatch.setattr(sys, "argv", ["zooprep", "inspect", "shards/"])
    with pytest.raises(SystemExit):
        cli_module.main()
    assert capsys.readouterr().err.strip() == "error: shards/: Invalid flatbuffers message."


def test_unreadable_sub_folder_is_named_not_skipped(tmp_path, monkeypatch):
    d = tmp_path / "corpus"
    (d / "ok").mkdir(parents=True)
    (d / "locked").mkdir()
    (d / "ok" / "a.txt").write_text("一\n", encoding="utf-8")
    (d / "locked" / "b.txt").write_text("二\n", encoding="utf-8")
    real = os.scandir

    def scandir(path="."):  # tests run as root, where chmod 000 does not stop reading
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    log = FailureLog()
    units = plan_units([str(d)], fmt="text", failures=log)
    assert [u.path for u in units] == [str(d / "ok" / "a.txt")]
    assert [(f.path, f.reason) for f in log.failed] == [
        (str(d / "locked"), "cannot list folder: Permission denied; its files were not read")]


def test_text_field_index_for_tsv(tmp_path):
    p = tmp_path / "l.tsv"
    p.write_text("1\t好评如潮\n0\t差评\n", encoding="utf-8")
    assert [r.text for r in read_unit(plan_units([str(p)], text_field="1")[0])] == ["好评如潮", "差评"]
    assert [r.text for r in read_unit(plan_units([str(p)], text_field="0")[0])] == ["1", "0"]
    h = tmp_path / "h.tsv"
    h.write_text("label\ttext_a\n1\t好评如潮\n", encoding="utf-8")
    assert [r.text for r in read_unit(plan_units([str(h)], text_field="0")[0])] == ["1"]
