"""Issue 20, silent wrong data (defects 5-8, 10-12): inputs are what they claim, success means success."""
from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpusprep.cleaning.config import CleanConfig
from corpusprep.cleaning.pipeline import run_clean
from corpusprep.errors import InputError, ZooprepError
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.pipeline import run_shard
from corpusprep.readers.failures import FailureLog
from zh_tokenizers.build_vocab_run import BuildVocabConfig, run_build_vocab

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
DOCS = ["今天天气很好我们一起去公园散步。", "机器学习是人工智能的一个分支。", "北京是中国的首都长江很长。"]


def _text(n: int = 30) -> str:
    return "".join(f"{DOCS[i % 3]}第{i}号。\n" for i in range(n))


def _clean(inputs, out, **kw) -> dict:
    kw.setdefault("workers", 1)
    kw.setdefault("progress", False)
    return run_clean(CleanConfig(inputs=tuple(str(i) for i in inputs), out=str(out), **kw))


@pytest.fixture()
def vocab(tmp_path) -> Path:
    p = tmp_path / "vocab.txt"
    p.write_text("\n".join(SPECIAL + sorted(set("".join(DOCS) + "第号0123456789"))) + "\n", encoding="utf-8")
    return p


# -- defect 5: archives, Parquet and zooprep output directories are not text ---------------------------------
def test_archives_are_refused_in_one_line_never_read_as_text(tmp_path):
    body = _text().encode()
    zpath = tmp_path / "a.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("b.txt", body)
    for name, mode in (("a.tar", "w"), ("a.tar.gz", "w:gz")):
        with tarfile.open(tmp_path / name, mode) as t:
            info = tarfile.TarInfo("b.txt")
            info.size = len(body)
            t.addfile(info, io.BytesIO(body))
    (tmp_path / "a.7z").write_bytes(b"7z\xbc\xaf\x27\x1c" + b"\0" * 64)
    for name, what in (("a.zip", "zip archive"), ("a.tar", "tar archive"), ("a.tar.gz", "tar archive"),
                       ("a.7z", "7z archive")):
        with pytest.raises(InputError, match=what):
            _clean([tmp_path / name], tmp_path / f"out-{name}")
        with pytest.raises(InputError, match=what):
            run_build_vocab(BuildVocabConfig(corpus=[str(tmp_path / name)], out=tmp_path / f"v-{name}.txt", workers=1))


def test_clean_reads_parquet_as_a_table_and_a_clean_output_as_its_shards(tmp_path):
    table = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": DOCS, "id": [1, 2, 3]}), table)
    assert _clean([table], tmp_path / "c1")["kept"] == 3
    src = tmp_path / "src.txt"
    src.write_text(_text() + "短\n" * 5 + "<html>x</html>\n", encoding="utf-8")
    first = _clean([src], tmp_path / "c2", num_shards=2)
    assert first["dropped"] and list((tmp_path / "c2" / "rejects").glob("*.jsonl"))
    again = _clean([tmp_path / "c2"], tmp_path / "c3")  # its train shards only: no rejects/*.jsonl samples
    assert again["read"] == first["kept"] and again["kept"] == first["kept"]


def test_a_shard_output_given_to_clean_is_refused(tmp_path, vocab):
    src = tmp_path / "src.txt"
    src.write_text(_text(), encoding="utf-8")
    run_shard(ShardConfig(corpus=(src,), out=tmp_path / "s", vocab=vocab, seq_len=16, workers=1, show_progress=False))
    with pytest.raises(InputError, match="holds no corpus text"):
        _clean([tmp_path / "s"], tmp_path / "c")


