"""The embedded demo corpus: reproducible from its composer, and each file in its family's layout."""
from __future__ import annotations

import csv
import io
import json
import sys

import pytest

from conftest import DEMO

sys.path.insert(0, str(DEMO))
import compose  # noqa: E402  (demo/compose.py is a script, not a package)


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return compose.compose_all()


def test_committed_files_match_a_fresh_composition(files):
    assert compose.check(DEMO) == []
    on_disk = {p.relative_to(DEMO).as_posix() for p in DEMO.rglob("*") if p.is_file()}
    assert set(files) <= on_disk
    assert on_disk - set(files) <= {"compose.py", "README.md"}


def test_composition_is_deterministic_and_seed_dependent(files):
    assert compose.compose_all() == files
    assert compose.compose_all(seed=1) != files


def test_write_then_check_round_trip(tmp_path):
    compose.write_all(tmp_path)
    assert compose.check(tmp_path) == []
    (tmp_path / "lyrics/lyrics.txt").write_bytes(b"x\n")
    assert compose.check(tmp_path) == ["lyrics/lyrics.txt"]


def test_demo_stays_small(files):
    assert sum(map(len, files.values())) < 1_500_000


def test_layouts_mirror_the_real_families(files):
    one = files["cluecorpussmall/clue_sampled.txt"].decode()
    bert = files["cluecorpussmall/clue_bert_sampled.txt"].decode()
    assert "\n\n" not in one and bert.endswith("\n\n")
    assert one.count("\n") == bert.count("\n\n")  # same documents in both layouts
    assert not files["cluecorpussmall/news_zh_1.txt"].endswith(b"\n")

    for line in files["wiki2019zh/wiki_00"].decode().splitlines():
        art = json.loads(line)
        assert set(art) == {"id", "url", "title", "text"} and isinstance(art["id"], str)
        assert art["text"].startswith(art["title"] + "\n\n")

    tsv = files["weibo/train.tsv"].decode().splitlines()
    assert tsv[0] == "label\ttext_a" and all(r.split("\t")[0] in "012345" for r in tsv[1:])
    emo = [json.loads(x) for x in files["weibo/emotion_valid.txt"].decode().splitlines()]
    assert all(isinstance(e["id"], int) and e["content"] for e in emo)

    gb = files["weibo/ncov_10k_test_gb18030.csv"]
    with pytest.raises(UnicodeDecodeError):
        gb.decode("utf-8")
    rows = list(csv.reader(io.StringIO(gb.decode("gb18030"), newline="")))
    assert rows[0][3] == "微博中文内容" and b"\r\n" in gb and all(len(r) == 6 for r in rows)

    hotel = list(csv.reader(io.StringIO(files["reviews/ChnSentiCorp_htl_all.csv"].decode(), newline="")))
    assert hotel[0] == ["label", "review"]
    assert any("\n" in r[1] and '"' in r[1] for r in hotel[1:])  # multi-line field with quotes

    tang = json.loads(files["poems/poet.tang.0.json"])
    assert not files["poems/poet.tang.0.json"].endswith(b"\n")
    assert all({"author", "paragraphs", "title"} <= set(p) for p in tang)
    assert any(ch in "".join(p["paragraphs"]) for p in tang for ch in "風雲歸")  # traditional script
    ci = json.loads(files["poems/ci.song.0.json"])
    assert all("rhythmic" in p for p in ci)

    up = files["couplets/in.txt"].decode().splitlines()
    down = files["couplets/out.txt"].decode().splitlines()
    assert len(up) == len(down)
    for a, b in zip(up, down):
        assert a.endswith(" ") and len(a) == len(b)

    assert files["ancient/古文原文/杂记/卷二/text.txt"] == b""


def test_dirt_is_present_for_cleaning_to_remove(files):
    text = b"".join(v for k, v in files.items() if "gb18030" not in k).decode()
    for needle in ("&amp;", "&nbsp;", "<br>", "http://t.cn/", "@example.org", "\u200b", "\u3000", "😭",
                   "ＮＢＡ", "\ufeff", "//@", "#"):
        assert needle in text, needle
    lines = files["weibo/train.tsv"].decode().splitlines()
    assert len(lines) > len(set(lines))  # exact duplicates
