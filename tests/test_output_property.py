"""Property: no command ever removes or changes a path it did not create.

Random trees of user files are laid next to the output, inside the input, inside a folder given as
``--out``, and inside a finished output between runs (names chosen to collide with what zooprep
writes: shard names, report.json, rejects/...). Then `clean`, `shard` (with and without
``--overwrite``), `build-vocab` and `export` run with random options into random targets; each either
succeeds or refuses, and afterwards every user file is still there with the same bytes.
"""
from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpusprep.cleaning.config import CleanConfig
from corpusprep.cleaning.pipeline import run_clean
from corpusprep.errors import ZooprepError
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.pipeline import run_shard

DOCS = ["今天天气很好我们一起去公园散步。", "机器学习是人工智能的一个分支。", "北京是中国的首都城市。"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
NAMES = ["train-00000-of-00001.parquet", "train-00000-of-00002.parquet", "train-00001-of-00002.parquet",
         "validation-00000-of-00001.parquet", "report.json", "zooprep.json", "state.json",
         "data-00000-of-00001.arrow", "notes.md", "a.txt", ".hidden", ".x.parquet.123.tmp", "v.txt"]
FOLDERS = ["", "", "rejects", "sub", "sub/deeper"]

user_files = st.lists(st.tuples(st.sampled_from(FOLDERS), st.sampled_from(NAMES), st.binary(max_size=20)),
                      max_size=6)
# Files a user adds inside a finished output: mostly names the next run would write itself.
OUT_NAMES = ["train-00000-of-00001.parquet", "train-00000-of-00002.parquet", "train-00001-of-00002.parquet",
             "validation-00000-of-00002.parquet", "validation-00001-of-00002.parquet", "too_short.jsonl",
             "data-00000-of-00001.arrow", "data-00000-of-00002.arrow", "mine.txt"]
colliding = st.lists(st.tuples(st.sampled_from(["", "", "rejects"]), st.sampled_from(OUT_NAMES), st.binary(max_size=20)),
                     min_size=1, max_size=4)
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))


def _lay(root: Path, files, placed: dict[Path, bytes]) -> None:
    """Write user files under ``root`` at paths that do not exist yet; remember them."""
    for folder, name, data in files:
        path = root / folder / name if folder else root / name
        if path.exists() or any(p.is_file() for p in path.parents if root in p.parents or p == root):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        placed[path] = data


def _assert_untouched(placed: dict[Path, bytes]) -> None:
    for path, data in placed.items():
        assert path.is_file() and path.read_bytes() == data, f"{path} was removed or changed"


def _setup(root: Path):
    corpus = root / "corpus"
    corpus.mkdir()
    for k in range(2):
        (corpus / f"c{k}.txt").write_text("".join(f"{d}{k}{i}\n" for i in range(5) for d in DOCS), encoding="utf-8")
    vocab = root / "vocab" / "vocab.txt"
    vocab.parent.mkdir()
    chars = sorted({c for d in DOCS for c in d} | set("0123456789"))
    vocab.write_text("\n".join(SPECIAL + chars) + "\n", encoding="utf-8")
    return corpus, vocab


def _clean(corpus: Path, out: Path, shards: int) -> None:
    run_clean(CleanConfig(inputs=(str(corpus),), out=str(out), fmt="text", num_shards=shards, workers=1,
                          progress=False, valid_fraction=0.2 if shards > 1 else 0.0))


def _shard(corpus: Path, out: Path, vocab: Path, overwrite: bool, seq_len: int = 16):
    return run_shard(ShardConfig(corpus=(corpus,), out=out, vocab=vocab, seq_len=seq_len, overwrite=overwrite,
                                 workers=1, show_progress=False))


@SETTINGS
@given(beside=user_files, inside_input=user_files, in_out=user_files, later=colliding,
       shards=st.sampled_from([1, 2]), rerun_shards=st.sampled_from([1, 2]), out_exists=st.booleans())
def test_clean_never_removes_a_user_path(beside, inside_input, in_out, later, shards, rerun_shards, out_exists):
    """``later``: user files added inside the finished output before a rerun."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        corpus, _ = _setup(root)
        placed: dict[Path, bytes] = {}
        _lay(root, beside, placed)
        _lay(corpus, [f for f in inside_input if f[1] not in ("a.txt", "v.txt")], placed)
        out = root / "out"
        if out_exists:
            out.mkdir(exist_ok=True)
            _lay(out, in_out, placed)
        for path in list(placed):  # a file named "out" beside the others would just be refused
            if path == out:
                placed.pop(path)
        with contextlib.suppress(ZooprepError):
            _clean(corpus, out, shards)
        _assert_untouched(placed)
        if out.is_dir():
            _lay(out, later, placed)
            with contextlib.suppress(ZooprepError):
                _clean(corpus, out, rerun_shards)
            _assert_untouched(placed)


@SETTINGS
@given(tree=user_files, later=colliding, target=st.sampled_from(["corpus", "root", "user", "clean", "new", "vocab"]),
       overwrite=st.booleans())
def test_shard_and_file_outputs_never_remove_a_user_path(tree, later, target, overwrite):
    from corpusprep.feed.export import ExportConfig, export
    from zh_tokenizers.build_vocab_run import BuildVocabConfig, run_build_vocab

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        corpus, vocab = _setup(root)
        clean = root / "clean"
        _clean(corpus, clean, 1)
        placed: dict[Path, bytes] = {}
        user = root / "user"
        user.mkdir()
        _lay(user, tree, placed)
        _lay(corpus, [f for f in tree if f[1] not in ("a.txt", "v.txt")], placed)
        _lay(clean, later, placed)
        out = {"corpus": corpus, "root": root, "user": user, "clean": clean, "new": root / "new",
               "vocab": vocab.parent}[target]
        for source in (corpus, clean):
            with contextlib.suppress(ZooprepError):
                _shard(source, out, vocab, overwrite)
            _assert_untouched(placed)
            assert vocab.is_file() and (corpus / "c0.txt").is_file()
        with contextlib.suppress(ZooprepError):
            run_build_vocab(BuildVocabConfig(corpus=[str(corpus)], out=user / "v.txt", workers=1))
        with contextlib.suppress(ZooprepError):
            run_build_vocab(BuildVocabConfig(corpus=[str(corpus)], out=corpus / "v.txt", workers=1))
        if (root / "new" / "zooprep.json").is_file():
            with contextlib.suppress(ZooprepError):
                export(ExportConfig(root / "new", user / "a.txt"))
            _lay(root / "new", later, placed)
            with contextlib.suppress(ZooprepError):
                _shard(clean, root / "new", vocab, True, seq_len=8)
        _assert_untouched(placed)
