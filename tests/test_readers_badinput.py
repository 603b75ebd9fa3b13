"""Hand-made bad inputs: each is repaired by a documented rule or rejected with a counted reason."""
from __future__ import annotations

import bz2
import gzip
import json
import lzma
from pathlib import Path

import pytest
import zstandard

from corpusprep.errors import InputError, ZooprepError
from corpusprep.readers import FAMILIES, WorkUnit, plan_units, read_unit, sniff_format
from corpusprep.records import Record, Reject


def read_all(inputs, **kw):
    units = plan_units([str(p) for p in inputs] if isinstance(inputs, list) else [str(inputs)], **kw)
    return [item for u in units for item in read_unit(u)]


def texts(items):
    return [(r.text, r.line) for r in items if isinstance(r, Record)]


def rejects(items):
    return [(r.reason, r.line) for r in items if isinstance(r, Reject)]


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_families_constant():
    assert FAMILIES == ("cluecorpussmall", "wiki2019zh", "news2016zh", "webtext2019zh", "weibo", "reviews", "poems",
                        "couplets", "lyrics", "ancient", "text", "text-blank", "csv", "jsonl")


def test_undecodable_line_is_rejected_and_counted(tmp_path):
    p = write(tmp_path / "a.txt", "第一行\n".encode() + b"bad \xff\xfe line\n" + "第三行\n".encode())
    items = read_all(p, fmt="text")
    assert texts(items) == [("第一行", 1), ("第三行", 3)]
    assert rejects(items) == [("undecodable", 2)]
    assert "\ufffd" in [r for r in items if isinstance(r, Reject)][0].raw


def test_gbk_file_is_detected(tmp_path):
    p = write(tmp_path / "gbk.txt", "中文内容，测试编码。\r\n第二行\r\n".encode("gbk"))
    units = plan_units([str(p)])
    assert units[0].encoding == "gb18030"
    assert texts(read_all(p)) == [("中文内容，测试编码。", 1), ("第二行", 2)]
    # forcing an encoding wins over detection
    assert plan_units([str(p)], encoding="gbk")[0].encoding == "gb18030"


def test_bom_crlf_nul_last_line(tmp_path):
    data = b"\xef\xbb\xbf" + "一\r\n二\x00三\r\n\ufeff四\r\n最后".encode()
    p = write(tmp_path / "b.txt", data)
    assert plan_units([str(p)])[0].encoding == "utf-8-sig"
    # start BOM dropped, CRLF -> LF, NUL removed, a BOM inside the text kept, last line without newline read
    assert texts(read_all(p, fmt="text")) == [("一", 1), ("二三", 2), ("\ufeff四", 3), ("最后", 4)]


def test_empty_file_gives_no_records(tmp_path):
    p = write(tmp_path / "empty.txt", b"")
    for fmt in ("auto", "text", "text-blank", "lyrics", "ancient", "poems"):
        assert read_all(p, fmt=fmt) == []
    assert read_all(write(tmp_path / "e.json", b""), fmt="poems") == []
    assert read_all(write(tmp_path / "e.csv", b""), fmt="csv", text_field="x") == []


def _compress(kind: str, data: bytes) -> bytes:
    # bz2 level 1: 100 kB blocks, so a cut file still has whole blocks before the damage
    return {"gz": gzip.compress, "bz2": lambda d: bz2.compress(d, 1), "xz": lzma.compress,
            "zst": lambda d: zstandard.ZstdCompressor().compress(d)}[kind](data)


