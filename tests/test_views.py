"""Encode once, pack at load time: `shard --encode-only` + corpusprep.feed.views.

The central claim: a view of ONE encoded corpus at seq_len L gives exactly the rows (ids, lengths,
order) that `shard --seq-len L` writes, for mlm (doc-chunk and --full-sentences), lm and bilm; and
the loader over a view keeps the exact-resume and rank-sharding guarantees of a shard directory.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from corpusprep.errors import InputError, ZooprepError
from corpusprep.feed.shards import ShardReader
from corpusprep.feed.views import ViewConfig, ViewReader, row_lengths, view_loader
from corpusprep.instances import encoded
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.pipeline import run_shard

from conftest import DEMO, REPO, SHARED, SHARED_SKIP, cli

VOCAB = SHARED / "reference" / "vocab" / "google_zh_vocab.txt"
DEMO_CORPUS = (DEMO / "cluecorpussmall" / "clue_sampled.txt", DEMO / "cluecorpussmall" / "news_zh_1.txt")
SHARED_CORPUS = SHARED / "corpora" / "cluecorpussmall" / "dbiir__UER-py" / "corpora" / "CLUECorpusSmall_sampled.txt"
# (processor, full_sentences): every objective whose rows are cuts of the document stream
CUTS = [("mlm", False), ("mlm", True), ("lm", False), ("bilm", False)]


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: {SHARED_SKIP}")
    return path


def shard(out: Path, corpus, **kw) -> Path:
    kw.setdefault("workers", 1)
    cfg = ShardConfig(corpus=tuple(corpus), out=out, vocab=need(VOCAB), show_progress=False, **kw)
    return run_shard(cfg).out


def all_rows(reader) -> tuple[np.ndarray, np.ndarray]:
    """(concatenated real ids, lengths) of every row in order: padding never compared."""
    batch = reader.take(np.arange(len(reader)))
    lengths = np.asarray(batch["length"], dtype=np.int64)
    real = np.arange(batch["input_ids"].shape[1])[None, :] < lengths[:, None]
    return np.asarray(batch["input_ids"])[real], lengths


def assert_same_rows(view: ViewReader, shard_dir: Path) -> None:
    want_ids, want_len = all_rows(ShardReader(shard_dir))
    got_ids, got_len = all_rows(view)
    assert len(got_len) == len(want_len)
    assert np.array_equal(got_len, want_len)
    assert np.array_equal(got_ids, want_ids)
    assert view.meta.row_len == ShardReader(shard_dir).meta.row_len


# ------------------------------------------------------------------ same rows as `shard` -----------

@pytest.fixture(scope="module")
def demo_encoded(tmp_path_factory) -> Path:
    """The demo corpus encoded once, with units small enough that several of them exist."""
    root = tmp_path_factory.mktemp("views-demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZOOPREP_MIN_MB_PER_WORKER", "0")  # two real worker processes, however small the input
        return shard(root / "enc", DEMO_CORPUS, encode_only=True, unit_mb=0.03, workers=2)


@pytest.mark.parametrize("seq_len", [128, 512])
@pytest.mark.parametrize("processor,full", CUTS)
def test_demo_view_equals_shard(demo_encoded, tmp_path, processor, full, seq_len):
    # docs_buffer_size 7: --full-sentences buffers end inside units and at unit ends
    opts = dict(processor=processor, seq_len=seq_len, full_sentences=full, docs_buffer_size=7)
    assert len(encoded_units(demo_encoded)) >= 3
    want = shard(tmp_path / "shard", DEMO_CORPUS, unit_mb=0.03, **opts)
    view = ViewReader(demo_encoded, ViewConfig(processor, seq_len, full, 7), cache_dir=tmp_path / "cache")
    assert_same_rows(view, want)
    assert view.index_path is not None and view.index_path.parent == tmp_path / "cache"


def test_two_workers_plan_the_same_units(demo_encoded, tmp_path, monkeypatch):
    """Encoded with --workers 2 (fixture), sharded with --workers 2 and 1: one set of rows."""
    monkeypatch.setenv("ZOOPREP_MIN_MB_PER_WORKER", "0")
    one = shard(tmp_path / "one", DEMO_CORPUS, unit_mb=0.03, processor="mlm", seq_len=128, full_sentences=True,
                docs_buffer_size=7)
    two = shard(tmp_path / "two", DEMO_CORPUS, unit_mb=0.03, processor="mlm", seq_len=128, full_sentences=True,
                docs_buffer_size=7, workers=2)
    enc1 = shard(tmp_path / "enc1", DEMO_CORPUS, encode_only=True, unit_mb=0.03)
    assert encoded_units(enc1) == encoded_units(demo_encoded)
    for enc in (enc1, demo_encoded):
        view = ViewReader(enc, ViewConfig("mlm", 128, True, 7), cache_dir=None)
        assert_same_rows(view, one)
        assert_same_rows(view, two)


@pytest.fixture(scope="module")
def shared_encoded(tmp_path_factory) -> Path:
    need(SHARED_CORPUS)
    return shard(tmp_path_factory.mktemp("views-shared") / "enc", [SHARED_CORPUS], encode_only=True, unit_mb=0.1,
                 workers=2)


@pytest.mark.parametrize("seq_len", [128, 512])
@pytest.mark.parametrize("processor,full", CUTS)
def test_shared_clue_view_equals_shard(shared_encoded, tmp_path, processor, full, seq_len):
    want = shard(tmp_path / "shard", [SHARED_CORPUS], unit_mb=0.1, processor=processor, seq_len=seq_len,
                 full_sentences=full)
    assert_same_rows(ViewReader(shared_encoded, ViewConfig(processor, seq_len, full), cache_dir=tmp_path), want)


def test_uint32_ids_for_a_large_vocab(tmp_path):
    """A vocab past 65,536 ids stores uint32 documents; the view still equals `shard`."""
    big = tmp_path / "big_vocab.txt"
    extra = "".join(f"[unused{i}x]\n" for i in range(50000))
    big.write_text(need(VOCAB).read_text(encoding="utf-8") + extra, encoding="utf-8")
    corpus = [DEMO_CORPUS[1]]
    enc = run_shard(ShardConfig(corpus=tuple(corpus), out=tmp_path / "enc", vocab=big, encode_only=True, workers=1,
                                show_progress=False)).out
    want = run_shard(ShardConfig(corpus=tuple(corpus), out=tmp_path / "s", vocab=big, seq_len=128, workers=1,
                                 show_progress=False)).out
    meta = json.loads((enc / "zooprep.json").read_text())
    assert (meta["kind"], meta["dtype"]) == ("encoded", "uint32")
    assert_same_rows(ViewReader(enc, ViewConfig("mlm", 128), cache_dir=None), want)


def encoded_units(directory: Path) -> list[int]:
    return json.loads((directory / "zooprep.json").read_text())["encoded"]["unit_documents"]


def test_row_lengths_by_hand():
    """The cut rule on numbers small enough to check by eye."""
    docs = np.array([3, 0, 9, 1], dtype=np.int64)  # framed: 5, 2, 11, 3
    assert row_lengths(ViewConfig("mlm", 4), docs, [4]).tolist() == [4, 1, 2, 4, 4, 3, 3]
    assert row_lengths(ViewConfig("lm", 4), docs, [4]).tolist() == [5, 2, 5, 5, 1, 3]
    assert row_lengths(ViewConfig("bilm", 4), docs, [4]).tolist() == [3, 4, 4, 1, 1]  # empty doc: no row
    # full sentences, buffers of 3 documents restarting at each unit; units [2, 2]: (5+2) | (11+3)
    assert row_lengths(ViewConfig("mlm", 4, True, 3), docs, [2, 2]).tolist() == [4, 3, 4, 4, 4, 2]
    # one unit of 4: buffer (5+2+11) then buffer (3)
    assert row_lengths(ViewConfig("mlm", 4, True, 3), docs, [4]).tolist() == [4, 4, 4, 4, 2, 3]
    assert row_lengths(ViewConfig("mlm", 4, True, 100), docs, [4]).tolist() == [4, 4, 4, 4, 4, 1]
    assert row_lengths(ViewConfig("mlm", 4, True, 2), docs, [0, 4, 0]).tolist() == [4, 3, 4, 4, 4, 2]


# ------------------------------------------------------------------ the loader on a view -----------

def batches(loader, n=None) -> list[dict]:
    out = []
    for b in loader:
        out.append({k: v.clone() for k, v in b.items()})
        if n is not None and len(out) == n:
            break
    return out


@pytest.mark.parametrize("seq_len,workers", [(128, 0), (512, 2)])
def test_resume_mid_epoch_on_a_view(demo_encoded, tmp_path, seq_len, workers):
    view = ViewConfig("mlm", seq_len)
    opts = dict(batch_size=8, seed=5, epochs=2, with_index=True)
    full = batches(view_loader(demo_encoded, view, cache_dir=tmp_path, **opts))
    per_epoch = len(full) // 2
    first = view_loader(demo_encoded, view, num_workers=workers, cache_dir=tmp_path, **opts)
    head = batches(first, per_epoch + 3)  # stop inside the second epoch
    state = first.state_dict()
    again = view_loader(demo_encoded, view, num_workers=workers, cache_dir=tmp_path, **opts)
    again.load_state_dict(state)
    tail = batches(again)
    assert len(head) + len(tail) == len(full)
    for got, want in zip(head + tail, full):
        assert set(got) == set(want)
        for k in want:
            assert (got[k] == want[k]).all(), k
    # rows of an epoch are a permutation of the view's rows; lengths are the view's
    reader = ViewReader(demo_encoded, view, cache_dir=tmp_path)
    seen = np.concatenate([b["index"].numpy() for b in full[:per_epoch]])
    assert sorted(seen.tolist()) == list(range(len(reader)))
    b0 = full[0]
    assert (b0["attention_mask"].sum(1).numpy() == reader.take(b0["index"].numpy())["length"]).all()


def test_saved_state_of_another_view_is_refused(demo_encoded, tmp_path):
    short = view_loader(demo_encoded, ViewConfig("mlm", 128), cache_dir=tmp_path, batch_size=8)
    batches(short, 2)
    long = view_loader(demo_encoded, ViewConfig("mlm", 512), cache_dir=tmp_path, batch_size=8)
    with pytest.raises(ZooprepError, match="rows"):
        long.load_state_dict(short.state_dict())


@pytest.mark.parametrize("seq_len", [128, 512])
@pytest.mark.parametrize("remainder", ["uneven", "pad"])
def test_rank_sharding_on_a_view(demo_encoded, tmp_path, seq_len, remainder):
    world = 3
    view = ViewConfig("lm", seq_len)
    n = len(ViewReader(demo_encoded, view, cache_dir=tmp_path))
    for epoch in (0, 1):
        seen = []
        for rank in range(world):
            loader = view_loader(demo_encoded, view, cache_dir=tmp_path, batch_size=4, seed=9, rank=rank,
                                 world_size=world, remainder=remainder, epochs=epoch + 1, start_epoch=epoch,
                                 with_index=True)
            seen.append(np.concatenate([b["index"].numpy() for b in loader]))
        every = np.concatenate(seen)
        if remainder == "uneven":  # disjoint and complete
            assert sorted(every.tolist()) == list(range(n))
        else:  # every row once, plus at most world - 1 rows read twice; every rank the same count
            assert set(every.tolist()) == set(range(n)) and len(every) - n < world
            assert len({len(s) for s in seen}) == 1


# ------------------------------------------------------------------ cache ---------------------------

def files_under(d: Path) -> dict:
    return {str(p.relative_to(d)): p.stat().st_mtime_ns for p in sorted(d.rglob("*"))}


def test_stale_cache_is_not_reused(tmp_path):
    cache = tmp_path / "cache"
    enc = shard(tmp_path / "enc", DEMO_CORPUS, encode_only=True, unit_mb=0.03)
    before = files_under(enc)
    first = ViewReader(enc, ViewConfig("mlm", 128), cache_dir=cache)
    assert files_under(enc) == before  # nothing written into the encoded directory
    assert ViewReader(enc, ViewConfig("mlm", 128), cache_dir=cache).index_path == first.index_path  # reused
    # the corpus is rebuilt from other text: the old index must not be read
    shard(tmp_path / "enc", [DEMO_CORPUS[1]], encode_only=True, overwrite=True)
    want = shard(tmp_path / "s", [DEMO_CORPUS[1]], seq_len=128)
    second = ViewReader(enc, ViewConfig("mlm", 128), cache_dir=cache)
    assert second.index_path != first.index_path
    assert_same_rows(second, want)
    # a damaged cache file under the right key is detected and rebuilt
    np.save(second.index_path, np.zeros((3, 2), dtype=np.int64))
    assert_same_rows(ViewReader(enc, ViewConfig("mlm", 128), cache_dir=cache), want)
    # a cache folder that cannot be written: the index lives in memory
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    unwritable = ViewReader(enc, ViewConfig("mlm", 128), cache_dir=blocker / "views")
    assert unwritable.index_path is None
    assert_same_rows(unwritable, want)


# ------------------------------------------------------------------ refusals, resume, CLI -----------

def test_fixed_instance_readers_refuse_an_encoded_corpus(demo_encoded, tmp_path):
    with pytest.raises(InputError, match="encoded corpus"):
        ShardReader(demo_encoded)
    plain = shard(tmp_path / "s", [DEMO_CORPUS[1]], seq_len=64)
    with pytest.raises(InputError, match="not an encoded corpus"):
        ViewReader(plain, ViewConfig("mlm", 64))
    for bad in (ViewConfig("bert", 128), ViewConfig("lm", 128, full_sentences=True), ViewConfig("mlm", 1),
                ViewConfig("mlm", 128, True, 0)):
        with pytest.raises(ZooprepError):
            ViewReader(demo_encoded, bad, cache_dir=None)


def test_encode_resumes_after_a_kill(tmp_path):
    clean = shard(tmp_path / "clean", DEMO_CORPUS, encode_only=True, unit_mb=0.02)
    calls = []

    def dies_on_third(ctx, unit):
        calls.append(unit.index)
        if len(calls) == 3:
            raise KeyboardInterrupt("simulated kill")
        return encoded.process_unit(ctx, unit)

    cfg = ShardConfig(corpus=DEMO_CORPUS, out=tmp_path / "resumed", vocab=VOCAB, encode_only=True, unit_mb=0.02,
                      workers=1, show_progress=False)
    with pytest.raises(KeyboardInterrupt):
        run_shard(cfg, unit_fn=dies_on_third)
    assert not (tmp_path / "resumed" / "zooprep.json").exists()
    with pytest.raises(InputError, match="unfinished"):
        ViewReader(tmp_path / "resumed", ViewConfig("mlm", 128), cache_dir=None)
    res = run_shard(cfg)
    assert res.resumed_units == 2 and res.built_units >= 1
    meta = json.loads((res.out / "zooprep.json").read_text())
    want = json.loads((clean / "zooprep.json").read_text())
    assert meta["files"] == want["files"] and meta["encoded"] == want["encoded"]


def test_cli_encode_only_load_from_disk_and_export_refused(tmp_path):
    import datasets

    out = tmp_path / "enc"
    corpus = str(DEMO_CORPUS[0])
    done = cli("shard", corpus, "--vocab", str(need(VOCAB)), "--out", str(out), "--encode-only", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "encoded corpus" in done.stderr
    ds = datasets.load_from_disk(str(out))
    lines = [ln for ln in DEMO_CORPUS[0].read_text(encoding="utf-8").split("\n") if ln.strip()]
    assert len(ds) == len(lines)
    from zh_tokenizers import load_tokenizer

    tok = load_tokenizer(vocab=str(VOCAB), kind="bert")
    assert ds[0]["input_ids"] == tok.encode(lines[0]) and ds[-1]["input_ids"] == tok.encode(lines[-1])
    shown = cli("inspect", str(out), "-n", "1")  # inspect opens an encoded corpus (issue 21): documents decoded
    assert shown.returncode == 0 and "--- document 0" in shown.stdout, shown.stderr
    for args in (["export", str(out), "--out", str(tmp_path / "dataset.pt")],):
        refused = cli(*args)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.strip().count("\n") == 0 and refused.stderr.startswith("error: ")
        assert "encoded corpus" in refused.stderr
    assert not (tmp_path / "dataset.pt").exists()
    assert cli("verify", str(out)).returncode == 0  # the complete state of any `shard` output holds
    for flags in (["--processor", "bert"], ["--static-masking"], ["--full-sentences"], ["--compat", "uer"],
                  ["--docs-buffer-size", "5"], ["--whole-word"], ["--dup-factor", "2", "--static-masking"]):
        bad = cli("shard", corpus, "--vocab", str(VOCAB), "--out", str(tmp_path / "x"), "--encode-only", *flags)
        assert bad.returncode == 2, (flags, bad.stderr)
        assert bad.stderr.strip().count("\n") == 0 and "--encode-only" in bad.stderr, bad.stderr


@pytest.mark.parametrize("flush_docs", [encoded.FLUSH_DOCS, 7])
def test_odd_documents_at_tiny_lengths(tmp_path, monkeypatch, flush_docs):
    """Documents that tokenize to nothing, one-token documents, long ones, many small units: the cut
    rule at widths of a few tokens, where nearly every row crosses a document border; with
    ``flush_docs`` 7 every unit's part holds several record batches, which full-sentences rows span."""
    monkeypatch.setattr(encoded, "FLUSH_DOCS", flush_docs)
    import random

    rng = random.Random(14)
    alphabet = ["中", "文", "字", "a", "bc", "1", "\u200b", "🐱", "，", " "]
    lines = ["".join(rng.choice(alphabet) for _ in range(rng.choice([1, 1, 2, 5, 30, 80]))) for _ in range(400)]
    lines[:4] = ["\u200b", "中", "\u200b\u200b", "a"]
    corpus = tmp_path / "odd.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    enc = shard(tmp_path / "enc", [corpus], encode_only=True, unit_mb=0.001)
    units = encoded_units(enc)
    assert len(units) > 5
    assert (len(ViewReader(enc, ViewConfig("bilm", 2), cache_dir=None).corpus._values) > len(units)) == (flush_docs == 7)
    lens = np.array([len(x) for x in __import__("datasets").load_from_disk(str(enc))["input_ids"]])
    assert (lens == 0).any()  # some documents hold no token at all
    for processor, full in CUTS:
        for seq in (2, 5):
            want = shard(tmp_path / f"{processor}{full}{seq}", [corpus], unit_mb=0.001, processor=processor,
                         seq_len=seq, full_sentences=full, docs_buffer_size=3)
            assert_same_rows(ViewReader(enc, ViewConfig(processor, seq, full, 3), cache_dir=None), want)


