"""Issue 20, data loss (defects 1-4, 9): every file zooprep writes goes through one owner
(corpusprep.outdir.fileout): never a user's file, an input, a file of a zooprep directory or one path
for two outputs; a multi-file output (spm .model + .vocab + card) is committed as one unit."""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from corpusprep.errors import ZooprepError
from corpusprep.outdir import fileout
from corpusprep.outdir.fileout import FileOutputs

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHARS = [chr(0x4E00 + i) for i in range(300)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("c")
    rng = random.Random(5)
    (d / "c.txt").write_text("".join("".join(rng.choices(CHARS, k=rng.randint(20, 80))) + "。\n" for _ in range(400)),
                             encoding="utf-8")
    return d / "c.txt"


@pytest.fixture(scope="module")
def shard(corpus, tmp_path_factory) -> Path:
    from corpusprep.instances.config import ShardConfig
    from corpusprep.instances.pipeline import run_shard

    d = tmp_path_factory.mktemp("s")
    (d / "vocab.txt").write_text("\n".join(SPECIAL + CHARS + ["。"]) + "\n", encoding="utf-8")
    return run_shard(ShardConfig(corpus=(corpus,), out=d / "shard", seq_len=32, vocab=d / "vocab.txt",
                                 workers=1, show_progress=False)).out


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# -- defect 3: build-vocab --out v.txt --report v.txt replaced the vocab with the report ---------------------
def test_build_vocab_refuses_one_path_for_vocab_and_report(tmp_path, corpus):
    from zh_tokenizers.build_vocab_run import BuildVocabConfig, run_build_vocab

    v = tmp_path / "v.txt"
    with pytest.raises(ZooprepError, match="given to both --out and --report"):
        run_build_vocab(BuildVocabConfig(corpus=[str(corpus)], out=v, report=v, workers=1))
    assert not v.exists() and list(tmp_path.iterdir()) == []


# -- defects 1 and 4: pretrain-example --log-file appended to any file; --save-weights x --save-state x -----
def test_pretrain_outputs_are_owned_and_distinct(tmp_path, shard):
    from corpusprep.pretrain_example_command import load_trainer

    pretrain = load_trainer()
    fast = [str(shard), "--size", "nano", "--device", "cpu", "--workers", "0", "--threads", "1", "--max-steps", "1",
            "--batch-size", "4"]
    vocab = shard.parent / "vocab.txt"
    before = vocab.read_bytes()
    with pytest.raises(ZooprepError, match="not written by `zooprep pretrain-example`"):
        pretrain.train(pretrain.parse_args([*fast, "--log-file", str(vocab)]))  # the shard's vocab (outside it)
    assert vocab.read_bytes() == before
    part = next(p for p in shard.rglob("*.arrow"))
    with pytest.raises(ZooprepError, match="lies inside the input"):
        pretrain.train(pretrain.parse_args([*fast, "--log-file", str(part)]))
    x = tmp_path / "x.pt"
    with pytest.raises(ZooprepError, match="given to both --save-state and --save-weights"):
        pretrain.train(pretrain.parse_args([*fast, "--save-weights", str(x), "--save-state", str(x)]))
    assert not x.exists()
    log = tmp_path / "run.jsonl"
    for _ in range(2):  # our own log is continued, our own checkpoints replaced
        pretrain.train(pretrain.parse_args([*fast, "--log-file", str(log), "--save-state", str(x)]))
    events = [json.loads(line)["event"] for line in log.read_text().splitlines() if '"event"' in line]
    assert events == ["start", "done", "start", "done"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.jsonl", "run.jsonl.card.json", "x.pt", "x.pt.card.json"]


# -- defect 2: zoo config --out / zoo render --out overwrote any file, SHARD/zooprep.json included ----------
def test_zoo_outputs_never_replace_a_foreign_file(tmp_path, shard):
    from manifests.command import config, render

    meta = shard / "zooprep.json"
    before = meta.read_bytes()
    with pytest.raises(ZooprepError, match="lies inside the `zooprep shard` output"):
        config(_some_model(), fmt="uer", out=meta, layers=None, hidden=None, overwrite=False)
    assert meta.read_bytes() == before
    user = tmp_path / "page.md"
    user.write_text("mine\n")
    with pytest.raises(ZooprepError, match="not written by `zooprep zoo render`"):
        render(lang="en", out=user, check=None, overwrite=False)
    assert user.read_text() == "mine\n"
    with pytest.raises(ZooprepError, match="must name a file"):
        config(_some_model(), fmt="uer", out=Path(""), layers=None, hidden=None, overwrite=False)
    ours = tmp_path / "config.json"
    config(_some_model(), fmt="uer", out=ours, layers=None, hidden=None, overwrite=False)
    config(_some_model(), fmt="uer", out=ours, layers=2, hidden=None, overwrite=True)  # ours: replaced
    assert json.loads(ours.read_text()) and (tmp_path / "config.json.card.json").is_file()


def _some_model() -> str:
    from manifests.command import _catalog

    return next(iter(_catalog().models))


# -- defect 9: a file output set is one unit: all new or all old after any failure, a rerun always works -----
def _unit(folder: Path) -> FileOutputs:
    return FileOutputs("build-spm", [folder / "p.model", folder / "p.vocab"], folder / "p.card.json",
                       option="--out-prefix")


def _write(folder: Path, tag: str) -> None:
    with _unit(folder) as out:
        out.check()
        for p in out.outputs:
            with out.open(p) as fh:
                fh.write(f"{p.name} {tag}\n")
        out.commit({"tag": tag})


def test_disk_full_at_the_card_keeps_the_old_set_and_a_rerun_works(tmp_path, monkeypatch):
    _write(tmp_path, "old")
    old = _files(tmp_path)

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(fileout, "json_bytes", full)  # the card is the last file staged
        with pytest.raises(OSError):
            _write(tmp_path, "new")
    assert _files(tmp_path) == old  # no staged file, no record left beside them
    _write(tmp_path, "new")
    assert json.loads((tmp_path / "p.card.json").read_text())["tag"] == "new"
    assert (tmp_path / "p.vocab").read_text() == "p.vocab new\n"


class _Killed(BaseException):
    pass


def test_a_kill_between_the_renames_is_rolled_forward_by_the_next_run(tmp_path, monkeypatch):
    _write(tmp_path, "old")
    calls = []
    real = os.replace

    def dies_after_one(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise _Killed()
        real(src, dst)

    with monkeypatch.context() as m:
        m.setattr(fileout.os, "replace", dies_after_one)
        with pytest.raises(_Killed):
            _write(tmp_path, "new")
    assert (tmp_path / "p.model").read_text() == "p.model new\n"  # half swapped: the record says how to finish
    assert (tmp_path / ".p.card.json.commit").is_file()
    unit = _unit(tmp_path)
    unit.check()  # rolls forward, then finds every file its card names
    unit.abort()
    assert json.loads((tmp_path / "p.card.json").read_text())["tag"] == "new"
    assert (tmp_path / "p.vocab").read_text() == "p.vocab new\n"
    assert sorted(_files(tmp_path)) == ["p.card.json", "p.model", "p.vocab"]


def test_a_kill_while_staging_leaves_the_old_set_and_the_next_run_removes_the_staged_files(tmp_path):
    _write(tmp_path, "old")
    old = _files(tmp_path)
    unit = _unit(tmp_path)
    unit.check()
    with unit.open(tmp_path / "p.model") as fh:
        fh.write("partial")
    os.close(unit._fd)  # the process dies here: its lock goes, its record and staged file stay
    unit._fd = None
    assert len(_files(tmp_path)) == 5
    _write(tmp_path, "new")
    assert sorted(_files(tmp_path)) == ["p.card.json", "p.model", "p.vocab"] and _files(tmp_path) != old


def test_two_runs_on_one_output_set_at_once_are_refused(tmp_path):
    a = _unit(tmp_path)
    a.check()
    with pytest.raises(ZooprepError, match="another zooprep run is writing"):
        _unit(tmp_path).check()
    a.abort()
    _write(tmp_path, "after")


def test_build_spm_failure_at_the_card_keeps_model_vocab_and_card_together(tmp_path, corpus, monkeypatch):
    from zh_tokenizers.spm_train import SpmTrainConfig, train_spm

    cfg = SpmTrainConfig(corpus=(str(corpus),), out_prefix=str(tmp_path / "sp"), vocab_size=340, workers=1)
    train_spm(cfg)
    old = _files(tmp_path)
    with monkeypatch.context() as m:
        m.setattr(fileout, "json_bytes", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space left on device")))
        with pytest.raises(OSError):
            train_spm(SpmTrainConfig(corpus=(str(corpus),), out_prefix=str(tmp_path / "sp"), vocab_size=360, workers=1,
                                     overwrite=True))
    assert _files(tmp_path) == old
    card = train_spm(SpmTrainConfig(corpus=(str(corpus),), out_prefix=str(tmp_path / "sp"), vocab_size=360, workers=1, overwrite=True))
    assert card["model"]["pieces"] == 360


def test_pretrain_refuses_ids_outside_the_vocabulary_in_one_line(tmp_path):
    """A damaged part with ids >= vocab_size was an IndexError deep in the embedding."""
    from shard_writer import synthetic_rows, write_shard
    from corpusprep.pretrain_example_command import load_trainer

    pretrain = load_trainer()
    cols = synthetic_rows(16, "mlm", seq_len=16, vocab_size=21128, seed=1)
    shard = write_shard(tmp_path / "bad", cols, "mlm", seq_len=16, vocab_size=1000)  # ids up to 21127, vocab 1000
    with pytest.raises(ZooprepError, match="outside the vocabulary of 1000"):
        pretrain.train(pretrain.parse_args([str(shard), "--size", "nano", "--device", "cpu", "--workers", "0",
                                            "--threads", "1", "--max-steps", "2", "--batch-size", "4"]))