BIG = "".join(f"第{i}行，一些文字 {i * 7919 % 100003}\n" for i in range(30000)).encode()


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz", "zst"])
def test_compressed_whole_and_truncated(tmp_path, kind):
    blob = _compress(kind, BIG)
    whole = read_all(write(tmp_path / f"ok.txt.{kind}", blob))
    assert rejects(whole) == [] and len(texts(whole)) == 30000 and texts(whole)[-1][1] == 30000
    cut = read_all(write(tmp_path / f"cut.txt.{kind}", blob[: len(blob) * 2 // 3]))
    got = texts(cut)
    assert rejects(cut) == [("truncated_input", len(got) + 1)]
    assert 0 < len(got) < 30000
    assert got == texts(whole)[: len(got)]  # everything before the damage is kept, exactly


def test_concatenated_gzip_members(tmp_path):
    p = write(tmp_path / "multi.txt.gz", gzip.compress("一\n二\n".encode()) + gzip.compress("三\n".encode()))
    assert texts(read_all(p)) == [("一", 1), ("二", 2), ("三", 3)]


def test_corrupt_gzip_is_counted_not_raised(tmp_path):
    blob = bytearray(gzip.compress(BIG))
    blob[len(blob) // 2: len(blob) // 2 + 64] = b"\x00" * 64
    items = read_all(write(tmp_path / "bad.txt.gz", bytes(blob)))
    # gzip checks its CRC only at the member's end: nothing of the member is kept, every line of
    # it is a counted corrupt_input reject (changed: garbage decoded before the check was kept)
    assert texts(items) == [] and {r[0] for r in rejects(items)} == {"corrupt_input"}
    assert len(rejects(items)) > 1000


def test_bad_crc_member_is_rejected_line_by_line_and_good_members_kept(tmp_path):
    good = gzip.compress("一\n二\n".encode())
    bad = bytearray(gzip.compress(BIG))
    bad[-6] ^= 0xFF  # only the CRC is wrong
    items = read_all(write(tmp_path / "m.txt.gz", good + bytes(bad) + gzip.compress("尾\n".encode())))
    assert texts(items) == [("一", 1), ("二", 2), ("尾", 30003)]
    assert rejects(items) == [("corrupt_input", n) for n in range(3, 30003)]


def test_truncated_before_any_output(tmp_path):
    blob = gzip.compress(BIG)[:40]
    items = read_all(write(tmp_path / "early.txt.gz", blob))
    assert items and rejects(items) == [("truncated_input", 1)]


def test_not_really_compressed_is_an_input_error(tmp_path):
    p = write(tmp_path / "fake.txt.gz", b"plain text, not gzip\n")
    with pytest.raises(InputError, match="fake.txt.gz"):
        plan_units([str(p)])


def test_utf16_is_a_clear_error(tmp_path):
    p = write(tmp_path / "u16.txt", "中文\n".encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16"):
        plan_units([str(p)])


def test_broken_json_line(tmp_path):
    lines = [json.dumps({"id": 1, "content": "好", "label": "happy"}, ensure_ascii=False),
             '{"id": 2, "content": "坏', "", "[1, 2]",
             json.dumps({"id": 3, "content": "再来", "label": "sad"}, ensure_ascii=False)]
    p = write(tmp_path / "w.jsonl", ("\n".join(lines) + "\n").encode())
    items = read_all(p, fmt="weibo")
    assert texts(items) == [("好", 1), ("再来", 5)]
    assert rejects(items) == [("bad_json", 2), ("bad_json", 4)]
    assert [r.meta for r in items if isinstance(r, Record)][0] == {"id": 1, "label": "happy"}


def test_broken_object_in_json_array_resumes(tmp_path):
    text = ('[\n  {"title": "一", "author": "甲", "paragraphs": ["床前明月光，", "疑是地上霜。"]},\n'
            '  {"title": "二", "author": "乙" "paragraphs": ["坏"]},\n'
            '  {"title": "三", "author": "丙", "paragraphs": ["举头望明月，"]}\n]')
    p = write(tmp_path / "poems.json", text.encode())
    assert sniff_format(str(p)) == "poems"
    items = read_all(p)
    assert texts(items) == [("床前明月光，\n疑是地上霜。", 2), ("举头望明月，", 4)]
    assert rejects(items) == [("bad_json", 3)]
    assert items[0].meta == {"title": "一", "author": "甲"}


def test_truncated_json_array(tmp_path):
    text = '[{"title": "一", "paragraphs": ["甲"]},\n {"title": "二", "paragraphs": ["乙'
    items = read_all(write(tmp_path / "cut.json", text.encode()), fmt="poems")
    assert texts(items) == [("甲", 1)] and rejects(items) == [("bad_json", 2)]


def test_huge_line_is_rejected_without_holding_it(tmp_path):
    huge = "字" * 5000
    p = write(tmp_path / "h.txt", f"短\n{huge}\n尾\n".encode())
    items = read_all(p, fmt="text", max_line_bytes=1000)
    assert texts(items) == [("短", 1), ("尾", 3)]
    assert rejects(items) == [("line_too_long", 2)]
    # the same in byte ranges smaller than the line, and at end of file without newline
    ranged = read_all(p, fmt="text", max_line_bytes=1000, unit_bytes=300)
    assert texts(ranged) == texts(items) and rejects(ranged) == rejects(items)
    p2 = write(tmp_path / "h2.txt", f"短\n{huge}".encode())
    assert rejects(read_all(p2, fmt="text", max_line_bytes=1000)) == [("line_too_long", 2)]


def test_document_too_long_in_blank_layout(tmp_path):
    p = write(tmp_path / "d.txt", ("一句。\n" * 10 + "\n" + "长句子。\n" * 500 + "\n尾。\n").encode())
    items = read_all(p, fmt="text-blank", max_line_bytes=1000)
    assert texts(items) == [("\n".join(["一句。"] * 10), 1), ("尾。", 513)]
    assert rejects(items) == [("document_too_long", 12)]


def test_text_blank_documents(tmp_path):
    p = write(tmp_path / "tb.txt", "标题一\n句子一。\n\n\n标题二\n \t\n句子二。".encode())
    items = read_all(p, fmt="text-blank")
    assert texts(items) == [("标题一\n句子一。", 1), ("标题二", 5), ("句子二。", 7)]
    assert sniff_format(str(p)) == "text-blank"


def _lines_doc(seed: int) -> bytes:
    parts = []
    for i in range(60):
        body = "汉字€😀abc"[(i + seed) % 7:] * ((i * seed) % 5)
        end = "\r\n" if (i + seed) % 3 == 0 else "\n"
        parts.append(body + end)
    return "".join(parts).encode() + "末行无换行😀".encode()


@pytest.mark.parametrize("unit_bytes", [1, 2, 3, 5, 7, 11, 64])
def test_byte_ranges_equal_whole_file(tmp_path, unit_bytes):
    """Multi-byte characters straddling range ends, CRLF, empty lines, no final newline."""
    p = write(tmp_path / "r.txt", _lines_doc(3))
    whole = read_all(p, fmt="text")
    units = plan_units([str(p)], fmt="text", unit_bytes=unit_bytes)
    assert len(units) == -(-p.stat().st_size // unit_bytes)
    assert [u.index for u in units] == list(range(len(units)))
    ranged = [item for u in units for item in read_unit(u)]
    assert [(r.text, r.line) for r in ranged] == [(r.text, r.line) for r in whole]
    assert len(whole) == 61


def test_byte_ranges_jsonl_and_tsv(tmp_path):
    rows = [json.dumps({"k": i, "t": "文本" * (i % 4) + "\u2028x"}, ensure_ascii=False) for i in range(40)]
    p = write(tmp_path / "x.jsonl", ("\n".join(rows) + "\n").encode())
    whole = read_all(p, fmt="jsonl", text_field="t")
    ranged = read_all(p, fmt="jsonl", text_field="t", unit_bytes=7)
    assert [(r.text, r.line, r.meta) for r in ranged] == [(r.text, r.line, r.meta) for r in whole]
    assert len(whole) == 40 and whole[5].meta == {"k": 5}
    t = write(tmp_path / "d.tsv", "label\ttext_a\n1\t他说\"好\"\n0\t有\t制表符\n".encode())
    for ub in (3, 1 << 20):
        items = read_all(t, unit_bytes=ub)
        assert texts(items) == [("他说\"好\"", 2), ("有\t制表符", 3)]
        assert [r.meta for r in items] == [{"label": "1"}, {"label": "0"}]


def test_csv_multiline_and_rfc4180(tmp_path):
    data = 'label,review\n1,"第一条\n跨行,带逗号"\n0,"引号""里面"""\n\n1,未加引号,有逗号\n'
    p = write(tmp_path / "r.csv", data.encode())
    items = read_all(p, fmt="reviews")
    assert texts(items) == [("第一条\n跨行,带逗号", 2), ('引号"里面"', 4), ("未加引号,有逗号", 6)]
    assert [r.meta for r in items] == [{"label": "1"}, {"label": "0"}, {"label": "1"}]
    mid = write(tmp_path / "m.csv", "label,review,star\n1,好,5\n0,坏,了,1\n".encode())
    items = read_all(mid, fmt="reviews")
    assert texts(items) == [("好", 2)] and rejects(items) == [("bad_row", 3)]  # text column is not last


def test_csv_parser_error_is_counted_and_reading_goes_on(tmp_path):
    p = write(tmp_path / "cr.csv", "label,review\n1,好\n0,a\rb\n1,尾\n".encode())  # lone CR in an unquoted field
    items = read_all(p, fmt="reviews")
    assert texts(items) == [("好", 2), ("尾", 4)] and rejects(items) == [("bad_csv", 3)]


def test_csv_unclosed_quote_is_bounded(tmp_path):
    rows = "label,review\n1,好\n0,\"未闭合的引号\n" + "".join(f"1,第{i}行\n" for i in range(200))
    items = read_all(write(tmp_path / "q.csv", rows.encode()), fmt="reviews", max_line_bytes=300)
    # changed: the runaway quote is one counted reject and the rows it swallowed are read as rows
    assert rejects(items) == [("bad_csv", 3)]
    assert texts(items) == [("好", 2)] + [(f"第{i}行", i + 4) for i in range(200)]


@pytest.mark.parametrize("width", [2, 3, 7])
def test_csv_unclosed_quote_does_not_merge_rows(tmp_path, width):
    extra = ",x" * (width - 2)
    head = "label,review" + "".join(f",c{i}" for i in range(width - 2))
    rows = [f"1,第{i}行{extra}" for i in range(6)]
    rows[2] = f'0,"坏了{extra}'  # opened, never closed
    p = write(tmp_path / "u.csv", (head + "\n" + "\n".join(rows) + "\n").encode())
    items = read_all(p, fmt="reviews")
    assert rejects(items) == [("bad_csv", 4)]
    assert [t for t, _ in texts(items)] == ["第0行", "第1行", "第3行", "第4行", "第5行"]


def test_csv_legit_multiline_fields_are_kept(tmp_path):
    data = 'time,uname,comment,star\n"\n   2009-12-23\n  ",甲,"第一行\n第二行",4\n"\n 2010-01-01\n",乙,好,5\n'
    items = read_all(write(tmp_path / "d.csv", data.encode()), fmt="reviews")
    assert texts(items) == [("第一行\n第二行", 2), ("好", 6)] and rejects(items) == []


def test_csv_undecodable_record_is_rejected(tmp_path):
    data = "label,review\n1,好\n".encode() + b'0,"bad \xff\nstill"\n' + "1,尾\n".encode()
    items = read_all(write(tmp_path / "r.csv", data), fmt="reviews")
    assert texts(items) == [("好", 2), ("尾", 5)] and rejects(items) == [("undecodable", 3)]


def test_generic_csv_and_jsonl_need_the_field(tmp_path):
    c = write(tmp_path / "g.csv", "a,b\n1,文\n".encode())
    # changed: without --text-field the column is inferred from the content (most Chinese characters)
    assert texts(read_all(c, fmt="csv")) == [("文", 2)]
    assert texts(read_all(c, fmt="csv", text_field="1")) == [("文", 2)]  # a 0-based column index
    assert texts(read_all(c, fmt="csv", text_field="b")) == [("文", 2)]
    with pytest.raises(InputError, match="g.csv"):
        read_all(c, fmt="csv", text_field="missing")
    j = write(tmp_path / "g.jsonl", '{"a": 1}\n{"b": "文"}\n'.encode())
    with pytest.raises(InputError, match="g.jsonl:1"):
        plan_units([str(j)], fmt="jsonl", text_field="b")
    j2 = write(tmp_path / "g2.jsonl", '{"b": "文"}\n{"a": 1}\n'.encode())
    items = read_all(j2, fmt="jsonl", text_field="b")
    assert texts(items) == [("文", 1)] and rejects(items) == [("missing_field", 2)]


def test_couplet_pairs_and_mismatch(tmp_path):
    d = tmp_path / "couplets"
    write(d / "in.txt", "腾 飞 上 铁 \n风 弦 未 拨 \n多 出 一 行 \n".encode())
    write(d / "out.txt", "和 谐 南 供 \n夜 幕 已 沉 \n".encode())
    assert sniff_format(str(d / "out.txt")) == "couplets"
    units = plan_units([str(d)])
    assert len(units) == 1 and units[0].path.endswith("in.txt")
    items = [i for u in units for i in read_unit(u)]
    assert texts(items) == [("腾飞上铁\n和谐南供", 1), ("风弦未拨\n夜幕已沉", 2)]
    assert rejects(items) == [("couplet_unpaired", 3)]
    # naming only out.txt reads the pair from its in.txt
    assert [u.path for u in plan_units([str(d / "out.txt")])] == [str(d / "in.txt")]


def test_inputs_missing_glob_and_order(tmp_path):
    with pytest.raises(InputError, match="nope.txt"):
        plan_units([str(tmp_path / "nope.txt")])
    with pytest.raises(InputError, match="matched no files"):
        plan_units([str(tmp_path / "*.zzz")])
    with pytest.raises(ZooprepError, match="unknown format"):
        plan_units([str(tmp_path)], fmt="nonsense")
    for name in ("b/2.txt", "a/10.txt", "a/9.txt", "c.txt", ".hidden/x.txt"):
        write(tmp_path / "in" / name, "文\n".encode())
    first = plan_units([str(tmp_path / "in")])
    assert [Path(u.path).relative_to(tmp_path / "in").as_posix() for u in first] == ["a/10.txt", "a/9.txt", "b/2.txt", "c.txt"]
    assert plan_units([str(tmp_path / "in")]) == first
    globbed = plan_units([str(tmp_path / "in" / "**" / "*.txt"), str(tmp_path / "in" / "c.txt")])
    assert sorted(u.path for u in globbed) == sorted(u.path for u in first)  # c.txt is not read twice


def test_units_are_picklable_and_pure(tmp_path):
    import pickle

    p = write(tmp_path / "p.txt", "一\n二\n三\n".encode())
    units = plan_units([str(p)], unit_bytes=3)
    again = [pickle.loads(pickle.dumps(u)) for u in units]
    assert again == units and isinstance(units[0], WorkUnit)
    assert [texts(read_unit(u)) for u in again] == [texts(read_unit(u)) for u in units]


@pytest.mark.parametrize("name,content,family", [
    ("w.jsonl", '{"news_id": "1", "title": "标题", "content": "正文"}\n', "news2016zh"),
    ("q.json", '{"qid": "1", "title": "问", "desc": "述", "content": "答"}\n', "webtext2019zh"),
    ("wiki_00", '{"id": "1", "url": "u", "title": "t", "text": "t\\n\\nbody"}\n', "wiki2019zh"),
    ("s.tsv", "label\ttext_a\n1\t好\n", "reviews"),
    ("lab.txt", "1\t好\n0\t坏\n1\t行\n", "reviews"),
    ("p.csv", '"题目","朝代","作者","内容"\n"一","唐","李","床前明月光。"\r\n', "poems"),
    ("c.csv", "x,y\n1,2\n", "csv"),
    ("o.jsonl", '{"x": "文"}\n', "jsonl"),
    ("plain.txt", "一行\n二行\n", "text"),
    ("my_lyrics.txt", "一行\n二行\n", "lyrics"),
])
def test_sniff_format(tmp_path, name, content, family):
    assert sniff_format(str(write(tmp_path / name, content.encode()))) == family


def test_family_schemas(tmp_path):
    n = write(tmp_path / "n.jsonl", json.dumps({"news_id": "9", "title": "标题", "content": "正文。",
                                                 "source": "新华", "desc": "摘要"}, ensure_ascii=False).encode())
    (rec,) = read_all(n)
    assert rec.text == "标题\n正文。" and rec.meta == {"news_id": "9", "source": "新华", "desc": "摘要"}
    q = write(tmp_path / "q.jsonl", json.dumps({"qid": "1", "title": "问题？", "desc": "描述", "content": "回答。",
                                                 "star": 3}, ensure_ascii=False).encode())
    (rec,) = read_all(q)
    assert rec.text == "问题？\n描述\n回答。" and rec.meta == {"qid": "1", "star": 3}


BLANK_DOC = ("\ufeff标题一\r\n句子。\n\n\n　\n标题二\n" + ("长" * 30 + "\n") * 4 + " \t\n" + "x\x00y\n\n\n坏\n"
             "尾巴一\n尾巴二").encode()


@pytest.mark.parametrize("unit_bytes", [1, 2, 3, 4, 5, 8, 13, 40])
def test_blank_documents_in_byte_ranges_equal_whole_file(tmp_path, unit_bytes):
    data = BLANK_DOC.replace("坏".encode(), b"\xff\xfe")  # one undecodable line inside a document
    p = write(tmp_path / "docs.txt", data)
    whole = read_all(p, fmt="text-blank", max_line_bytes=100)
    assert texts(whole) == [("标题一\n句子。", 1), ("xy", 12)]  # NUL removed; U+3000-only line is blank
    assert rejects(whole) == [("document_too_long", 6), ("undecodable", 15)]
    units = plan_units([str(p)], fmt="text-blank", unit_bytes=unit_bytes, max_line_bytes=100)
    assert len(units) > 1
    ranged = [item for u in units for item in read_unit(u)]
    assert [_key(r) for r in ranged] == [_key(r) for r in whole]


def _key(item):
    return (item.line, item.text, item.meta) if isinstance(item, Record) else (item.line, item.reason)


def test_compressed_structured_files_are_sniffed_and_read(tmp_path):
    rows = "label,review\n" + "".join(f'{i % 2},"第{i}条评论，很好"\n' for i in range(3000))
    blob = gzip.compress(rows.encode())
    p = write(tmp_path / "reviews.csv.gz", blob)
    assert sniff_format(str(p)) == "reviews"
    items = read_all(p)
    assert len(texts(items)) == 3000 and rejects(items) == [] and texts(items)[-1] == ("第2999条评论，很好", 3001)
    cut = read_all(write(tmp_path / "cut.csv.gz", blob[: len(blob) // 2]))
    kept = texts(cut)
    assert 0 < len(kept) < 3000 and kept == texts(items)[: len(kept)]
    assert [r[0] for r in rejects(cut)] == ["truncated_input"]
    j = write(tmp_path / "news.jsonl.zst", zstandard.ZstdCompressor().compress(
        json.dumps({"news_id": "1", "title": "标题", "content": "正文"}, ensure_ascii=False).encode()))
    assert sniff_format(str(j)) == "news2016zh"
    assert texts(read_all(j)) == [("标题\n正文", 1)]


def test_lyrics_songs_and_ancient_books(tmp_path):
    songs = write(tmp_path / "lyrics" / "songs.txt", "第一首\n第一句\n\n第二首\n第二句\n".encode())
    items = read_all(songs)
    assert items[0].meta == {} and texts(items) == [("第一首\n第一句", 1), ("第二首\n第二句", 4)]
    book = write(tmp_path / "史藏" / "史记.txt", "\u3000\u3000太史公曰：一段。\n\n\u3000\u3000又一段。\n".encode())
    items = read_all(book, fmt="ancient")
    assert texts(items) == [("\u3000\u3000太史公曰：一段。", 1), ("\u3000\u3000又一段。", 3)]
    assert items[0].meta == {"book": "史记", "collection": "史藏"}
    chapter = write(tmp_path / "古文原文" / "论语" / "学而篇" / "text.txt", "子曰： 学而时习之。 \n有子曰： 其为人也孝弟。\n".encode())
    (rec,) = read_all(chapter)
    assert rec.meta == {"book": "论语", "chapter": "学而篇"} and rec.text == "子曰： 学而时习之。 \n有子曰： 其为人也孝弟。"


def test_folder_walk_skips_docs_and_scripts_but_not_named_files(tmp_path):
    from corpusprep.readers.inputs import expand_inputs

    (tmp_path / "data.txt").write_text("正文\n", encoding="utf-8")
    for name in ("README.md", "compose.py", "LICENSE", "notes.MD", "run.sh"):
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    assert expand_inputs([str(tmp_path)]) == [str(tmp_path / "data.txt")]
    assert expand_inputs([str(tmp_path / "README.md")]) == [str(tmp_path / "README.md")]
