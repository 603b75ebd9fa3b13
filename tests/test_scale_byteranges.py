"""Byte-range work units at awkward boundaries: every physical line lands in exactly one unit.

A large plain file is split into units [start, end); a unit owns the lines that START inside it.
Whatever the cut points (inside a 3-byte CJK character, a 4-byte emoji, between \\r and \\n, on an
empty line, at the last byte of a file without a final newline), concatenating the units' lines
must give exactly the whole file's lines.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpusprep.readers.lines import BadLine, unit_line_blocks
from corpusprep.readers.units import WorkUnit


def oracle_lines(data: bytes, encoding: str = "utf-8") -> list[str]:
    """What a file's lines are, by the simplest possible definition (independent of the readers)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data:
        return []
    pieces = data.split(b"\n")
    if data.endswith(b"\n"):
        pieces.pop()
    return [p[:-1].decode(encoding) if p.endswith(b"\r") else p.decode(encoding) for p in pieces]


def unit_lines(path: Path, start: int, end: int | None, encoding: str = "utf-8") -> list[str]:
    unit = WorkUnit(index=0, path=str(path), family="text", encoding=encoding, start=start, end=end)
    out: list[str] = []
    for _first, items in unit_line_blocks(unit):
        for item in items:
            assert not isinstance(item, BadLine), item
            out.append(item)
    return out


def split_lines(path: Path, cuts: list[int], encoding: str = "utf-8") -> list[list[str]]:
    bounds = [0] + sorted(set(c for c in cuts if 0 < c)) + [None]
    return [unit_lines(path, a, b, encoding) for a, b in zip(bounds, bounds[1:])]


AWKWARD = (
    "第一行有中文\n"
    "\n"                               # empty line
    "emoji 😀😀 四字节\r\n"            # CRLF after a 4-byte character
    "\r\n"                             # an empty CRLF line
    "x\n"
    "混合 mixed é ü\r\n"
    "\n\n"
    "最后一行没有换行"                  # no final newline
).encode("utf-8")


@pytest.fixture
def awkward_file(tmp_path) -> Path:
    p = tmp_path / "awkward.txt"
    p.write_bytes(AWKWARD)
    return p


def test_whole_file_matches_the_oracle(awkward_file):
    assert unit_lines(awkward_file, 0, None) == oracle_lines(AWKWARD)


def test_every_single_cut_point(awkward_file):
    """Two units, cut at every byte offset: inside characters, between \\r and \\n, on empty lines."""
    want = oracle_lines(AWKWARD)
    for cut in range(0, len(AWKWARD) + 2):
        parts = split_lines(awkward_file, [cut])
        assert sum(parts, []) == want, f"cut at byte {cut}"


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 13])
def test_tiny_units(awkward_file, size):
    """Units far smaller than a line: most own nothing, none loses or repeats a line."""
    parts = split_lines(awkward_file, list(range(size, len(AWKWARD) + size, size)))
    assert sum(parts, []) == oracle_lines(AWKWARD)
    if size == 1:  # a one-byte unit can hold at most the one line that starts in it
        assert all(len(p) <= 1 for p in parts)


def test_unit_starting_exactly_at_a_line_start_owns_that_line(awkward_file):
    second = AWKWARD.index(b"\n") + 1  # the empty second line starts here
    assert unit_lines(awkward_file, 0, second) == ["第一行有中文"]
    assert unit_lines(awkward_file, second, second + 1) == [""]


def test_units_past_the_end_are_empty(awkward_file):
    assert unit_lines(awkward_file, len(AWKWARD), None) == []
    assert unit_lines(awkward_file, len(AWKWARD) + 10, None) == []


@pytest.mark.parametrize("text", ["", "\n", "\n\n\n", "单行", "单行\n", "a\r\nb\r\n", "\r\n\r\n"])
def test_degenerate_files(tmp_path, text):
    p = tmp_path / "d.txt"
    data = text.encode()
    p.write_bytes(data)
    want = oracle_lines(data)
    for cut in range(len(data) + 1):
        assert sum(split_lines(p, [cut]), []) == want, (text, cut)


