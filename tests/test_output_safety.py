"""Output safety (issue 10): ownership marker, input checks, honest resume, completeness, lock, verify.

One test (or a few) per defect of the issue, each reproducing the failing command; plus the rules
for single-file outputs and the readers that must refuse an unfinished zooprep directory.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from corpusprep.atomic import sha256_file
from corpusprep.cleaning.config import CleanConfig
from corpusprep.cleaning.pipeline import run_clean
from corpusprep.errors import InputError, ZooprepError
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.pipeline import run_shard
from corpusprep.outdir import OutputDir, read_complete
from corpusprep.verify import verify_dir

from conftest import REPO, cli
from fault_hooks import clean_stops_after
CHARS = "今天气很好我们一起去公园散步然后吃饭机器学习是人工智能的个分支北京首都长江中国第号。，"
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
DOCS = ["今天天气很好，我们一起去公园散步，然后去吃饭。", "机器学习是人工智能的一个分支。",
        "北京是中国的首都。", "长江是中国第一长河。"]


def _corpus(root: Path, n: int = 4) -> Path:
    folder = root / "corpus"
    folder.mkdir(parents=True)
    for k in range(n):
        (folder / f"f{k}.txt").write_text("".join(f"{d}第{k}{i}号。\n" for i in range(6) for d in DOCS), encoding="utf-8")
    return folder


def _clean(inputs, out, **kw) -> dict:
    kw.setdefault("workers", 1)
    kw.setdefault("progress", False)
    kw.setdefault("fmt", "text")
    return run_clean(CleanConfig(inputs=tuple(str(i) for i in inputs), out=str(out), **kw))


@pytest.fixture()
def vocab(tmp_path) -> Path:
    p = tmp_path / "vocab.txt"
    p.write_text("\n".join(SPECIAL + sorted(set(CHARS))) + "\n", encoding="utf-8")
    return p


def _shard(corpus, out, vocab, **kw):
    kw.setdefault("workers", 1)
    return run_shard(ShardConfig(corpus=tuple(corpus if isinstance(corpus, list) else [corpus]), out=Path(out),
                                 vocab=vocab, seq_len=16, show_progress=False, **kw))


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _one_error_line(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in lines[0], lines[0]


# -- defect 1: `shard IN --out IN --overwrite` deleted the input folder -------------------------------
def test_d1_overwrite_never_touches_an_input(tmp_path, vocab):
    folder = _corpus(tmp_path)
    (folder / "notes.md").write_text("my notes")
    before = _tree(folder)
    _one_error_line(cli("shard", str(folder), "--out", str(folder), "--overwrite", "--vocab", str(vocab)),
                    "is the input")
    link = tmp_path / "link"
    link.symlink_to(folder)  # the same folder under another name
    _one_error_line(cli("shard", str(folder), "--out", str(link), "--overwrite", "--vocab", str(vocab)),
                    "is the input")
    # an --out that contains the input, or lies inside it
    with pytest.raises(ZooprepError, match="contains the input"):
        _shard(folder / "f0.txt", tmp_path, vocab, overwrite=True)
    with pytest.raises(ZooprepError, match="lies inside the input"):
        _shard(folder, folder / "sub", vocab, overwrite=True)
    kept = tmp_path / "tok"
    kept.mkdir()
    (kept / "vocab.txt").write_bytes(vocab.read_bytes())
    with pytest.raises(ZooprepError, match="contains the input"):  # the vocab is an input too
        _shard(folder, kept, kept / "vocab.txt", overwrite=True)
    assert _tree(folder) == before and (kept / "vocab.txt").is_file()


def test_d1_overwrite_replaces_only_a_marked_directory(tmp_path, vocab):
    folder = _corpus(tmp_path)
    user = tmp_path / "mine"
    user.mkdir()
    (user / "thesis.txt").write_text("years of work")
    with pytest.raises(ZooprepError, match="not empty and was not created by zooprep"):
        _shard(folder, user, vocab, overwrite=True)
    assert _tree(user) == {"thesis.txt": b"years of work"}
    out = tmp_path / "out"
    _shard(folder, out, vocab)
    (out / "keep.txt").write_text("a user file inside an output")  # survives a replacement
    again = run_shard(ShardConfig(corpus=(folder,), out=out, vocab=vocab, seq_len=8, overwrite=True, workers=1,
                                  show_progress=False))
    assert again.meta["seq_len"] == 8 and (out / "keep.txt").read_text() == "a user file inside an output"
    assert verify_dir(out).unexpected == ["keep.txt"]


# -- defect 2: `clean` deleted HF-named user files in a folder it did not create ----------------------
def test_d2_clean_refuses_a_folder_it_did_not_create(tmp_path):
    folder = _corpus(tmp_path)
    out = tmp_path / "hub-data"
    (out / "rejects").mkdir(parents=True)
    for name in ("train-00000-of-00004.parquet", "validation-00001-of-00004.txt", "report.json", "rejects/x.jsonl"):
        (out / name).write_bytes(b"user data " + name.encode())
    before = _tree(out)
    _one_error_line(cli("clean", str(folder), "--out", str(out), "--format", "text", "--workers", "1"),
                    "not empty and was not created by zooprep")
    assert _tree(out) == before


def test_d2_symlinked_out_inside_the_input_is_refused(tmp_path):
    folder = _corpus(tmp_path)
    (folder / "sub").mkdir()
    link = tmp_path / "elsewhere"
    link.symlink_to(folder / "sub")
    before = _tree(folder)
    with pytest.raises(ZooprepError, match="lies inside the input"):
        _clean([folder], link)
    assert _tree(folder) == before


def test_d2_rerun_never_removes_or_replaces_user_files_in_an_output(tmp_path):
    folder = _corpus(tmp_path)
    out = tmp_path / "out"
    _clean([folder], out, num_shards=2)
    (out / "train-00000-of-00001.parquet").write_bytes(b"a user's file with a shard-like name")
    (out / "rejects").mkdir(exist_ok=True)
    (out / "rejects" / "mine.jsonl").write_text("{}\n")
    with pytest.raises(ZooprepError, match="was not written by zooprep"):
        _clean([folder], out, num_shards=1, overwrite=True)  # would have to replace the user's file: refused
    assert (out / "train-00000-of-00001.parquet").read_bytes() == b"a user's file with a shard-like name"
    assert verify_dir(out).unexpected == ["rejects/mine.jsonl", "train-00000-of-00001.parquet"]  # old state intact
    (out / "train-00000-of-00001.parquet").rename(tmp_path / "moved.parquet")
    _clean([folder], out, num_shards=1, overwrite=True)  # the finished work is reused, the swap goes through
    assert (out / "rejects" / "mine.jsonl").read_text() == "{}\n"
    assert not (out / "train-00001-of-00002.parquet").exists()  # zooprep's own stale shard is gone
    assert verify_dir(out).unexpected == ["rejects/mine.jsonl"]


# -- defect 3: resume trusted path + size ----------------------------------------------------------------
@pytest.mark.parametrize("keep_mtime", [False, True])
def test_d3_input_edited_between_kill_and_rerun_is_redone(tmp_path, capsys, keep_mtime):
    folder = _corpus(tmp_path)
    out = tmp_path / "out"
    with clean_stops_after("packages", 3), pytest.raises(RuntimeError, match="injected stop"):
        _clean([folder], out, unit_bytes=300)
    victim = folder / "f0.txt"
    st = victim.stat()
    data = victim.read_text(encoding="utf-8")
    edited = data.replace("北京", "南京", 1)
    assert len(edited.encode()) == len(data.encode())  # same size
    victim.write_text(edited, encoding="utf-8")
    if keep_mtime:  # even a same-size edit that restores the modification time is caught (bytes hashed)
        os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    capsys.readouterr()
    _clean([folder], out, unit_bytes=300)
    assert "input" in capsys.readouterr().err  # says what it redoes
    _clean([folder], tmp_path / "fresh", unit_bytes=300)
    shards = lambda d: {p.name: sha256_file(p) for p in d.glob("*.parquet")}  # noqa: E731
    assert shards(out) == shards(tmp_path / "fresh")
    assert verify_dir(out).ok


def test_d3_shard_resume_redoes_exactly_the_changed_unit(tmp_path, vocab, capsys):
    from corpusprep.instances import build

    folder = _corpus(tmp_path)
    out = tmp_path / "out"
    calls = []

    def dies(ctx, unit):
        calls.append(unit.index)
        if len(calls) == 3:
            raise KeyboardInterrupt("simulated kill")
        return build.process_unit(ctx, unit)

    with pytest.raises(KeyboardInterrupt):
        run_shard(ShardConfig(corpus=(folder,), out=out, vocab=vocab, seq_len=16, workers=1, show_progress=False),
                  unit_fn=dies)
    victim = folder / "f0.txt"
    st = victim.stat()
    victim.write_text(victim.read_text(encoding="utf-8").replace("北京", "长江", 1), encoding="utf-8")
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    res = _shard(folder, out, vocab)
    assert res.resumed_units == 1 and res.built_units == 3  # f1 reused; f0 (changed), f2, f3 built
    assert "input bytes changed" in capsys.readouterr().err
    fresh = _shard(folder, tmp_path / "fresh", vocab)
    assert res.meta["files"] == fresh.meta["files"]


# -- defect 4: later stages accepted an unfinished earlier stage ---------------------------------------
def test_d4_readers_refuse_an_unfinished_clean_dir(tmp_path, vocab):
    folder = _corpus(tmp_path)
    out = tmp_path / "clean"
    with clean_stops_after("shards", 1), pytest.raises(RuntimeError, match="injected stop"):
        _clean([folder], out, num_shards=2)
    r = cli("shard", str(out), "--out", str(tmp_path / "s"), "--vocab", str(vocab), "--workers", "1")
    _one_error_line(r, "unfinished `zooprep clean` output", "resume")
    assert not (tmp_path / "s").exists()
    for args in (["build-vocab", str(out), "--out", str(tmp_path / "v.txt")],
                 ["build-spm", str(out), "--out-prefix", str(tmp_path / "spm")]):
        _one_error_line(cli(*args, "--workers", "1"), "unfinished `zooprep clean` output")
    with pytest.raises(InputError, match="unfinished `zooprep clean` output"):
        _clean([out], tmp_path / "c2", fmt="auto")
    assert verify_dir(out).inconsistent[0].startswith("incomplete")
    _clean([folder], out, num_shards=2)
    assert _shard(out, tmp_path / "s", vocab).meta["counts"]["instances"] > 0
    nested = tmp_path / "all"
    shutil.copytree(out, nested / "clean")  # a zooprep output without its complete state, inside a CORPUS folder
    (nested / "clean" / ".zooprep" / "complete.json").unlink()
    with pytest.raises(InputError, match="unfinished `zooprep clean` output"):
        _shard(nested, tmp_path / "s2", vocab)
    (out / "train-00000-of-00009.parquet").write_bytes((out / "train-00000-of-00002.parquet").read_bytes())
    with pytest.raises(InputError, match="not part of the `zooprep clean` output"):  # added by hand
        _shard(out, tmp_path / "s3", vocab)


def test_d4_rerun_keeps_the_previous_complete_state_until_the_new_one_is_ready(tmp_path, vocab):
    folder = _corpus(tmp_path)
    out = tmp_path / "clean"
    _clean([folder], out, num_shards=2)
    before = _tree(out)
    for stop in ("packages", "shards"):
        with clean_stops_after(stop, 1), pytest.raises(RuntimeError, match="injected stop"):
            _clean([folder], out, num_shards=3, seed=5, overwrite=True)  # a rerun with other options, killed
        after = {k: v for k, v in _tree(out).items() if not k.startswith(".zooprep/")}
        assert after == {k: v for k, v in before.items() if not k.startswith(".zooprep/")}
        result = verify_dir(out)
        assert read_complete(out) is not None and result.ok and result.notes  # names the rerun's work area
        assert _shard(out, tmp_path / "s", vocab, overwrite=True).meta["counts"]["instances"] > 0


def test_d4_export_inspect_and_loader_refuse_an_unfinished_shard_dir(tmp_path, vocab):
    from corpusprep.feed.export import ExportConfig, export
    from corpusprep.feed.shards import ShardReader
    from corpusprep.instances import build
    from corpusprep.instances.inspect_dir import inspect_dir

    folder = _corpus(tmp_path)
    out = tmp_path / "s"

    def dies(ctx, unit):
        raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        run_shard(ShardConfig(corpus=(folder,), out=out, vocab=vocab, seq_len=16, workers=1, show_progress=False),
                  unit_fn=dies)
    for read in (lambda: ShardReader(out), lambda: inspect_dir(out, 1),
                 lambda: export(ExportConfig(out, tmp_path / "d.pt"))):
        with pytest.raises(InputError, match="unfinished `zooprep shard` output"):
            read()
    assert build  # the unit function above stands in for it
    _shard(folder, out, vocab)
    (out / "data-00000-of-00004.arrow").write_bytes(b"short")  # a damaged complete output
    with pytest.raises(InputError, match="changed since"):
        ShardReader(out)


# -- defect 6: two runs into one --out ---------------------------------------------------------------
def test_d6_a_second_run_is_told_who_holds_the_directory(tmp_path):
    folder = _corpus(tmp_path)
    out = tmp_path / "out"
    with OutputDir.open(out, "clean", [folder], rerun=True):
        r = cli("clean", str(folder), "--out", str(out), "--format", "text", "--workers", "1")
        _one_error_line(r, "in use by another zooprep run", f"pid {os.getpid()}", "zooprep clean")
    _clean([folder], out)  # released: the next run goes ahead
    assert verify_dir(out).ok


# -- defect 7: verify missed metadata, rejects and report types ----------------------------------------
def test_d7_verify_checks_metadata_rejects_and_types(tmp_path, vocab):
    folder = _corpus(tmp_path)
    (folder / "f0.txt").open("a", encoding="utf-8").write("短\n" * 3)
    clean = tmp_path / "clean"
    _clean([folder], clean, num_shards=2)
    shard = tmp_path / "shard"
    _shard(clean, shard, vocab)
    assert verify_dir(clean).ok and verify_dir(shard).ok

    state = json.loads((shard / "state.json").read_text())
    state["_data_files"] = state["_data_files"][:1]
    (shard / "state.json").write_text(json.dumps(state))
    (shard / "dataset_info.json").write_text("{}")
    r = verify_dir(shard)
    assert sorted(a.path for a in r.altered) == ["dataset_info.json", "state.json"]
    assert any("state.json lists 1" in m for m in r.inconsistent)

    reject = next((clean / "rejects").glob("*.jsonl"))
    reject.write_text("")
    report = json.loads((clean / "report.json").read_text())
    report["dropped"] = list(report["dropped"].items())
    (clean / "report.json").write_text(json.dumps(report))
    r = verify_dir(clean)
    assert sorted(a.path for a in r.altered) == ["rejects/" + reject.name, "report.json"]
    assert any("'dropped' must be an object" in m for m in r.inconsistent)
    report["dropped"], report["files"] = dict(report["dropped"]), "x"
    (clean / "report.json").write_text(json.dumps(report))
    assert any("'files' must be an object" in m for m in verify_dir(clean).inconsistent)


def test_d7_checksums_compare_case_insensitively(tmp_path):
    root = tmp_path / "legacy"
    root.mkdir()
    (root / "train-00000-of-00001.parquet").write_bytes(b"x")
    sha = sha256_file(root / "train-00000-of-00001.parquet").upper()
    (root / "report.json").write_text(json.dumps({"read": 1, "kept": 1, "dropped": {}, "files": {},
                                                  "shards": [{"name": "train-00000-of-00001.parquet", "sha256": sha}]}))
    assert verify_dir(root).ok


# -- defect 8: `export --out SHARD/zooprep.json` overwrote the shard's metadata ----------------------------
def test_d8_export_never_writes_into_the_shard_dir_or_over_a_user_file(tmp_path, vocab):
    folder = _corpus(tmp_path)
    shard = tmp_path / "shard"
    _shard(folder, shard, vocab)
    before = _tree(shard)
    _one_error_line(cli("export", str(shard), "--out", str(shard / "zooprep.json")), "lies inside the input")
    assert _tree(shard) == before
    mine = tmp_path / "dataset.pt"
    mine.write_bytes(b"someone's dataset")
    _one_error_line(cli("export", str(shard), "--out", str(mine)), "not written by `zooprep export`")
    assert mine.read_bytes() == b"someone's dataset"
    other = tmp_path / "other"
    _shard(folder, other, vocab)
    _one_error_line(cli("export", str(shard), "--out", str(other / "sub" / "d.pt")), "lies inside the `zooprep shard` output")
    ours = tmp_path / "ours.pt"
    assert cli("export", str(shard), "--out", str(ours)).returncode == 0
    assert cli("export", str(shard), "--out", str(ours)).returncode == 0  # replaces its own output
    assert json.loads((tmp_path / "ours.pt.card.json").read_text())["zooprep_outputs"]["ours.pt"] == sha256_file(ours)


# -- single-file outputs ------------------------------------------------------------------------------------
def test_file_outputs_never_replace_inputs_or_foreign_files(tmp_path):
    from zh_tokenizers.build_vocab_run import BuildVocabConfig, run_build_vocab

    folder = _corpus(tmp_path)
    base = tmp_path / "base.txt"
    base.write_text("\n".join(SPECIAL) + "\n", encoding="utf-8")
    with pytest.raises(ZooprepError, match="is the input"):
        run_build_vocab(BuildVocabConfig(corpus=[str(folder)], out=base, extend=base, workers=1))
    with pytest.raises(ZooprepError, match="lies inside the input"):
        run_build_vocab(BuildVocabConfig(corpus=[str(folder)], out=folder / "vocab.txt", workers=1))
    foreign = tmp_path / "v.txt"
    foreign.write_text("hand-made\n")
    with pytest.raises(ZooprepError, match="not written by `zooprep build-vocab`"):
        run_build_vocab(BuildVocabConfig(corpus=[str(folder)], out=foreign, workers=1))
    assert foreign.read_text() == "hand-made\n" and base.read_text().startswith("[PAD]")
    own = tmp_path / "own.txt"
    run_build_vocab(BuildVocabConfig(corpus=[str(folder)], out=own, workers=1))
    run_build_vocab(BuildVocabConfig(corpus=[str(folder)], out=own, workers=1, min_freq=2, overwrite=True))  # its own: replaced
    own.write_text("edited by hand\n")
    with pytest.raises(ZooprepError, match="changed since"):
        run_build_vocab(BuildVocabConfig(corpus=[str(folder)], out=own, workers=1))


def test_interrupted_swap_is_finished_by_the_next_run(tmp_path, vocab, monkeypatch):
    """A run killed in the middle of moving its staged files in: the next run completes it first."""
    from corpusprep.outdir import complete

    folder = _corpus(tmp_path)
    out = tmp_path / "s"
    real = complete._swap
    monkeypatch.setattr(complete, "_swap", lambda root, ready: (_ for _ in ()).throw(KeyboardInterrupt("killed")))
    with pytest.raises(KeyboardInterrupt):
        _shard(folder, out, vocab)
    monkeypatch.setattr(complete, "_swap", real)
    assert read_complete(out) is None and (out / ".zooprep" / "work" / "ready.json").is_file()
    res = _shard(folder, out, vocab)  # no --overwrite needed: it is this very build, now finished
    assert res.built_units == 0 and verify_dir(out).ok
