"""Every file in ../shared/corpora is read by the sniffed family reader with the README's record counts."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from corpusprep.readers import plan_units, read_unit, sniff_format
from corpusprep.records import Record, Reject

# (path under corpora/, sniffed family, layout, records as counted in corpora/README.md)
EXPECTED = [
    ("cluecorpussmall/dbiir__UER-py/corpora/CLUECorpusSmall_sampled.txt", "cluecorpussmall", "lines", 400),
    ("cluecorpussmall/dbiir__UER-py/corpora/CLUECorpusSmall_bert_sampled.txt", "cluecorpussmall", "blank", 400),
    ("cluecorpussmall/brightmart__albert_zh/data/news_zh_1.txt", "cluecorpussmall", "blank", 10),
    ("cluecorpussmall/jastfkjg__Chinese-relation-extraction/wiki_00", "wiki2019zh", "jsonl", 12),
    ("cluecorpussmall/Tencent__TencentPretrain/corpora/zhwiki_sampled.txt", "cluecorpussmall", "lines", 300),
    ("cluecorpussmall/Tencent__TencentPretrain/corpora/zhwiki_bert_sampled.txt", "cluecorpussmall", "blank", 300),
    ("weibo/dbiir__UER-py/datasets/smp2020-ewect/virus/train.tsv", "weibo", "tsv", 1500),
    ("weibo/dbiir__UER-py/datasets/smp2020-ewect/usual/train.tsv", "weibo", "tsv", 1500),
    ("weibo/forever1986__bert_task/data/weibo_senti_100k.csv", "weibo", "csv", 1200),
    ("weibo/gaowenxin95__le_topic_model/data/nCov_10k_test.csv", "weibo", "csv", 1000),
    ("weibo/CLUEbenchmark__CLUEmotionAnalysis2020/CLUEdataset/emotion/valid.txt", "weibo", "jsonl", 1500),
    ("reviews/SophonPlus__ChineseNlpCorpus/datasets/ChnSentiCorp_htl_all/ChnSentiCorp_htl_all.csv", "reviews", "csv", 800),
    ("reviews/SophonPlus__ChineseNlpCorpus/datasets/waimai_10k/waimai_10k.csv", "reviews", "csv", 1000),
    ("reviews/SophonPlus__ChineseNlpCorpus/datasets/online_shopping_10_cats/online_shopping_10_cats.csv", "reviews", "csv", 2000),
    ("reviews/dbiir__UER-py/corpora/chnsenticorp.txt", "reviews", "lines", 800),
    ("reviews/dbiir__UER-py/corpora/book_review_cls.txt", "reviews", "label-tsv", 1000),
    ("reviews/hz-wang__JD_comment_classification/data/manually_labeled_data_sentiment.txt", "reviews", "label-tsv", 1000),
    ("reviews/bbublm__Douban-Movie-Review-Dataset/data/top250/origin/douban_movie_xsk_1-5阿凡达.csv", "reviews", "csv", 98),
    ("poems/chinese-poetry__chinese-poetry/全唐诗/poet.tang.0.json", "poems", "json-array", 1000),
    ("poems/chinese-poetry__chinese-poetry/全唐诗/poet.song.0.json", "poems", "json-array", 1000),
    ("poems/chinese-poetry__chinese-poetry/宋词/ci.song.0.json", "poems", "json-array", 1000),
    ("poems/chinese-poetry__chinese-poetry/五代诗词/huajianji/huajianji-1-juan.json", "poems", "json-array", 50),
    ("poems/chinese-poetry__chinese-poetry/御定全唐詩/json/001.json", "poems", "json-array", 88),
    ("poems/chinese-poetry__chinese-poetry/诗经/shijing.json", "poems", "json-array", 305),
    ("poems/chinese-poetry__chinese-poetry/曹操诗集/caocao.json", "poems", "json-array", 26),
    ("poems/chinese-poetry__chinese-poetry/全唐诗/error/poet.song.102000.json", "poems", "json-array", 0),
    ("poems/Werneror__Poetry/先秦.csv", "poems", "csv", 570),
    ("couplets/v-zich__couplet-clean-dataset/couplets/test/in.txt", "couplets", "pair", 1000),
    # lyrics: no song boundaries in this file, so the whole file is one document (docs/readers.md)
    ("lyrics/d2l-ai__d2l-zh/data/jaychou_lyrics.txt", "lyrics", "blank", 1),
]


def _read(path, **kw):
    units = plan_units([str(path)], **kw)
    out = [item for unit in units for item in read_unit(unit)]
    return units, [r for r in out if isinstance(r, Record)], [r for r in out if isinstance(r, Reject)]


@pytest.mark.parametrize("rel,family,layout,count", EXPECTED, ids=[e[0].split("/")[-1] for e in EXPECTED])
def test_family_counts(corpora_dir: Path, rel, family, layout, count):
    path = corpora_dir / rel
    assert sniff_format(str(path)) == family
    units, records, rejects = _read(path)
    assert {u.family for u in units} == {family}
    assert {u.option("layout") for u in units} == {layout}
    assert rejects == []
    assert len(records) == count
    assert all(r.source == str(path) for r in records)
    lines = [r.line for r in records]
    assert lines == sorted(lines) and len(set(lines)) == len(lines)


def test_whole_folder_reads_every_file(corpora_dir: Path):
    """The corpora folder as one INPUT: nothing crashes, no rejects, every data file is planned."""
    units = plan_units([str(corpora_dir)])
    planned = {u.path for u in units}
    data_files = {str(p) for p in corpora_dir.rglob("*") if p.is_file() and p.name != "README.md"}
    data_files.discard(str(corpora_dir / "couplets/v-zich__couplet-clean-dataset/couplets/test/out.txt"))
    assert data_files <= planned
    reasons = Counter(item.reason for u in units for item in read_unit(u) if isinstance(item, Reject))
    assert reasons == Counter()


def test_ancient_one_document_per_chapter_file(corpora_dir: Path):
    folder = corpora_dir / "ancient/NiuTrans__Classical-Modern/古文原文"
    units, records, rejects = _read(folder)
    assert len(units) == 435 and rejects == []
    assert len(records) == 435 - 16  # the 16 便宜十六策 chapter files are empty: no record
    by_book = Counter(r.meta["book"] for r in records)
    assert by_book["论语"] == 20 and by_book["孟子"] == 261 and by_book["庄子"] == 33 and by_book["世说新语"] == 36
    lunyu = [r for r in records if r.meta["chapter"] == "为政篇"]
    assert len(lunyu) == 1 and lunyu[0].meta["book"] == "论语" and lunyu[0].line == 1
    src = Path(lunyu[0].source).read_text(encoding="utf-8")
    assert lunyu[0].text == src.rstrip("\n")  # paragraphs joined by \n, trailing spaces kept for cleaning
    assert lunyu[0].text.startswith("子曰： 为政以德")


def test_spot_checks(corpora_dir: Path):
    c = corpora_dir
    _, recs, _ = _read(c / "cluecorpussmall/jastfkjg__Chinese-relation-extraction/wiki_00")
    assert recs[0].meta == {"id": "13", "url": "https://zh.wikipedia.org/wiki?curid=13", "title": "数学"}
    assert recs[0].text.startswith("数学\n数学是利用符号语言") and "\n\n" not in recs[0].text

    _, recs, _ = _read(c / "weibo/dbiir__UER-py/datasets/smp2020-ewect/usual/train.tsv")
    assert recs[0].line == 2 and recs[0].meta == {"label": "1"}
    assert recs[0].text == "气死姐姐了，快二是阵亡了吗，尼玛，一个半小时过去了也没上车"

    units, recs, _ = _read(c / "weibo/gaowenxin95__le_topic_model/data/nCov_10k_test.csv")
    assert units[0].encoding == "gb18030"
    assert recs[0].meta["微博id"] == "4456068992182160" and recs[0].meta["微博发布时间"] == "01月01日 23:38"
    assert recs[0].text.startswith("#你好2020#新年第一天") and "\r" not in recs[0].text

    _, recs, _ = _read(c / "weibo/CLUEbenchmark__CLUEmotionAnalysis2020/CLUEdataset/emotion/valid.txt")
    assert recs[0].text == "如果她不难过了，天会放晴吗？" and recs[0].meta == {"id": 0, "label": "sadness"}

    _, recs, _ = _read(c / "weibo/forever1986__bert_task/data/weibo_senti_100k.csv")
    assert recs[0].text.startswith("\ufeff更博了")  # a BOM inside a field is left to the cleaning ops

    _, recs, _ = _read(c / "reviews/bbublm__Douban-Movie-Review-Dataset/data/top250/origin/douban_movie_xsk_1-5阿凡达.csv")
    assert recs[0].line == 2 and recs[1].line == 5  # the quoted time field spans 3 physical lines
    assert recs[0].meta["time"] == "2009-12-23 13:17:28" and recs[0].meta["star"] == "4"
    assert "James Cameron" in recs[0].text

    _, recs, _ = _read(c / "reviews/SophonPlus__ChineseNlpCorpus/datasets/online_shopping_10_cats/online_shopping_10_cats.csv")
    assert recs[0].meta == {"cat": "书籍", "label": "1"} and recs[0].text.startswith("\ufeff做父母")

    _, recs, _ = _read(c / "reviews/hz-wang__JD_comment_classification/data/manually_labeled_data_sentiment.txt")
    assert recs[0].text == "第一次拍出现了毛病退货了" and recs[0].meta == {"label": "2"}
    assert recs[-1].line == 1000  # no newline at end of file: the last line still counts

    _, recs, _ = _read(c / "poems/chinese-poetry__chinese-poetry/诗经/shijing.json")
    assert recs[0].meta == {"title": "关雎", "chapter": "国风", "section": "周南"}
    assert recs[0].text.split("\n")[0] == "关关雎鸠，在河之洲。窈窕淑女，君子好逑。" and recs[0].line == 2

    _, recs, _ = _read(c / "poems/chinese-poetry__chinese-poetry/宋词/ci.song.0.json")
    assert recs[0].meta["rhythmic"] == "导引" and recs[0].meta["author"] == "和岘"

    _, recs, _ = _read(c / "poems/Werneror__Poetry/先秦.csv")
    assert recs[0].meta == {"title": "白水诗", "dynasty": "先秦", "author": "无名氏"} and "\r" not in recs[0].text

    _, recs, _ = _read(c / "couplets/v-zich__couplet-clean-dataset/couplets/test/in.txt")
    assert recs[0].text == "腾飞上铁，锐意改革谋发展，勇当千里马\n和谐南供，安全送电保畅通，争做领头羊"

    _, recs, _ = _read(c / "cluecorpussmall/brightmart__albert_zh/data/news_zh_1.txt")
    assert recs[0].text.startswith("最后的南京老城该往何处去") and recs[1].line == 67

    _, recs, _ = _read(c / "lyrics/d2l-ai__d2l-zh/data/jaychou_lyrics.txt")
    assert recs[0].text.count("\n") == 5818 and recs[0].text.startswith("想要有直升机\n想要和你飞到宇宙去")


SPLIT = [e[0] for e in EXPECTED if e[2] in ("lines", "jsonl", "tsv", "label-tsv", "blank")]


@pytest.mark.parametrize("rel", SPLIT, ids=[r.split("/")[-1] for r in SPLIT])
def test_byte_ranges_match_whole_file(corpora_dir: Path, rel):
    """Cutting a real file into small byte ranges yields exactly the records of whole-file reading."""
    path = corpora_dir / rel
    _, whole, _ = _read(path)
    units, ranged, rejects = _read(path, unit_bytes=4099)
    assert len(units) > 5 and rejects == []
    assert [(r.text, r.line, r.meta) for r in ranged] == [(r.text, r.line, r.meta) for r in whole]
