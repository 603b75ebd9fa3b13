"""Fuzz every reader with random bytes, truncations, encodings and compressions (derandomised,
bounded): no traceback ever, every item is a Record / Reject / one final Failure, texts can be
written as UTF-8, and `clean` on the same file adds up (read = kept + dropped; files = read + failed).
Also random option values: accepted or one ZooprepError, nothing else."""
from __future__ import annotations

import bz2
import gzip
import lzma
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpusprep import options
from corpusprep.errors import ZooprepError
from corpusprep.readers import FailureLog, plan_units, read_unit_guarded
from corpusprep.readers.reasons import READER_REJECTS
from corpusprep.records import Failure, Record, Reject

# (file name, family, valid content): one per reader layout
SEEDS = [
    ("doc.txt", "text", "第一行文字\n第二行，文字。\n\n第三行\n"),
    ("docs.txt", "text-blank", "第一篇\n第二句\n\n第二篇\n"),
    ("clue.txt", "cluecorpussmall", "一篇文章在一行里。\n另一篇。\n"),
    ("w.jsonl", "weibo", '{"id": 1, "content": "微博内容", "label": "happy"}\n{"content": "第二条"}\n'),
    ("n.jsonl", "news2016zh", '{"news_id": "1", "title": "标题", "content": "正文"}\n'),
    ("t.tsv", "reviews", "label\ttext_a\n1\t好评\n0\t差评\n"),
    ("l.tsv", "reviews", "1\t好评\n0\t差评\n"),
    ("r.csv", "reviews", 'label,review\n1,"好，很好"\n0,"多\n行"\n'),
    ("h.csv", "csv", '"\n 2009-12-23\n ",用户,这部电影很好看,5\n"\n 2010-01-01\n",乙,一般般吧,3\n'),
    ("p.json", "poems", '[{"title": "静夜思", "paragraphs": ["床前明月光，", "疑是地上霜。"]}, {"paragraphs": ["二"]}]'),
    ("s.txt", "lyrics", "第一句歌词\n第二句\n\n另一首\n"),
]
ENCODINGS = ["utf-8", "utf-8-sig", "gb18030", "big5", "cp932", "utf-16"]
COMPRESSIONS = ["", ".gz", ".bz2", ".xz"]
_COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


@st.composite
def corpus_files(draw):
    name, family, text = draw(st.sampled_from(SEEDS))
    codec = draw(st.sampled_from(ENCODINGS))
    data = text.encode(codec, errors="replace")
    if draw(st.booleans()):  # random damage: flipped / inserted bytes
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, max(0, len(data))))
            data = data[:at] + draw(st.binary(min_size=1, max_size=6)) + data[at + 1:]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]  # random truncation
    comp = draw(st.sampled_from(COMPRESSIONS))
    if comp:
        data = _COMPRESS[comp](data)
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]  # truncated / damaged compressed stream
        elif draw(st.booleans()) and len(data) > 12:
            at = draw(st.integers(10, len(data) - 1))
            data = data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1:]
    fmt = draw(st.sampled_from(["auto", family]))
    return name + comp, fmt, data


def _read_all(path: str, fmt: str) -> tuple[list, FailureLog]:
    log = FailureLog()
    items = []
    for unit in plan_units([path], fmt=fmt, text_field=None, unit_bytes=7, failures=log):
        items.extend(read_unit_guarded(unit))
    return items, log



@settings(max_examples=220, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=corpus_files())
def test_readers_never_raise(tmp_path, case):
    name, fmt, data = case
    p = tmp_path / name
    p.write_bytes(data)
    items, log = _read_all(str(p), fmt)  # must not raise
    fails = [i for i in items if isinstance(i, Failure)]
    assert all(isinstance(i, (Record, Reject, Failure)) for i in items)
    assert len(fails) <= 1 and (not fails or items[-1] is fails[0])
    assert not any("reader error" in f.reason for f in fails + log.failed), (fails, log.failed)
    for i in items:
        if isinstance(i, Reject):
            assert i.reason in READER_REJECTS, i.reason  # one documented list of reasons
        if isinstance(i, Record):
            i.text.encode("utf-8")  # writable: no lone surrogates, no mojibake bytes
            assert i.line >= 1


@settings(max_examples=12, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(corpus_files(), min_size=1, max_size=3))
def test_clean_accounting_holds_for_random_inputs(tmp_path_factory, cases):
    from corpusprep.cleaning.config import CleanConfig
    from corpusprep.cleaning.pipeline import run_clean

    d = tmp_path_factory.mktemp("in")
    for k, (name, _, data) in enumerate(cases):
        (d / f"{k}-{name}").write_bytes(data)
    out = tmp_path_factory.mktemp("out") / "o"
    try:
        rep = run_clean(CleanConfig(inputs=(str(d),), out=str(out), workers=1, unit_bytes=7))
    except ZooprepError as exc:  # nothing readable at all: one clear error naming the file(s)
        assert str(d) in str(exc)
        return
    assert rep["read"] == rep["kept"] + sum(rep["dropped"].values())
    assert rep["inputs"]["files"] == rep["inputs"]["read"] + rep["inputs"]["failed"] == len(cases)
    for f in rep["files"].values():
        assert f["read"] == f["kept"] + sum(f["dropped"].values())


@settings(max_examples=200, derandomize=True, deadline=None)
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**70, 2**70),
                       st.text(max_size=5), st.none(), st.booleans()))
def test_option_checks_accept_or_refuse_in_one_line(value):
    for check in (lambda v: options.number("--x", v, 0, 1), lambda v: options.unit_bytes_of(v),
                  lambda v: options.integer("--n", v, 1, 10), lambda v: options.workers(v),
                  lambda v: options.out_path(v)):
        try:
            got = check(value)
        except ZooprepError as exc:
            assert "\n" not in str(exc)
            continue
        if isinstance(got, float):
            assert math.isfinite(got)


def test_every_reject_reason_is_documented():
    from conftest import REPO

    doc = (REPO / "docs" / "readers.md").read_text(encoding="utf-8")
    assert all(f"`{reason}`" in doc for reason in READER_REJECTS)