def test_gb18030_lines_split_like_utf8(tmp_path):
    """GB18030 trail bytes never equal '\\n', so byte-range cuts are just as safe."""
    text = "微博内容一\r\n第二条，带表情😀\r\n\r\n最后"
    data = text.encode("gb18030")
    p = tmp_path / "gb.csv"
    p.write_bytes(data)
    want = oracle_lines(data, "gb18030")
    for cut in range(len(data) + 1):
        assert sum(split_lines(p, [cut], "gb18030"), []) == want


def test_bom_belongs_to_the_first_unit_only(tmp_path):
    data = "\ufeff首行\n次行\n".encode("utf-8")
    p = tmp_path / "bom.txt"
    p.write_bytes(data)
    for cut in range(len(data) + 1):
        parts = split_lines(p, [cut], "utf-8-sig")
        assert sum(parts, []) == ["首行", "次行"], cut


LINE = st.text(alphabet=st.sampled_from(list("ab 中文字😀é\r,\t\"")), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, max_size=12), crlf=st.booleans(), final_newline=st.booleans(),
       cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=8))
def test_random_files_and_random_cuts(tmp_path_factory, lines, crlf, final_newline, cuts):
    # A '\r' may only sit inside a line or right before its '\n'; the oracle treats '\r\n' as one end.
    eol = "\r\n" if crlf else "\n"
    text = eol.join(l.replace("\r", "") for l in lines) + (eol if final_newline and lines else "")
    data = text.encode("utf-8")
    p = tmp_path_factory.mktemp("rand") / "f.txt"
    p.write_bytes(data)
    assert sum(split_lines(p, cuts), []) == oracle_lines(data)


def test_large_file_many_units_every_line_once(tmp_path):
    """A few MB, units of 64 KiB and of a prime size: no line lost or repeated at any boundary."""
    lines = [f"{i:06d}，第{i}行：" + "字" * (i % 97) + ("😀" if i % 5 == 0 else "") for i in range(40_000)]
    data = ("\r\n".join(lines[:20_000]) + "\r\n" + "\n".join(lines[20_000:])).encode()  # no final newline
    p = tmp_path / "big.txt"
    p.write_bytes(data)
    for size in (1 << 16, 100_003):
        parts = split_lines(p, list(range(size, len(data), size)))
        assert sum(parts, []) == lines
        assert sum(1 for part in parts if part) > len(data) // size // 2  # units really share the work


# --- `shard`'s own planner: text corpora cut at document starts -------------------------------
from corpusprep.instances import sources as shard_sources  # noqa: E402


def shard_docs(path: Path, layout: str, unit_bytes: int) -> tuple[list, list]:
    """(documents of all units concatenated, units) for one text file."""
    src = shard_sources.expand_corpus([path])
    units = shard_sources.plan_units(src, layout, unit_bytes)
    docs = []
    for u in units:
        tally = shard_sources.UnitTally()
        for d in shard_sources.read_documents(u, layout, tally):
            docs.append(d.text if layout == shard_sources.LINES else tuple(d.sentences))
    return docs, units


def oracle_docs(data: bytes, layout: str) -> list:
    lines = oracle_lines(data)
    if layout == shard_sources.LINES:
        return [l for l in lines if l.strip()]
    docs, cur = [], []
    for l in lines:
        if l.strip():
            cur.append(l)
        elif cur:
            docs.append(tuple(cur))
            cur = []
    if cur:
        docs.append(tuple(cur))
    return docs


SENTENCE_FILE = (
    "第一篇第一句。\n第一篇第二句😀！\r\n\n"
    "第二篇只有一句\n\n\n"                 # two empty lines between documents
    "第三篇：\u3000全角空格\n  \n"          # a whitespace-only line separates too
    "é 第四篇\r\n最后一句没有换行"
).encode()