# -- defect 6: the same file named several ways is read once by every command ---------------------------------
def test_one_file_named_several_ways_is_read_once(tmp_path, vocab, monkeypatch):
    src = tmp_path / "a.txt"
    src.write_text(_text(), encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(src)
    monkeypatch.chdir(tmp_path)
    names = ["a.txt", "./a.txt", str(src), "link.txt"]
    run_build_vocab(BuildVocabConfig(corpus=names, out=tmp_path / "v.txt", workers=1))
    report = json.loads((tmp_path / "v.txt.report.json").read_text())
    assert report["corpus"]["texts"] == 30 and len(report["corpus"]["files"]) == 1
    many = run_shard(ShardConfig(corpus=tuple(map(Path, names)), out=tmp_path / "s1", vocab=vocab, seq_len=16,
                                 workers=1, show_progress=False))
    one = run_shard(ShardConfig(corpus=(src,), out=tmp_path / "s2", vocab=vocab, seq_len=16, workers=1,
                                show_progress=False))
    assert many.meta["counts"]["documents"] == one.meta["counts"]["documents"] == 30


# -- defect 7: a reader never takes a mix of two runs of its input -------------------------------------------
def test_an_input_output_rewritten_while_read_fails_the_reader(tmp_path, vocab, monkeypatch):
    from corpusprep.instances import pipeline

    src = tmp_path / "src.txt"
    src.write_text(_text(), encoding="utf-8")
    _clean([src], tmp_path / "c", num_shards=2)
    real = pipeline.refuse_empty

    def rewrite_meanwhile(*a, **k):  # another `clean --out c` finishes while this shard reads c
        _clean([src], tmp_path / "c", num_shards=3, overwrite=True)  # other options: the rerun rule wants --overwrite
        return real(*a, **k)

    monkeypatch.setattr(pipeline, "refuse_empty", rewrite_meanwhile)
    with pytest.raises(InputError, match="rewritten by another zooprep run while this run read it"):
        run_shard(ShardConfig(corpus=(tmp_path / "c",), out=tmp_path / "s", vocab=vocab, seq_len=16, workers=1,
                              show_progress=False))
    assert not (tmp_path / "s" / ".zooprep" / "complete.json").exists()


# -- defect 8: inspect decodes with the recorded tokenizer only, found from any folder ------------------------
def test_inspect_finds_the_recorded_vocab_by_content_from_any_folder(tmp_path, vocab, monkeypatch):
    from corpusprep.instances.inspect_dir import InspectOptions, inspect_dir

    src = tmp_path / "src.txt"
    src.write_text(_text(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    run_shard(ShardConfig(corpus=(src,), out=Path("s"), vocab=Path("vocab.txt"), seq_len=16, workers=1,
                          show_progress=False))
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "vocab.txt").write_text("\n".join(SPECIAL + ["甲"] * 1 + list("乙丙丁")) + "\n", encoding="utf-8")
    monkeypatch.chdir(other)  # a different vocab.txt at the recorded relative path
    text = inspect_dir(tmp_path / "s", opts=InspectOptions(n=1))
    assert "今天" in text or "机器" in text or "北京" in text
    with pytest.raises(ZooprepError, match="not the tokenizer this shard was built with"):
        inspect_dir(tmp_path / "s", opts=InspectOptions(n=1, vocab=other / "vocab.txt"))


# -- defect 10: 0 instances, an empty vocab, nothing read are errors -----------------------------------------
def test_success_means_something_was_made(tmp_path, vocab):
    src = tmp_path / "plain.txt"
    src.write_text(_text(), encoding="utf-8")
    with pytest.raises(ZooprepError, match="0 instances for --processor prefixlm"):
        run_shard(ShardConfig(corpus=(src,), out=tmp_path / "s", vocab=vocab, seq_len=16, processor="prefixlm",
                              workers=1, show_progress=False))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(ZooprepError, match="no text to count"):
        run_build_vocab(BuildVocabConfig(corpus=[str(empty)], out=tmp_path / "v.txt", workers=1))
    assert not (tmp_path / "v.txt").exists()
    with pytest.raises(ZooprepError, match=r"--max-size must be in \[105, inf\]"):
        run_build_vocab(BuildVocabConfig(corpus=[str(src)], out=tmp_path / "v.txt", max_size=1, workers=1))
    run_build_vocab(BuildVocabConfig(corpus=[str(src)], out=tmp_path / "v.txt", max_size=110, workers=1))
    assert len((tmp_path / "v.txt").read_text().splitlines()) == 110
    table = tmp_path / "t.tsv"
    table.write_text("label\ttext\n1\t好\n", encoding="utf-8")
    with pytest.raises(ZooprepError):  # every file failing is an error line, not exit 3 with an empty dataset
        _clean([table], tmp_path / "c", text_field="-1")
    assert not (tmp_path / "c" / ".zooprep" / "complete.json").exists()


def test_encodings_that_are_not_charsets_are_refused(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text(_text(), encoding="utf-8")
    for enc in ("rot13", "base64"):
        with pytest.raises(ZooprepError, match="not a text encoding"):
            _clean([src], tmp_path / f"c-{enc}", encoding=enc, on_error="fail")


# -- defect 11: a sharded set with members missing --------------------------------------------------------------
def test_a_set_with_members_missing_is_named(tmp_path):
    from corpusprep.readers.inputs import expand_inputs

    d = tmp_path / "d"
    d.mkdir()
    for i in (0, 1, 3):
        (d / f"part-{i:05d}-of-00004.txt").write_text(_text(3), encoding="utf-8")
    log = FailureLog("continue")
    files = expand_inputs([str(d)], log)
    assert len(files) == 3 and len(log.failed) == 1
    assert "part-00002-of-00004.txt" in log.failed[0].path and "3 of the 4" in log.failed[0].reason
    with pytest.raises(InputError, match="missing from its set"):
        expand_inputs([str(d)], FailureLog("fail"))
    (d / "part-00002-of-00004.txt").write_text(_text(3), encoding="utf-8")
    log = FailureLog("continue")
    assert len(expand_inputs([str(d)], log)) == 4 and not log.failed


# -- defect 12: an input cut short while it is read is a failed file, never exit 0 ----------------------------
def test_a_file_truncated_while_read_is_a_failure(tmp_path):
    from corpusprep.readers.read import read_unit_guarded
    from corpusprep.readers.units import WorkUnit
    from corpusprep.records import Failure

    src = tmp_path / "a.txt"
    src.write_text(_text(2000), encoding="utf-8")
    unit = WorkUnit(0, str(src), "text", "utf-8", 0, None, None, (("layout", "lines"),))
    items = []
    for n, item in enumerate(read_unit_guarded(unit)):
        items.append(item)
        if n == 10:
            with open(src, "r+b") as fh:
                fh.truncate(4096)
    assert isinstance(items[-1], Failure) and "changed while it was read" in items[-1].reason
    whole = list(read_unit_guarded(unit))
    assert not any(isinstance(i, Failure) for i in whole)


# -- defects 14-15: bounded memory whatever the line length, options that cannot work refused ----------------
def test_many_tiny_inputs_give_few_data_files(tmp_path, vocab, monkeypatch):
    from corpusprep.instances import shard_parts

    monkeypatch.setattr(shard_parts, "JOIN_ABOVE_PARTS", 20)  # (the real bound, 256 parts, is slow to reach here)
    d = tmp_path / "many"
    d.mkdir()
    for i in range(60):
        (d / f"f{i:03d}.txt").write_text(_text(3), encoding="utf-8")
    res = run_shard(ShardConfig(corpus=(d,), out=tmp_path / "s", vocab=vocab, seq_len=16, workers=1,
                                show_progress=False))
    assert res.meta["counts"]["documents"] == 180
    assert len(list((tmp_path / "s").glob("data-*.arrow"))) == 1 and len(res.meta["files"]) == 1
    from corpusprep.verify import verify_dir

    assert verify_dir(tmp_path / "s").ok
    import datasets

    assert len(datasets.load_from_disk(str(tmp_path / "s"))) == sum(f["rows"] for f in res.meta["files"])


def test_planning_a_long_line_never_holds_it(tmp_path):
    import tracemalloc

    from corpusprep.corpus_input import LINE, _text_spans

    src = tmp_path / "long.txt"
    with open(src, "w", encoding="utf-8") as fh:
        fh.write("短句。\n" * 10 + "很" * (8 << 20) + "\n" + "短句。\n" * 10)
    tracemalloc.start()
    spans = _text_spans(str(src), src.stat().st_size, 1 << 20, LINE)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert spans[0][0] == 0 and spans[-1][1] == src.stat().st_size
    assert peak < 8 << 20  # the 24 MB line was scanned in 1 MB pieces


@pytest.mark.parametrize("kw, message", [
    (dict(unit_mb=1e-9), "--unit-mb must be in"),
    (dict(span_masking=True, span_max_length=100000), "--span-max-length must be in"),
])
def test_pathological_shard_options_are_refused_with_their_bound(tmp_path, vocab, kw, message):
    src = tmp_path / "a.txt"
    src.write_text(_text(), encoding="utf-8")
    with pytest.raises(ZooprepError, match=message):
        run_shard(ShardConfig(corpus=(src,), out=tmp_path / "s", vocab=vocab, seq_len=16, workers=1,
                              show_progress=False, **kw))


def test_num_shards_beyond_the_input_is_refused(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text(_text(), encoding="utf-8")
    with pytest.raises(ZooprepError, match="--num-shards must be in"):
        _clean([src], tmp_path / "c", num_shards=100000)
