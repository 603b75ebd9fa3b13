"""`inspect DIR --start N --random K --seed S --ids --pieces`: chosen rows, special tokens shown the same
way for a vocab and a sentencepiece shard, and a legend for every field shown."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from corpusprep.errors import ZooprepError
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.inspect_dir import InspectOptions, inspect_dir
from corpusprep.instances.pipeline import run_shard

from conftest import REPO, cli
CHARS = "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸。"
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
DOCS = [CHARS[i % 20] * (2 + i % 5) + "。" for i in range(40)]  # 40 one-line documents


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> dict[str, Path]:
    """The same corpus packed with a char vocab and with a small sentencepiece model."""
    import sentencepiece as spm

    d = tmp_path_factory.mktemp("inspect")
    vocab = d / "vocab.txt"
    vocab.write_text("\n".join(SPECIAL + list(CHARS)) + "\n", encoding="utf-8")
    corpus = d / "c.txt"
    corpus.write_text("\n".join(DOCS) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(DOCS * 20), model_prefix=str(d / "sp"), vocab_size=40, model_type="unigram",
        pad_id=0, unk_id=1, bos_id=-1, eos_id=-1, pad_piece="[PAD]", unk_piece="[UNK]",
        control_symbols=["[CLS]", "[SEP]"], user_defined_symbols=["[MASK]"], character_coverage=1.0,
        hard_vocab_limit=False, minloglevel=2)
    out = {}
    for name, tok in (("vocab", {"vocab": vocab}), ("spm", {"spm": d / "sp.model"})):
        out[name] = run_shard(ShardConfig(corpus=(corpus,), out=d / name, seq_len=16, workers=1,
                                          show_progress=False, **tok)).out
    out["bert"] = run_shard(ShardConfig(corpus=(corpus,), out=d / "bert", seq_len=16, processor="bert", workers=1,
                                        show_progress=False, vocab=vocab)).out
    return out


def rows_shown(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"^--- row (\d+)", text, re.M)]


def line(text: str, prefix: str) -> list[str]:
    return [ln[len(prefix):].strip() for ln in text.splitlines() if ln.startswith(prefix)]


def test_start_and_random_choose_rows(shards):
    out = shards["vocab"]
    assert rows_shown(inspect_dir(out, opts=InspectOptions(n=3, start=5))) == [5, 6, 7]
    picked = rows_shown(inspect_dir(out, opts=InspectOptions(random=4, seed=1, start=10)))
    assert len(picked) == 4 and len(set(picked)) == 4 and all(r >= 10 for r in picked) and picked == sorted(picked)
    assert rows_shown(inspect_dir(out, opts=InspectOptions(random=4, seed=1, start=10))) == picked  # same seed
    others = {tuple(rows_shown(inspect_dir(out, opts=InspectOptions(random=4, seed=s)))) for s in range(2, 7)}
    assert len(others) > 1  # the seed matters
    assert rows_shown(inspect_dir(out, opts=InspectOptions(random=999))) == list(range(40))
    with pytest.raises(ZooprepError, match="past the last row"):
        inspect_dir(out, opts=InspectOptions(start=40))
    with pytest.raises(ZooprepError, match="--random"):
        inspect_dir(out, opts=InspectOptions(random=-1))


def test_ids_and_pieces_lines_match_the_row(shards):
    import datasets

    text = inspect_dir(shards["vocab"], opts=InspectOptions(n=1, start=3, ids=True, pieces=True))
    row = datasets.load_from_disk(str(shards["vocab"]))[3]
    ids = row["input_ids"]  # format 2: stored unpadded
    assert line(text, "ids ") == [" ".join(map(str, ids))]
    assert line(text, "pieces ") == [" ".join(["[CLS]"] + list(DOCS[3]) + ["[SEP]"])]
    assert line(text, "text ") == [f"[CLS] {DOCS[3]} [SEP]"]
    plain = inspect_dir(shards["vocab"], opts=InspectOptions(n=1, start=3))
    assert not line(plain, "ids ") and not line(plain, "pieces ")


def test_special_tokens_read_the_same_for_vocab_and_spm(shards):
    texts = {name: line(inspect_dir(shards[name], opts=InspectOptions(n=5, pieces=True)), "text ")
             for name in ("vocab", "spm")}
    for name, rows in texts.items():
        assert len(rows) == 5
        for shown, doc in zip(rows, DOCS):
            assert shown.startswith("[CLS] ") and shown.endswith(" [SEP]"), (name, shown)
            assert shown[len("[CLS] "):-len(" [SEP]")].replace(" ", "") == doc, (name, shown)
    spm_pieces = line(inspect_dir(shards["spm"], opts=InspectOptions(n=1, pieces=True)), "pieces ")[0].split()
    assert spm_pieces[0] == "[CLS]" and spm_pieces[-1] == "[SEP]"


def test_legend_explains_every_field_shown(shards):
    text = inspect_dir(shards["bert"], opts=InspectOptions(n=2, ids=True, pieces=True))
    legend = text[text.index("legend:"): text.index("\n--- row")]
    for field in ("--- row", "length", "seg_a_len", "nsp_label", "text / A / B", "ids", "pieces"):
        assert f"  {field}" in legend, field
    assert "B is random" in legend
    first = text[text.index("\n--- row") + 1:].splitlines()
    assert re.fullmatch(r"--- row 0  length \d+  seg_a_len \d+  nsp_label [01]", first[0])
    assert first[1].startswith("A       [CLS] ") and first[2].startswith("B       ") and first[2].endswith("[SEP]")
    assert "{" not in "\n".join(first)  # no unexplained dict after a row any more
    mlm = inspect_dir(shards["vocab"], opts=InspectOptions(n=1))
    assert "seg_a_len" not in mlm[mlm.index("legend:"):] and "--- row 0  length" in mlm


def test_cli_options_and_one_line_errors(shards):
    out = shards["vocab"]
    ok = cli("inspect", str(out), "--random", "2", "--seed", "5", "--ids", "--pieces")
    assert ok.returncode == 0, ok.stderr
    assert len(rows_shown(ok.stdout)) == 2 and "legend:" in ok.stdout and line(ok.stdout, "pieces ")
    bad = cli("inspect", str(out), "--start", "1000")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "past the last row (40 rows)" in bad.stderr


def test_without_the_tokenizer_rows_show_ids_and_the_legend_says_so(shards, tmp_path):
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(shards["vocab"], moved)
    vocab = shards["vocab"].parent / "vocab.txt"  # the recorded tokenizer file is gone (zooprep.json stays intact)
    vocab.rename(tmp_path / "elsewhere.txt")  # (a vocab.txt beside the shard would be found by its sha256)
    try:
        text = inspect_dir(moved, opts=InspectOptions(n=1))
    finally:
        (tmp_path / "elsewhere.txt").rename(vocab)
    assert "tokenizer files not found" in text and "  ids             token ids" in text
    assert line(text, "ids ") and not line(text, "text ")


@pytest.mark.parametrize("option", ["--vocab", "--spm"])
def test_a_named_tokenizer_that_cannot_load_is_a_one_line_error(shards, tmp_path, option):
    bad = tmp_path / "not-a-tokenizer.txt"
    bad.write_bytes(b"\xff\xfe\x00garbage\n")
    res = cli("inspect", str(shards["vocab"]), option, str(bad))
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith(f"error: {bad}") and "tokenizer files not found" not in res.stdout