@pytest.mark.parametrize("layout", [shard_sources.LINES, shard_sources.SENTENCES])
def test_shard_units_at_every_size_keep_every_document_once(tmp_path, layout):
    p = tmp_path / "corpus.txt"
    p.write_bytes(SENTENCE_FILE)
    want = oracle_docs(SENTENCE_FILE, layout)
    for unit_bytes in range(1, len(SENTENCE_FILE) + 2):
        docs, units = shard_docs(p, layout, unit_bytes)
        assert docs == want, (layout, unit_bytes)
        assert [u.start for u in units] == sorted({u.start for u in units})  # no overlapping units
        assert units[-1].end == len(SENTENCE_FILE)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(LINE, st.just("")), max_size=14), crlf=st.booleans(),
       final_newline=st.booleans(), unit_bytes=st.integers(min_value=1, max_value=64),
       layout=st.sampled_from([shard_sources.LINES, shard_sources.SENTENCES]))
def test_shard_random_corpora_random_unit_sizes(tmp_path_factory, lines, crlf, final_newline, unit_bytes, layout):
    eol = "\r\n" if crlf else "\n"
    text = eol.join(l.replace("\r", "") for l in lines) + (eol if final_newline and lines else "")
    data = text.encode("utf-8")
    p = tmp_path_factory.mktemp("shard") / "c.txt"
    p.write_bytes(data)
    docs, _ = shard_docs(p, layout, unit_bytes)
    assert docs == oracle_docs(data, layout)


# --- `clean`'s planner: plan_units + read_unit, records with their line numbers ----------------
from corpusprep.readers import plan_units, read_unit  # noqa: E402

from conftest import DEMO  # noqa: E402


def records_of(path: Path, fmt: str, unit_bytes: int) -> tuple[list, int]:
    units = plan_units([str(path)], fmt=fmt, unit_bytes=unit_bytes)
    out = []
    for u in units:
        for item in read_unit(u):
            out.append((type(item).__name__, getattr(item, "text", getattr(item, "reason", None)),
                        item.line, getattr(item, "meta", None)))
    return out, len(units)


def test_planner_every_unit_size_on_the_awkward_file(awkward_file):
    fmt = "text"  # one document per line, empty lines included (counted later by the filters)
    whole, n = records_of(awkward_file, fmt, 1 << 30)
    assert n == 1 and [r[1] for r in whole] == oracle_lines(AWKWARD)
    assert [r[2] for r in whole] == list(range(1, len(whole) + 1))  # physical line numbers
    for unit_bytes in range(1, len(AWKWARD) + 1):
        split, n = records_of(awkward_file, fmt, unit_bytes)
        assert split == whole, unit_bytes
        assert n == -(-len(AWKWARD) // unit_bytes)


@pytest.mark.parametrize("rel,fmt", [
    ("cluecorpussmall/clue_sampled.txt", "cluecorpussmall"),
    ("wiki2019zh/wiki_00", "wiki2019zh"),           # JSON lines
    ("weibo/train.tsv", "weibo"),                   # TSV with a header row only the first unit sees
    ("weibo/emotion_valid.txt", "weibo"),           # JSON lines with integer ids
    ("reviews/book_review_cls.txt", "reviews"),     # label<TAB>text, no header
    ("lyrics/lyrics.txt", "text"),
])
@pytest.mark.parametrize("unit_bytes", [61, 997, 4096])
def test_planner_on_demo_files(rel, fmt, unit_bytes):
    path = DEMO / rel
    whole, _ = records_of(path, fmt, 1 << 30)
    split, n = records_of(path, fmt, unit_bytes)
    assert n > 1 and split == whole
    assert len(whole) > 100


def test_planner_on_gb18030_crlf_lines(tmp_path):
    lines = [f"第{i}条微博，转发//@某人:好" + ("😀" if i % 3 else "") for i in range(300)]
    data = "\r\n".join(lines).encode("gb18030")  # CRLF and no final newline
    p = tmp_path / "gb.txt"
    p.write_bytes(data)
    whole, _ = records_of(p, "text", 1 << 30)
    assert [r[1] for r in whole] == lines
    for unit_bytes in (1, 7, 64, 1000):
        assert records_of(p, "text", unit_bytes)[0] == whole
