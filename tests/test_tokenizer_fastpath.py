"""The CJK fast path (batch_encode), its table file, and the worker plan (issue 14)."""
from __future__ import annotations

import json
import os
import sys
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from corpusprep.executors import LocalExecutor  # noqa: E402
from corpusprep.worker_plan import MIN_BYTES_PER_WORKER, plan_workers, pool_context  # noqa: E402
from zh_tokenizers import batch_encode, load_tokenizer  # noqa: E402
from zh_tokenizers.char_classes import CLASS_MASK, DROP, RISKY, SINGLE, SPACE, TABLES_FILE, WORD, hf_tables  # noqa: E402
from zh_tokenizers.table_file import read_arrays, write_arrays  # noqa: E402

from conftest import REPO


@pytest.fixture(scope="module")
def ours(google_vocab):
    return load_tokenizer(vocab=google_vocab)


@pytest.fixture(scope="module")
def corpus_lines(corpora_dir) -> list[str]:
    from test_char_tokenizer_parity import corpus_lines as read_lines

    return read_lines(corpora_dir)


# ---------------------------------------------------------------- the table file ----

def test_table_file_records_its_source_and_is_package_data():
    meta, arrays = read_arrays(TABLES_FILE)
    assert meta["generated_by"] == "python tools/gen_hf_tables.py"
    assert meta["tokenizers_version"] and meta["python_unicode_version"]
    assert {"lower.run_starts", "lower.map_cps", "cased.run_values"} <= set(arrays)
    assert not (REPO / "zh_tokenizers" / "_hf_bert_tables.py").exists()  # data, not a generated module
    assert '"hf_bert_tables.bin"' in (REPO / "pyproject.toml").read_text(encoding="utf-8")


def test_table_file_round_trip_and_damage(tmp_path):
    path = tmp_path / "t.bin"
    arrays = {"a": np.arange(5, dtype=np.uint32), "b": np.array([1, 2, 3], dtype=np.uint8),
              "c": np.array([-1], dtype=np.int64)}
    write_arrays(path, {"v": "1"}, arrays)
    meta, back = read_arrays(path)
    assert meta == {"v": "1"} and all(np.array_equal(back[k], v) and back[k].dtype == v.dtype for k, v in arrays.items())
    assert not list(tmp_path.glob("*.tmp"))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match="damaged table file"):
        read_arrays(path)


def test_shipped_tables_are_what_the_installed_tokenizers_gives(tmp_path):
    """Regenerating with the recorded tokenizers version gives the same bytes (the file is not hand-edited)."""
    tokenizers = pytest.importorskip("tokenizers")
    meta, _ = read_arrays(TABLES_FILE)
    if meta["tokenizers_version"] != tokenizers.__version__:
        pytest.skip(f"tables from tokenizers {meta['tokenizers_version']}, installed {tokenizers.__version__}: "
                    "run python tools/gen_hf_tables.py")
    sys.path.insert(0, str(REPO / "tools"))
    from gen_hf_tables import main

    main(tmp_path / "fresh.bin")
    assert (tmp_path / "fresh.bin").read_bytes() == TABLES_FILE.read_bytes()


def test_classes_of_known_characters():
    cls = hf_tables(True).cls & CLASS_MASK
    for ch, want in [("中", SINGLE), ("，", SINGLE), ("!", SINGLE), ("a", WORD), ("A", WORD), ("é", WORD),
                     (" ", SPACE), ("\n", SPACE), ("\u2028", SPACE), ("\u200b", DROP), ("\ue000", DROP),
                     ("\x00", DROP), ("\u0301", DROP), ("\U0002B820", WORD), ("\U0002B920", SINGLE)]:
        assert cls[ord(ch)] == want, (ch, cls[ord(ch)])
    flagged = np.flatnonzero(hf_tables(True).cls & RISKY)
    assert len(flagged) and (hf_tables(True).cls[flagged] & CLASS_MASK == WORD).all()
    assert not (hf_tables(False).cls & RISKY).any()


