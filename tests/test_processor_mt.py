"""mt (translation pairs, a second tokenizer for the target side): hand-checked framing, option
checks, 1 vs 2 workers, `--compat uer` against the restated MtDataset (tests/uer_restated.py) and
against the real preprocess.py of UER-py 5743050 (../shared/reference/trainers/UER-py, run as a
subprocess), and the collator against UER's MtDataloader tensors."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from corpusprep.errors import ZooprepError
from corpusprep.feed.collate import CollatorConfig, PretrainCollator
from corpusprep.feed.export import ExportConfig, export_uer, iter_uer_dataset
from corpusprep.feed.shards import ShardReader
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.data_processors.mt import mt_instance
from corpusprep.instances.masking import MaskIds
from corpusprep.instances.pipeline import run_shard
from tests.uer_restated import UerPreprocess, uer_batch
from zh_tokenizers import load_tokenizer

REPO = Path(__file__).parent.parent
SRC_CHARS = "一二三四五六七八九十"
TGT_CHARS = "甲乙丙丁戊己庚辛壬癸"


@pytest.fixture()
def vocabs(tmp_path) -> tuple[Path, Path]:
    """Source and target vocabularies with different ids for the specials and the characters."""
    src = tmp_path / "src_vocab.txt"
    src.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *SRC_CHARS]) + "\n", encoding="utf-8")
    tgt = tmp_path / "tgt_vocab.txt"
    tgt.write_text("\n".join(["[UNK]", *TGT_CHARS, "[SEP]", "[PAD]", "[CLS]"]) + "\n", encoding="utf-8")
    return src, tgt


def shard(tmp_path, corpus, src_vocab, name="out", **kw) -> Path:
    kw.setdefault("workers", 1)
    cfg = ShardConfig(corpus=(Path(corpus),), out=tmp_path / name, vocab=Path(src_vocab), processor="mt",
                      show_progress=False, **kw)
    return run_shard(cfg).out


def exported(tmp_path, out: Path) -> list:
    target = tmp_path / f"{out.name}.pt"
    export_uer(ExportConfig(out, target))
    return list(iter_uer_dataset(target))


def test_rows_and_targets_use_their_own_vocabularies_and_lengths(tmp_path, vocabs):
    src_v, tgt_v = vocabs
    corpus = tmp_path / "pairs.txt"
    corpus.write_text("一二三\t甲乙\n四五六七八九\t丙丁戊己庚辛壬\nno tab here\n", encoding="utf-8")
    out = shard(tmp_path, corpus, src_v, seq_len=5, tgt_seq_len=4, tgt_vocab=tgt_v)
    got = exported(tmp_path, out)
    # source: [CLS]=2 [SEP]=3, chars from 5; target: [CLS]=13 [SEP]=11, chars from 1; target cut at tgt_seq_len + 1
    assert got == [(([2, 5, 6, 7, 3], 0), ([13, 1, 2, 11], 1), [5]),
                   (([2, 8, 9, 10, 11], 0), ([13, 3, 4, 5, 6], 0), [5])]
    meta = json.loads((out / "zooprep.json").read_text())
    assert meta["counts"]["rejected_lines"] == 1 and meta["processor_options"]["tgt_seq_len"] == 4
    assert meta["processor_options"]["tgt_tokenizer"]["vocab_size"] == 14
    from corpusprep.instances.inspect_dir import inspect_dir

    shown = inspect_dir(out, n=1)  # the target decoded with the target vocabulary, the row with the source's
    assert "text    [CLS] 一二三 [SEP]" in shown and "target  [CLS] 甲乙 [SEP]" in shown
    ids = MaskIds(pad=0, cls=2, sep=3, mask=4, vocab_size=15, unk=1)
    assert mt_instance([5, 6, 7], [1], 3, 1, ids, (13, 11)) == ([2, 5, 6], [13, 1])


def test_target_side_options_are_checked(tmp_path, vocabs):
    src_v, tgt_v = vocabs
    corpus = tmp_path / "pairs.txt"
    corpus.write_text("一\t甲\n", encoding="utf-8")
    with pytest.raises(ZooprepError, match="--tgt-vocab or --tgt-spm"):
        shard(tmp_path, corpus, src_v, "a")
    with pytest.raises(ZooprepError, match="applies to --processor mt only"):
        run_shard(ShardConfig(corpus=(corpus,), out=tmp_path / "b", vocab=src_v, processor="cls", tgt_vocab=tgt_v))
    with pytest.raises(ZooprepError, match="--tgt-tokenizer"):
        shard(tmp_path, corpus, src_v, "c", tgt_vocab=tgt_v, tgt_tokenizer_kind="bpe")
    with pytest.raises(ZooprepError, match="--tgt-seq-len"):
        shard(tmp_path, corpus, src_v, "d", tgt_vocab=tgt_v, tgt_seq_len=0)
    no_cls = tmp_path / "no_cls.txt"
    no_cls.write_text("[PAD]\n[UNK]\n[SEP]\n甲\n", encoding="utf-8")
    with pytest.raises(ZooprepError, match=r"no_cls.txt: has no \[CLS\]"):
        shard(tmp_path, corpus, src_v, "e", tgt_vocab=no_cls)
    bad = subprocess.run([sys.executable, "cli.py", "shard", str(corpus), "--out", str(tmp_path / "f"), "--processor",
                          "mt", "--vocab", str(src_v), "--tgt-spm", str(tmp_path / "missing.model")],
                         cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and bad.stderr.strip().count("\n") == 0


def test_one_and_two_workers_give_identical_bytes_and_collate(tmp_path, vocabs):
    src_v, tgt_v = vocabs
    rng = np.random.default_rng(4)
    corpus = tmp_path / "pairs.txt"
    corpus.write_text("".join("".join(rng.choice(list(SRC_CHARS), rng.integers(1, 20))) + "\t"
                              + "".join(rng.choice(list(TGT_CHARS), rng.integers(1, 20))) + "\n"
                              for _ in range(600)), encoding="utf-8")
    one = shard(tmp_path, corpus, src_v, "one", seq_len=12, tgt_seq_len=9, tgt_vocab=tgt_v, unit_mb=0.002)
    two = shard(tmp_path, corpus, src_v, "two", seq_len=12, tgt_seq_len=9, tgt_vocab=tgt_v, unit_mb=0.002, workers=2)
    meta = json.loads((one / "zooprep.json").read_text())
    assert len(meta["files"]) > 3 and meta["counts"]["instances"] == 600
    assert [(one / f["path"]).read_bytes() for f in meta["files"]] == \
        [(two / f["path"]).read_bytes() for f in json.loads((two / "zooprep.json").read_text())["files"]]
    reader = ShardReader(one)
    raw = reader.take(np.arange(32))
    hf = PretrainCollator(CollatorConfig.from_meta(reader.meta, names="hf")).numpy(raw)
    uer = PretrainCollator(CollatorConfig.from_meta(reader.meta, names="uer")).numpy(raw)
    assert hf["decoder_input_ids"].shape == (32, 9) and hf["input_ids"].shape == (32, 12)
    want = uer_batch("mt", exported(tmp_path, one)[:32], 15, reader.meta.special_ids)
    for key, value in want.items():
        assert uer[key].tolist() == value, key
    # HF labels: the decoder's real outputs only
    assert (hf["labels"][hf["decoder_attention_mask"] == 0] == -100).all()


# ------------------------------------------------------------------ UER parity -----------------------

def _pairs(shared_dir: Path, tmp_path: Path, n: int = 240) -> Path:
    base = shared_dir / "corpora" / "couplets" / "v-zich__couplet-clean-dataset" / "couplets" / "test"
    ins = (base / "in.txt").read_text(encoding="utf-8").splitlines()[:n]
    outs = (base / "out.txt").read_text(encoding="utf-8").splitlines()[:n]
    lines = [f"{a.strip()}\t{b.strip()}" for a, b in zip(ins, outs)]
    # what UER skips: a third field, no tab, a blank line; and an unterminated last line
    lines[7], lines[50], lines[51] = lines[7] + "\t多", "单独一行", ""
    path = tmp_path / "mt_pairs.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# (source tokenizer, target tokenizer, seq_len, tgt_seq_len, --processes_num values)
PARITY = [
    ({"vocab": "google_zh_vocab.txt"}, {"vocab": "google_zh_vocab.txt"}, 16, 12, (1, 3)),
    ({"vocab": "google_zh_vocab.txt"}, {"vocab": "google_zh_poem_vocab.txt", "kind": "char"}, 24, 8, (2,)),
    ({"vocab": "google_zh_vocab.txt"}, {"spm": "cluecorpussmall_spm.model"}, 20, 16, (1, 2)),
]


def _tokenizers(shared_dir, src: dict, tgt: dict):
    ref = shared_dir / "reference" / "vocab"
    paths = {k: ref / v for k, v in {**src, **{f"tgt_{k}": v for k, v in tgt.items()}}.items() if k != "tgt_kind"}
    src_tok = load_tokenizer(vocab=str(paths["vocab"]), uer_compat=True)
    tgt_tok = (load_tokenizer(spm=str(paths["tgt_spm"])) if "tgt_spm" in paths else
               load_tokenizer(vocab=str(paths["tgt_vocab"]), kind=tgt.get("kind", "bert"), uer_compat=True))
    return paths, src_tok, tgt_tok


def _ours(tmp_path, corpus, paths, tgt, seq, tgt_seq, n):
    return shard(tmp_path, corpus, paths["vocab"], f"w{n}", seq_len=seq, tgt_seq_len=tgt_seq, compat="uer",
                 workers=n, tgt_vocab=paths.get("tgt_vocab"), tgt_spm=paths.get("tgt_spm"),
                 tgt_tokenizer_kind=tgt.get("kind"))


@pytest.mark.parametrize("src,tgt,seq,tgt_seq,workers", PARITY, ids=["bert-bert", "bert-char", "bert-spm"])
def test_compat_uer_equals_restated_mt_dataset(tmp_path, shared_dir, src, tgt, seq, tgt_seq, workers):
    corpus = _pairs(shared_dir, tmp_path)
    paths, src_tok, tgt_tok = _tokenizers(shared_dir, src, tgt)
    for n in workers:
        out = _ours(tmp_path, corpus, paths, tgt, seq, tgt_seq, n)
        expected = UerPreprocess(src_tok, "mt", seq, tgt_seq_length=tgt_seq, tgt_tok=tgt_tok).run(corpus, n)
        got = exported(tmp_path, out)
        assert len(got) == len(expected) > 200
        assert got == expected


UER_PY = REPO.parent / "shared" / "reference" / "trainers" / "UER-py"


def _uer_runnable() -> str | None:
    if not (UER_PY / "preprocess.py").is_file():
        return f"{UER_PY}/preprocess.py is absent (../shared/reference/trainers/UER-py)"
    missing = [m for m in ("torch", "six", "regex", "packaging") if importlib.util.find_spec(m) is None]
    return f"UER-py's preprocess.py needs {', '.join(missing)}" if missing else None


@pytest.mark.skipif(_uer_runnable() is not None, reason=str(_uer_runnable()))
@pytest.mark.parametrize("src,tgt,seq,tgt_seq,workers", [PARITY[0][:4] + ((1, 2),), PARITY[2][:4] + ((1,),)],
                         ids=["bert-bert", "bert-spm"])
def test_compat_uer_export_is_byte_identical_to_real_preprocess(tmp_path, shared_dir, src, tgt, seq, tgt_seq,
                                                                workers):
    corpus = _pairs(shared_dir, tmp_path)
    paths, _, _ = _tokenizers(shared_dir, src, tgt)
    (tmp_path / "models").symlink_to(UER_PY / "models")  # UER reads models/special_tokens_map.json from its cwd
    for n in workers:
        out = _ours(tmp_path, corpus, paths, tgt, seq, tgt_seq, n)
        theirs = tmp_path / f"uer{n}.pt"
        argv = [sys.executable, str(UER_PY / "preprocess.py"), "--corpus_path", str(corpus), "--dataset_path",
                str(theirs), "--data_processor", "mt", "--vocab_path", str(paths["vocab"]), "--seq_length", str(seq),
                "--tgt_seq_length", str(tgt_seq), "--processes_num", str(n)]
        argv += (["--tgt_spm_model_path", str(paths["tgt_spm"])] if "tgt_spm" in paths
                 else ["--tgt_vocab_path", str(paths["tgt_vocab"]), "--tgt_tokenizer", tgt.get("kind", "bert")])
        run = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True)  # its dataset-tmp-N.pt land in cwd
        assert run.returncode == 0, run.stderr[-2000:]
        export_uer(ExportConfig(out, tmp_path / f"ours{n}.pt"))
        assert (tmp_path / f"ours{n}.pt").read_bytes() == theirs.read_bytes()
        assert len(list(iter_uer_dataset(theirs))) > 200


def test_a_large_target_vocabulary_widens_the_id_type_and_the_cli_reaches_mt(tmp_path, vocabs):
    src_v, _ = vocabs
    big = tmp_path / "big_tgt.txt"  # 70,000 entries: target ids past 65535 need uint32 for every id column
    big.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *(f"w{i}" for i in range(69995)), "甲"]) + "\n",
                   encoding="utf-8")
    corpus = tmp_path / "pairs.txt"
    corpus.write_text("一二\t甲 w3 nope\n", encoding="utf-8")
    out = tmp_path / "cli_out"
    run = subprocess.run([sys.executable, "cli.py", "shard", str(corpus), "--out", str(out), "--processor", "mt",
                          "--vocab", str(src_v), "--tgt-vocab", str(big), "--tgt-tokenizer", "space",
                          "--seq-len", "8", "--tgt-seq-len", "6", "--workers", "1"], cwd=REPO, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    meta = json.loads((out / "zooprep.json").read_text())
    assert meta["dtype"] == "uint32" and meta["processor_options"]["tgt_tokenizer"]["kind"] == "space"
    assert exported(tmp_path, out) == [(([2, 5, 6, 3], 4), ([2, 69999, 7, 1, 3], 2), [4])]