def test_two_stage_training_from_one_encoded_corpus(demo_encoded, tmp_path):
    """The zoo's recipe shape: stage 1 at seq 128, stage 2 at 512 from stage 1's weights, one corpus."""
    common = ["--size", "nano", "--threads", "1", "--workers", "0", "--log-every", "1"]
    one = cli("pretrain-example", str(demo_encoded), "--view", "mlm:128", "--max-steps", "2", "--batch-size", "4",
              "--save-weights", str(tmp_path / "stage1.pt"), *common)
    assert one.returncode == 0, one.stderr
    two = cli("pretrain-example", str(demo_encoded), "--view", "mlm:512:full", "--max-steps", "2", "--batch-size",
              "2", "--init-from", str(tmp_path / "stage1.pt"), *common)
    assert two.returncode == 0, two.stderr
    starts = [json.loads(ln) for ln in (one.stdout + two.stdout).splitlines() if '"event": "start"' in ln]
    assert [s["seq_len"] for s in starts] == [128, 512]
    bad = cli("pretrain-example", str(demo_encoded), "--view", "mlm:x", "--max-steps", "1", *common)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "--view" in bad.stderr


def test_a_copy_without_the_zooprep_marker(demo_encoded, tmp_path):
    """A directory copied without .zooprep/ is read as plain data: its cache key follows the files
    themselves, and a zooprep.json that disagrees with the files is refused in one line."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(demo_encoded, copy, ignore=shutil.ignore_patterns(".zooprep"))
    view = ViewConfig("lm", 128)
    first = ViewReader(copy, view, cache_dir=tmp_path / "cache")
    assert np.array_equal(all_rows(first)[1], all_rows(ViewReader(demo_encoded, view, cache_dir=None))[1])
    assert ViewReader(copy, view, cache_dir=tmp_path / "cache").index_path == first.index_path
    meta = json.loads((copy / "zooprep.json").read_text())
    data = copy / meta["files"][0]["path"]
    os.utime(data, ns=(data.stat().st_atime_ns, data.stat().st_mtime_ns + 10**9))  # the file was replaced
    assert ViewReader(copy, view, cache_dir=tmp_path / "cache").index_path != first.index_path
    meta["encoded"]["unit_documents"][0] += 1
    (copy / "zooprep.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="documents"):
        ViewReader(copy, view, cache_dir=None)


def test_saved_state_of_a_view_with_the_same_row_count_is_refused(demo_encoded, tmp_path):
    """mlm at 128 and lm at 127 cut the same 128-token rows (same row count); the state names its source."""
    mlm = view_loader(demo_encoded, ViewConfig("mlm", 128), cache_dir=tmp_path, batch_size=8)
    batches(mlm, 2)
    lm = view_loader(demo_encoded, ViewConfig("lm", 127), cache_dir=tmp_path, batch_size=8)
    assert len(lm.stream.reader) == len(mlm.stream.reader)
    with pytest.raises(ZooprepError, match="source"):
        lm.load_state_dict(mlm.state_dict())
    old = {k: v for k, v in mlm.state_dict().items() if k != "source"}  # saved before "source" existed
    again = view_loader(demo_encoded, ViewConfig("mlm", 128), cache_dir=tmp_path, batch_size=8)
    again.load_state_dict(old)
