"""build-vocab: google layout, exact counts on a hand-checked corpus, --extend, reports, determinism, I/O."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from corpusprep.corpus_input import expand_corpus
from corpusprep.errors import InputError, ZooprepError
from zh_tokenizers import load_tokenizer
from zh_tokenizers.build_vocab_run import BuildVocabConfig, run_build_vocab
from zh_tokenizers.vocab_build import HEADER
from zh_tokenizers.vocab_count import count_unit, merge_counts, plan_units

from conftest import REPO, cli
TINY = "中文中文abc\nABC 中！\nx\n"


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


@pytest.fixture()
def tiny(tmp_path) -> Path:
    p = tmp_path / "tiny.txt"
    p.write_text(TINY, encoding="utf-8")
    return p


def test_header_is_googles_reserved_block(google_vocab):
    assert HEADER == _lines(google_vocab)[:104]


def test_tiny_corpus_vocab_and_report_by_hand(tiny, tmp_path, google_vocab):
    # Units the tokenizer sees: 中 x3, 文 x2, abc x2 (ABC lower-cased), ！ x1, x x1 -> 13 characters.
    out = tmp_path / "v.txt"
    run_build_vocab(BuildVocabConfig(corpus=[str(tiny)], out=out, min_freq=2, min_word_freq=2,
                                     compare=[google_vocab], workers=1))
    assert _lines(out) == HEADER + ["中", "a", "b", "c", "文", "abc", "##b", "##c"]
    rep = json.loads((tmp_path / "v.txt.report.json").read_text(encoding="utf-8"))
    assert rep["corpus"]["texts"] == 3 and rep["corpus"]["characters"] == 13
    own, google = rep["vocabs"]
    assert own["vocab_size"] == 112
    assert own["char_coverage"] == round(11 / 13, 8)  # ！ and x are below --min-freq
    assert own["tokens"] == 9 and own["unk_tokens"] == 2 and own["unk_rate"] == round(2 / 9, 8)
    assert own["top_missing_chars"] == [["x", 1], ["！", 1]]
    assert google["vocab"] == str(google_vocab) and google["char_coverage"] == 1.0 and google["unk_tokens"] == 0


def test_built_vocab_loads_in_hf_with_identical_ids(corpora_dir, tmp_path):
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizer

    corpus = corpora_dir / "cluecorpussmall" / "dbiir__UER-py" / "corpora" / "CLUECorpusSmall_sampled.txt"
    out = tmp_path / "clue_vocab.txt"
    run_build_vocab(BuildVocabConfig(corpus=[str(corpus)], out=out, min_freq=2, min_word_freq=3, workers=1))
    lines = corpus.read_text(encoding="utf-8").splitlines() + ["Hello WORLD 2024年 naïve [MASK] ％"]
    ours = load_tokenizer(vocab=out)
    hf = BertWordPieceTokenizer(str(out), lowercase=True)
    assert ours.encode_batch(lines) == [e.ids for e in hf.encode_batch(lines, add_special_tokens=False)]
    bt = BertTokenizer(str(out), do_lower_case=True)  # loads unchanged in transformers
    assert [ours.encode(t) for t in lines[:50]] == [bt.encode(t, add_special_tokens=False) for t in lines[:50]]
    assert ours.special_ids == {"pad": 0, "unk": 100, "cls": 101, "sep": 102, "mask": 103}


def test_extend_keeps_every_base_line_and_id(corpora_dir, google_vocab, tmp_path):
    corpus = corpora_dir / "ancient"
    out = tmp_path / "ancient_vocab.txt"
    run_build_vocab(BuildVocabConfig(corpus=[str(corpus)], out=out, extend=google_vocab, min_freq=5, workers=1))
    base = google_vocab.read_bytes()
    new = out.read_bytes()
    assert new.startswith(base)  # byte-identical prefix: no id moves, odd lines (U+2028 ...) kept verbatim
    added = new[len(base):].decode("utf-8").split("\n")[:-1]
    assert added and all(len(tok) == 1 for tok in added)
    base_tokens = set(load_tokenizer(vocab=google_vocab).vocab.id_to_token)
    assert not base_tokens & set(added)
    counts = merge_counts(count_unit(u)[0] for u in plan_units(
        expand_corpus(sorted(str(p) for p in corpus.rglob("*.txt")))))
    char_counts: dict[str, int] = {}
    for tok, n in counts.items():
        for ch in tok:
            char_counts[ch] = char_counts.get(ch, 0) + n
    assert set(added) == {ch for ch, n in char_counts.items() if n >= 5 and ch not in base_tokens}
    assert [char_counts[c] for c in added] == sorted((char_counts[c] for c in added), reverse=True)
    rep = json.loads(Path(str(out) + ".report.json").read_text(encoding="utf-8"))
    assert rep["added_to_base"] == len(added)


def test_counting_is_independent_of_units_and_workers(corpora_dir, tmp_path):
    files = sorted(str(p) for p in (corpora_dir / "cluecorpussmall").rglob("*sampled.txt"))
    one = merge_counts(count_unit(u)[0] for u in plan_units(expand_corpus(files)))
    many_units = plan_units(expand_corpus(files), chunk_bytes=4096)
    assert len(many_units) > 50
    assert merge_counts(count_unit(u)[0] for u in many_units) == one
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}.txt"
        run_build_vocab(BuildVocabConfig(corpus=files, out=out, min_freq=2, workers=workers))
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_parquet_clean_output_counts_like_text(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    docs = ["第一行\n第二行 Hello", "ＡＢＣ 123", "中文。"]
    d = tmp_path / "clean"
    d.mkdir()
    pq.write_table(pa.table({"text": docs[:2], "source": ["a", "a"], "line": [1, 2], "meta": ["{}", "{}"]}),
                   d / "train-00000-of-00002.parquet")
    pq.write_table(pa.table({"text": docs[2:], "source": ["a"], "line": [3], "meta": ["{}"]}),
                   d / "train-00001-of-00002.parquet")
    (d / "report.json").write_text("{}")
    txt = tmp_path / "same.txt"
    txt.write_text("\n".join(d.replace("\n", " ") for d in docs) + "\n", encoding="utf-8")
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    run_build_vocab(BuildVocabConfig(corpus=[str(d)], out=a, workers=1))
    run_build_vocab(BuildVocabConfig(corpus=[str(txt)], out=b, workers=1))
    assert a.read_bytes() == b.read_bytes()
    assert "ａ" in _lines(a) and "123" not in _lines(a)  # fullwidth lower-cased; words need --min-word-freq


def test_max_size_and_coverage(tiny, tmp_path):
    out = tmp_path / "v.txt"
    run_build_vocab(BuildVocabConfig(corpus=[str(tiny)], out=out, max_size=106, workers=1))
    assert _lines(out) == HEADER + ["中", "a"]
    run_build_vocab(BuildVocabConfig(corpus=[str(tiny)], out=out, coverage=0.5, workers=1, overwrite=True))
    assert _lines(out)[104:] == ["中", "a", "b", "##b"]  # 中+a = 5/13 < 0.5 -> add b = 7/13; ## for kept b only


def test_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        run_build_vocab(BuildVocabConfig(corpus=[str(tmp_path / "nope.txt")], out=tmp_path / "v.txt", on_error="fail"))
    with pytest.raises(InputError, match="nope.txt: no such file"):
        run_build_vocab(BuildVocabConfig(corpus=[str(tmp_path / "nope.txt")], out=tmp_path / "v.txt"))
    assert not (tmp_path / "v.txt").exists()
    # changed: a line that is not UTF-8 is a counted reject (as in clean and shard), not a stop
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("第一行\n".encode("utf-8") + "第二行\n".encode("gb18030"))
    run_build_vocab(BuildVocabConfig(corpus=[str(gbk)], out=tmp_path / "v.txt", workers=1))
    rep = json.loads((tmp_path / "v.txt.report.json").read_text(encoding="utf-8"))
    assert rep["corpus"]["texts"] == 1 and rep["corpus"]["rejected_lines"] == {"undecodable": 1}


def test_one_bad_file_does_not_stop_the_count(tmp_path):
    from corpusprep.errors import InputsFailed

    good = tmp_path / "good.txt"
    good.write_text("北京\n", encoding="utf-8")
    bad = tmp_path / "t.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(InputsFailed):
        run_build_vocab(BuildVocabConfig(corpus=[str(good), str(bad)], out=tmp_path / "v.txt", workers=1))
    rep = json.loads((tmp_path / "v.txt.report.json").read_text(encoding="utf-8"))
    assert rep["corpus"]["texts"] == 1 and [f["path"] for f in rep["corpus"]["failed_files"]] == [str(bad)]
    assert "北" in (tmp_path / "v.txt").read_text(encoding="utf-8")
    run_build_vocab(BuildVocabConfig(corpus=[str(good), str(bad)], out=tmp_path / "v.txt", on_error="skip",
                                     overwrite=True))
    with pytest.raises(InputError, match="not a readable Parquet"):
        run_build_vocab(BuildVocabConfig(corpus=[str(good), str(bad)], out=tmp_path / "v.txt", on_error="fail",
                                         overwrite=True))


def _cli(*args, stdin: str = "") -> subprocess.CompletedProcess:
    return cli(*args, input=stdin.encode("utf-8"), text=False, timeout=120)


def test_cli_tokenize_and_errors(google_vocab, tmp_path):
    r = _cli("tokenize", "--vocab", str(google_vocab), stdin="北京 Hello\n\nnaïve!\n")
    assert r.returncode == 0 and r.stdout.decode("utf-8") == "北 京 hello\n\nna ##ive !\n"
    r = _cli("tokenize", "--vocab", str(google_vocab), "--ids", stdin="北京\n")
    assert r.stdout.decode() == "1266 776\n"
    r = _cli("tokenize", "--vocab", str(google_vocab), "--kind", "char", stdin=" a b\n")
    assert r.stdout.decode() == "a [UNK] b\n"
    r = _cli("build-vocab", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "v.txt"))
    err = r.stderr.decode().strip()
    assert r.returncode == 2 and err.startswith("error:") and "missing.txt" in err and "\n" not in err