# ---------------------------------------------------------------- fast path == per-line path ----

def _flat_lists(enc) -> list[list[int]]:
    return [enc.ids[a:b].tolist() for a, b in zip(enc.offsets[:-1].tolist(), enc.offsets[1:].tolist())]


def test_flat_output_equals_lists_on_every_corpus_line(ours, corpus_lines):
    enc = ours.encode_batch_flat(corpus_lines)
    assert enc.ids.dtype == np.int32 and enc.offsets[0] == 0 and len(enc.offsets) == len(corpus_lines) + 1
    assert _flat_lists(enc) == ours.encode_batch(corpus_lines)


def test_chunk_borders_do_not_change_ids(ours, corpus_lines, monkeypatch):
    sample = corpus_lines[:3000] + ["[MASK] a\u200bb", "x\U0001D16D\U0001D165y", "", "中"]
    whole = ours.encode_batch(sample)
    monkeypatch.setattr(batch_encode, "CHUNK_CHARS", 97)  # many chunks, lines longer than a chunk
    assert ours.encode_batch(sample) == whole
    assert _flat_lists(ours.encode_batch_flat(sample)) == whole


_text = st.text(alphabet=st.sampled_from(list("中文北京，。 \n\t\u3000ab Zé\u0301\u200b\ue000[MASK]9" "\U0001D165\U0001D16D")),
                max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(_text, max_size=12))
def test_fast_path_equals_per_line_path(ours, texts):
    expected = [ours.encode(t) for t in texts]
    assert ours.encode_batch(texts) == expected
    assert _flat_lists(ours.encode_batch_flat(texts)) == expected


def test_empty_inputs(ours):
    assert ours.encode_batch([]) == [] and ours.encode_batch([""]) == [[]]
    enc = ours.encode_batch_flat([])
    assert enc.offsets.tolist() == [0] and len(enc.ids) == 0


def test_uer_compat_fast_path_equals_its_per_line_path(google_vocab, corpus_lines):
    uer = load_tokenizer(vocab=google_vocab, uer_compat=True)
    sample = corpus_lines[::5] + ["\uf900\uf901 ＡＢ ΑΣ", "a\U0002B820b"]
    assert uer.encode_batch(sample) == [uer.encode(t) for t in sample]


def test_tokenizer_setup_reads_tables_without_scanning_code_points(google_vocab, monkeypatch):
    """Building an HF-exact tokenizer never asks unicodedata about code points (that was 0.24 s per worker)."""
    import unicodedata

    from zh_tokenizers import char_classes

    char_classes.hf_tables.cache_clear()
    calls = []
    real = unicodedata.combining
    monkeypatch.setattr(unicodedata, "combining", lambda ch: calls.append(ch) or real(ch))
    try:
        tok = load_tokenizer(vocab=google_vocab)
        tok.encode_batch(["北京 Hello", "é"] * 3)
    finally:
        char_classes.hf_tables.cache_clear()
    assert calls == []


# ---------------------------------------------------------------- worker plan ----

Unit = namedtuple("Unit", "index size")


