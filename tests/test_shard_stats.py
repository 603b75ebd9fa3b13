"""`shard` tells what a user needs to judge the data: label balance, padding (with a hint), the
characters behind [UNK], rows without a target; the same in the printed summary and zooprep.json."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from corpusprep.instances.config import ShardConfig
from corpusprep.instances.pipeline import run_shard
from corpusprep.instances.stats import InstanceStats, hints, merge_stats
from zh_tokenizers import load_tokenizer

from test_shard import tiny_vocab  # noqa: F401  (the tiny vocab fixture, defined once)

from conftest import REPO, cli


def run(tmp_path, text: str, vocab: Path, name: str = "out", **kw):
    corpus = tmp_path / f"{name}.txt"
    corpus.write_text(text, encoding="utf-8")
    kw.setdefault("workers", 1)
    return run_shard(ShardConfig(corpus=(corpus,), out=tmp_path / name, vocab=vocab, show_progress=False, **kw))


# ------------------------------------------------------------------ the tallies on plain values ------

def test_rows_without_target_per_processor():
    s = InstanceStats()
    # lm: a one-token row predicts nothing; two tokens give one target
    s.rows("lm", np.array([3, 1, 2]), np.array([[2, 7, 8], [3, 0, 0], [9, 3, 0]]), (2, 3, 0))
    assert (s.rows_without_target, s.short_rows) == (1, 2)
    m = InstanceStats()
    # mlm: [SEP] alone and [CLS][SEP] hold nothing to mask; [x][SEP] does
    m.rows("mlm", [1, 2, 2, 4], [[3, 0, 0, 0], [2, 3, 0, 0], [9, 3, 0, 0], [2, 5, 6, 3]], (2, 3, 0))
    assert (m.rows_without_target, m.short_rows) == (2, 3)
    b = InstanceStats()
    b.rows("bert", [2], [[2, 3]], (2, 3, 0))
    assert b.rows_without_target == 0  # a pair always has its nsp target


def test_unk_chars_are_the_characters_that_encode_to_unk(tiny_vocab):
    tok = load_tokenizer(vocab=str(tiny_vocab))
    s = InstanceStats()
    s.texts(tok, ["一X二XY", "三四"])
    s.texts(tok, ["Y\U0001F431 ", "x"])  # lower-case x is another character; the space is no token
    assert dict(s.as_dict()["unk_chars"]) == {"X": 2, "Y": 2, "\U0001F431": 1, "x": 1}
    assert InstanceStats().as_dict()["unk_chars"] == []
    space = load_tokenizer(vocab=str(tiny_vocab), kind="space")  # [UNK] is a word there: not reported by char
    w = InstanceStats()
    w.texts(space, ["一 X"])
    assert w.as_dict()["unk_chars"] == []


def test_merge_adds_units_and_keeps_the_top():
    a, b = InstanceStats(), InstanceStats()
    a.label("nsp_label", 1), a.label("nsp_label", 1), b.label("nsp_label", 0)
    a.documents([1, 2, 1])
    part_a, part_b = a.as_dict(), json.loads(json.dumps(b.as_dict()))  # markers hold JSON
    part_a["unk_chars"], part_b["unk_chars"] = [["觴", 3], ["“", 1]], [["“", 5]]
    merged = merge_stats([part_a, None, part_b])
    assert merged["labels"] == {"nsp_label": {"0": 1, "1": 2}}
    assert merged["unk_chars"] == [["“", 6], ["觴", 3]]
    assert merged["single_sentence_documents"] == 2


def test_hints_name_full_sentences_and_unbalanced_labels():
    base = {"padding_share": 0.898, "labels": {}, "rows_without_target": 0}
    assert any("--full-sentences" in h for h in hints(base, "mlm", full_sentences=False))
    assert not any("--full-sentences" in h for h in hints(base, "mlm", full_sentences=True))
    assert hints(dict(base, padding_share=0.4), "mlm", False) == []
    nsp = {"padding_share": 0.1, "labels": {"nsp_label": {"0": 23, "1": 77}}, "single_sentence_documents": 40}
    (h,) = hints(nsp, "bert", False)
    assert "nsp_label is 1 in 77.0%" in h and "40 document(s) have one sentence" in h
    assert hints(dict(nsp, labels={"nsp_label": {"0": 50, "1": 50}}), "bert", False) == []


# ------------------------------------------------------------------ end to end -----------------------

def test_mlm_counts_unk_chars_no_target_rows_and_padding_hint(tmp_path, tiny_vocab):
    # "一二三" framed is 5 tokens: at seq_len 4 the second row is [SEP] alone (nothing to mask)
    res = run(tmp_path, "一二三\n四X五X\n六Y\n", tiny_vocab, seq_len=4)
    c = res.meta["counts"]
    assert c["rows_without_target"] == 1 and c["short_rows"] == 2  # [SEP]; [X, SEP] has a target
    assert c["unk_chars"] == [["X", 2], ["Y", 1]]
    assert c["labels"] == {}
    assert c["padding_share"] == pytest.approx(5 / 20) and not any("padding" in h for h in c["hints"])
    wide = run(tmp_path, "一二三\n四X五X\n六Y\n", tiny_vocab, name="wide", seq_len=16).meta["counts"]
    assert wide["padding_share"] > 0.5 and any("--full-sentences" in h for h in wide["hints"])


def test_lm_one_token_rows_are_counted(tmp_path, tiny_vocab):
    # lm rows hold seq_len + 1 = 3 tokens: 9 framed tokens fill 3 rows, 7 leave [SEP] alone in the last
    res = run(tmp_path, "一二三四五六七\n", tiny_vocab, seq_len=2, processor="lm")
    assert res.meta["counts"]["rows_without_target"] == 0
    res = run(tmp_path, "一二三四五\n", tiny_vocab, name="lm2", seq_len=2, processor="lm")
    assert res.meta["counts"]["rows_without_target"] == 1 and res.meta["counts"]["short_rows"] == 1


def test_bert_label_balance_adds_up_and_is_printed(tmp_path, tiny_vocab):
    docs = ["一二。\n三四。\n五六。\n", "七。\n", "八九。\n十甲。\n", "乙。\n", "丙丁。\n戊己。\n庚辛。\n"]
    corpus = tmp_path / "pairs.txt"
    corpus.write_text("\n".join(docs) + "\n", encoding="utf-8")
    out = tmp_path / "bert"
    proc = cli("shard", str(corpus), "--out", str(out), "--processor", "bert", "--seq-len", "64", "--vocab", str(tiny_vocab),
               "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((out / "zooprep.json").read_text(encoding="utf-8"))
    c = meta["counts"]
    nsp = c["labels"]["nsp_label"]
    assert sum(nsp.values()) == c["instances"] and set(nsp) <= {"0", "1"}
    assert c["single_sentence_documents"] == 2
    import datasets

    stored = datasets.load_from_disk(str(out))["nsp_label"]
    assert nsp == {k: stored.count(int(k)) for k in nsp}
    assert "nsp_label" in proc.stderr and "B is random" in proc.stderr and "1-sent. docs   2" in proc.stderr
    assert c["hints"] and all(f"hint: {h}" in proc.stderr for h in c["hints"])


def test_summary_states_no_target_rows_and_unk_chars(tmp_path, tiny_vocab):
    corpus = tmp_path / "c.txt"
    corpus.write_text("一二三\n四X五X\n", encoding="utf-8")
    out = tmp_path / "o"
    proc = cli("shard", str(corpus), "--out", str(out), "--seq-len", "4", "--vocab", str(tiny_vocab), "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert "no-target rows 1 (kept" in proc.stderr
    assert "[UNK] chars    X 2" in proc.stderr
    assert "hint: 1 row(s) have nothing to predict" in proc.stderr


def test_compat_uer_reports_the_same_statistics(tmp_path, tiny_vocab):
    text = "一二三\n四X五X\n六Y七八九十甲乙\n"
    ours = run(tmp_path, text, tiny_vocab, name="ours", seq_len=4).meta["counts"]
    uer = run(tmp_path, text, tiny_vocab, name="uer", seq_len=4, compat="uer").meta["counts"]
    keys = ("labels", "rows_without_target", "short_rows", "unk_chars", "hints")
    assert {k: ours[k] for k in keys} == {k: uer[k] for k in keys}


def test_static_masking_counts_rows_given_no_masked_position(tmp_path, tiny_vocab):
    # [SEP] alone gets no mask; every row with a content token gets at least one (budget >= 1)
    res = run(tmp_path, "一二三\n四五六七八九\n", tiny_vocab, seq_len=4, static_masking=True)
    import datasets

    ds = datasets.load_from_disk(str(res.out))
    no_mask = sum(1 for r in ds if not r["masked_positions"])
    assert res.meta["counts"]["rows_without_target"] == no_mask == 1
    s = InstanceStats()
    s.rows("mlm", [1], [[3]], (2, 3, 0), static=True)  # counted by `masked`, not twice
    s.masked(0)
    s.masked(2)
    assert s.rows_without_target == 1
