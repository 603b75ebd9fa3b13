"""corpusprep.corpus_input: the directory rule, unit plans, and reading exactly the lines a unit owns."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpusprep import corpus_input
from corpusprep.corpus_input import (BLANK_LINE, BYTES, LINE, PARQUET, TEXT, expand_corpus, plan_units,
                                     read_corpus_unit)
from corpusprep.readers.failures import FailureLog
from corpusprep.records import Record


def parquet_texts(path, start, end):
    """The text column of row groups [start, end), through the corpus readers."""
    from corpusprep.readers.units import WorkUnit

    unit = WorkUnit(0, str(path), "parquet", "", start, end, None, (("layout", "parquet"),))
    return [r.text or None for r in read_corpus_unit(unit)]
from corpusprep.errors import InputError


def _names(files, root):
    return [str(Path(f.path).relative_to(root)) for f in files]


def test_directory_rule(tmp_path):
    d = tmp_path / "corpus"
    (d / "b" / "deep").mkdir(parents=True)
    (d / ".work").mkdir()
    for rel in ("z.txt", "b/a.txt", "b/deep/c.txt", ".hidden.txt", ".work/x.txt"):
        (d / rel).write_text("一\n", encoding="utf-8")
    assert _names(expand_corpus([d]), d) == ["b/a.txt", "b/deep/c.txt", "z.txt"]  # recursive, hidden skipped
    (d / "b" / "train-00001-of-00002.txt").write_text("二\n", encoding="utf-8")
    (d / "train-00000-of-00002.txt").write_text("三\n", encoding="utf-8")
    assert _names(expand_corpus([d]), d) == ["b/train-00001-of-00002.txt", "train-00000-of-00002.txt"]
    table = pa.table({"text": ["四"]})
    pq.write_table(table, d / "other.parquet")
    assert _names(expand_corpus([d]), d) == ["other.parquet"]  # Parquet wins over text
    for name in ("train-00000-of-00001.parquet", "validation-00000-of-00001.parquet", ".work/train-9.parquet"):
        pq.write_table(table, d / name)
    files = expand_corpus([d, d / "z.txt"])  # clean's layout: train shards only, then a file as given
    assert _names(files, d) == ["train-00000-of-00001.parquet", "z.txt"]
    assert [f.kind for f in files] == [PARQUET, TEXT] and files[1].size == 4
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no .parquet or .txt"):
        expand_corpus([tmp_path / "empty"])
    with pytest.raises(InputError, match="no such file"):
        expand_corpus([tmp_path / "missing.txt"])
    log = FailureLog()  # with a log: every problem named, the rest taken
    files = expand_corpus([tmp_path / "missing.txt", d / "z.txt", tmp_path / "empty"], log)
    assert [f.path for f in files] == [str(d / "z.txt")]
    assert [(f.path, f.reason) for f in log.failed] == [
        (str(tmp_path / "missing.txt"), "no such file or folder"),
        (str(tmp_path / "empty"), "directory holds no .parquet or .txt corpus files")]


def _write(tmp_path, data: bytes):
    p = tmp_path / "c.txt"
    p.write_bytes(data)
    return expand_corpus([p])


LINE_TEXT = st.text(alphabet="a中😀\r \u2028", max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(LINE_TEXT, st.just("")), max_size=12), final_newline=st.booleans(),
       unit_bytes=st.integers(1, 40), cut=st.sampled_from([BYTES, LINE]))
def test_units_hold_every_line_once_with_its_number(tmp_path, lines, final_newline, unit_bytes, cut):
    # (changed: units are read by the corpus readers, so lines come back decoded, CRLF repaired and
    # numbered; the byte-level ownership rule is tested in test_readers_ranges.py)
    data = "\n".join(lines).encode() + (b"\n" if final_newline and lines else b"")
    files = _write(tmp_path, data)
    units = plan_units(files, unit_bytes, text_cut=cut)
    assert units[0].start == 0 and units[-1].end == len(data)
    assert all(a.end == b.start for a, b in zip(units, units[1:]))
    assert [u.index for u in units] == list(range(len(units)))
    assert all(u.size == u.end - u.start for u in units)
    got = [(r.line, r.text) for u in units for r in read_corpus_unit(u)]
    assert all(isinstance(r, Record) for u in units for r in read_corpus_unit(u))
    want = data.decode().split("\n")
    if want and want[-1] == "":
        want.pop()
    want = [w[:-1] if w.endswith("\r") else w for w in want]
    assert got == list(enumerate(want, 1))


def test_cut_modes_start_units_at_documents(tmp_path):
    data = "一\n二二\n\n三\n四\n\n五\n".encode()
    files = _write(tmp_path, data)
    assert [(u.start, u.end) for u in plan_units(files, 4)] == [(0, 4), (4, 8), (8, 12), (12, 16), (16, 20),
                                                                 (20, 24), (24, len(data))]
    starts = [u.start for u in plan_units(files, 4, text_cut=LINE)]
    assert all(s == 0 or data[s - 1:s] == b"\n" for s in starts) and len(starts) > 2
    starts = [u.start for u in plan_units(files, 4, text_cut=BLANK_LINE)]
    assert starts == [0, data.index(b"\n\n") + 2, data.rindex(b"\n\n") + 2]
    empty = _write(tmp_path, b"")
    assert [(u.start, u.end) for u in plan_units(empty, 4)] == [(0, 0)]


def test_parquet_units_and_texts(tmp_path):
    texts = [f"第{i}行" if i % 5 else None for i in range(50)]
    p = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.table({"text": texts, "source": ["s"] * 50}), p, row_group_size=10)
    files = expand_corpus([p])
    per_group = plan_units(files, 1, parquet_unit_bytes=0)
    assert [(u.start, u.end) for u in per_group] == [(g, g + 1) for g in range(5)]
    assert [(u.start, u.end) for u in plan_units(files, 1)] == [(0, 5)]  # None: the whole file
    grouped = plan_units(files, 1, parquet_unit_bytes=per_group[0].size * 2)
    assert [(u.start, u.end) for u in grouped] == [(0, 2), (2, 4), (4, 5)]
    assert [t for u in grouped for t in parquet_texts(u.path, u.start, u.end)] == texts
    assert list(parquet_texts(str(p), 3, 3)) == []
    empty = tmp_path / "empty.parquet"
    with pq.ParquetWriter(str(empty), pa.schema([("text", pa.string())])):
        pass
    assert [(u.start, u.end) for u in plan_units(expand_corpus([empty]), 1, parquet_unit_bytes=0)] == [(0, 0)]
    ints = tmp_path / "ints.parquet"
    pq.write_table(pa.table({"text": [1, 2]}), ints)
    with pytest.raises(InputError, match="holds int64, not strings"):
        plan_units(expand_corpus([ints]), 1)
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"body": ["x"]}), bad)
    with pytest.raises(InputError, match="no 'text' column"):
        plan_units(expand_corpus([bad]), 1)
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        plan_units(expand_corpus([tmp_path / "junk.parquet"]), 1)