def test_small_sized_runs_stay_in_process(monkeypatch):
    monkeypatch.delenv("ZOOPREP_MIN_MB_PER_WORKER", raising=False)
    small = [Unit(i, 1000) for i in range(10)]
    assert plan_workers(4, small) == 1
    big = [Unit(i, MIN_BYTES_PER_WORKER) for i in range(3)]
    assert plan_workers(4, big) == 3  # never more workers than units
    assert plan_workers(2, [Unit(i, MIN_BYTES_PER_WORKER // 2) for i in range(4)]) == 2
    assert plan_workers(4, range(10)) == 4 and plan_workers(4, [1]) == 1  # unsized items: count only
    assert plan_workers(3, iter([1, 2])) == 3  # unknown length: as asked
    monkeypatch.setenv("ZOOPREP_MIN_MB_PER_WORKER", "0")
    assert plan_workers(4, small) == 4


def _pid(_item) -> int:
    return os.getpid()


def test_executor_runs_a_small_sized_run_in_process(monkeypatch):
    monkeypatch.delenv("ZOOPREP_MIN_MB_PER_WORKER", raising=False)
    with LocalExecutor(workers=2) as ex:
        assert set(ex.map(_pid, [Unit(0, 10), Unit(1, 10)])) == {os.getpid()}


@pytest.mark.skipif(sys.platform == "win32", reason="no forkserver on Windows")
def test_workers_fork_from_a_preloaded_server():
    ctx = pool_context(_pid)
    assert ctx.get_start_method() == "forkserver"
    with LocalExecutor(workers=2) as ex:
        pids = set(ex.map(_pid, range(6)))
    assert os.getpid() not in pids


def test_forced_pool_shard_is_byte_identical_to_in_process(tmp_path, google_vocab, corpora_dir, monkeypatch):
    from corpusprep.instances.config import ShardConfig
    from corpusprep.instances.pipeline import run_shard

    src = next(p for p in sorted((corpora_dir / "cluecorpussmall").rglob("*.txt")))
    cfg = dict(corpus=(src,), vocab=google_vocab, seq_len=128, unit_mb=0.05, show_progress=False)
    one = run_shard(ShardConfig(out=tmp_path / "one", workers=1, **cfg))
    monkeypatch.setenv("ZOOPREP_MIN_MB_PER_WORKER", "0")
    two = run_shard(ShardConfig(out=tmp_path / "two", workers=2, **cfg))
    arrow = lambda d: sorted((p.name, p.read_bytes()) for p in Path(d).glob("*.arrow"))  # noqa: E731
    assert arrow(one.out) == arrow(two.out) and arrow(one.out)
    assert json.loads((Path(one.out) / "zooprep.json").read_text())["tokenizer"]["fingerprint"] == \
        json.loads((Path(two.out) / "zooprep.json").read_text())["tokenizer"]["fingerprint"]


def test_stored_uer_classes_equal_a_fresh_scan_of_this_python():
    import unicodedata

    from zh_tokenizers import char_classes

    meta, _ = read_arrays(TABLES_FILE)
    if meta.get("uer_python_unicode_version") != unicodedata.unidata_version:
        pytest.skip("table file made on another Unicode version: uer_tables scans instead")
    for lowercase in (True, False):
        cls, changed = char_classes.scan_uer_classes(lowercase)
        stored = char_classes.uer_tables(lowercase)
        assert np.array_equal(stored.cls, cls) and stored.changed_singles == changed


def test_word_table_growth_and_clearing_do_not_change_ids(google_vocab, corpus_lines, monkeypatch):
    tok = load_tokenizer(vocab=google_vocab)
    sample = corpus_lines[::3]
    expected = tok.encode_batch(sample)
    small = load_tokenizer(vocab=google_vocab)
    small._words = batch_encode.WordTable(small._compute, limit=5)
    monkeypatch.setattr(batch_encode, "CHUNK_CHARS", 5000)  # many chunks: the table is cleared between them
    assert small.encode_batch(sample[:2000]) == expected[:2000]
    assert len(small._words.index) < 2000
    assert tok._words.rows == len(tok._words.index) and tok._words.used == int(tok._words.lens[:tok._words.rows].sum())


@pytest.mark.parametrize("kind", ["bert", "char", "space"])
def test_encode_flat_for_every_tokenizer(google_vocab, corpus_lines, kind):
    tok = load_tokenizer(vocab=google_vocab, kind=kind)
    sample = corpus_lines[:500] + ["", "[MASK] x"]
    lists = tok.encode_batch(sample)
    enc = batch_encode.encode_flat(tok, sample)
    assert _flat_lists(enc) == lists and enc.ids.dtype == np.int32 and len(enc) == len(sample)
    assert enc.count(tok.special_ids["unk"]) == sum(ids.count(tok.special_ids["unk"]) for ids in lists)
