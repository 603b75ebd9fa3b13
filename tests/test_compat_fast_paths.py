"""The pieces that make `--compat uer` fast must not change what it reads or draws: the inlined
shuffle equals ``random.Random.shuffle`` (same order, same state after), and the read-ahead file
handle gives the lines, positions and decoding errors of line-by-line reading."""
from __future__ import annotations

import random

import pytest

from corpusprep.errors import InputError
from corpusprep.instances import compat_uer
from corpusprep.instances.compat_uer import UerLines
from corpusprep.instances.masking import shuffle


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 127, 128, 129, 1000, 1025])
def test_shuffle_equals_random_shuffle_and_leaves_the_same_state(n):
    for seed in range(40):
        a, b = list(range(n)), list(range(n))
        r1, r2 = random.Random(seed), random.Random(seed)
        r1.shuffle(a)
        shuffle(b, r2)
        assert a == b and r1.getstate() == r2.getstate()


def test_shuffle_of_another_generator_uses_its_own():
    class Other(random.Random):
        def random(self):
            return 0.5

    a, b = list(range(50)), list(range(50))
    Other(3).shuffle(a)
    shuffle(b, Other(3))
    assert a == b


def _plain(path, start, n):
    out = []
    with open(path, encoding="utf-8") as fh:
        for _ in range(start):
            fh.readline()
        for _ in range(n):
            out.append(fh.readline())
    return out


@pytest.mark.parametrize("block", [1, 2, 3, 1000])
def test_read_ahead_gives_the_lines_of_line_by_line_reading(tmp_path, monkeypatch, block):
    monkeypatch.setattr(compat_uer, "READ_AHEAD_LINES", block)
    path = tmp_path / "c.txt"
    path.write_bytes("一\n二\r\n三\r四\n\n五六".encode("utf-8"))  # universal newlines, no final newline
    for start in (0, 2, 5):
        seen = []
        f = UerLines(str(path), start, seen.extend)
        got = [f.readline() for _ in range(9)]
        assert got == _plain(path, start, 9) and f.pos == start + 9
        assert [t for t in got if t] == seen  # every non-empty line was handed to on_block, in order
        f.close()


@pytest.mark.parametrize("block", [1, 7, 1000])
def test_a_decoding_error_is_reported_where_line_by_line_reading_meets_it(tmp_path, monkeypatch, block):
    monkeypatch.setattr(compat_uer, "READ_AHEAD_LINES", block)
    path = tmp_path / "c.txt"
    path.write_bytes(("一二三四五六七八九十" * 5 + "\n").encode() * 300 + b"\xff\xfe bad\nmore\n")
    expected = 0
    with open(path, encoding="utf-8") as fh:  # the text layer decodes in chunks: it fails before line 301
        try:
            while True:
                fh.readline()
                expected += 1
        except UnicodeDecodeError:
            pass
    f = UerLines(str(path), 0)
    for _ in range(expected):
        f.readline()
    with pytest.raises(InputError, match=rf"c.txt:{expected + 1}: not UTF-8"):
        f.readline()
    f.close()
