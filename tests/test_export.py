"""`zooprep export`: UER dataset.pt layouts (read back without trusting pickle) and HF Parquet.

The shards are real `zooprep shard` output of the demo corpus (tests/conftest.py); the expected
instances are built from the columns `datasets.load_from_disk` reads."""
from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest

from corpusprep.errors import ZooprepError
from corpusprep.feed.export import ExportConfig, export, iter_uer_dataset
from conftest import REPO, cli, shard_columns

SEQ = 40


class PlainDataUnpickler(pickle.Unpickler):
    """Written from the format description: instances are tuples/lists/ints, so no global is ever needed."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"global {module}.{name} in a UER dataset")


def read_back(path: Path) -> list:
    out = []
    with open(path, "rb") as fh:
        while True:
            try:
                out.append(PlainDataUnpickler(fh).load())
            except EOFError:
                return out


def expected_instances(cols: dict, processor: str, seq: int = SEQ) -> list:
    """The layouts of ../shared/reference/uer_pipeline.md, built from the columns independently."""
    out = []
    row_len = cols["input_ids"].shape[1]
    for i in range(len(cols["length"])):
        n = int(cols["length"][i])
        src = ([int(x) for x in cols["input_ids"][i][:n]], row_len - n)
        if processor == "lm":
            out.append((src, [seq if n == seq + 1 else n]))
            continue
        static = "masked_positions" in cols
        tgt = [(int(p), int(t)) for p, t in zip(cols["masked_positions"][i], cols["masked_labels"][i])] if static else None
        if processor == "mlm":
            out.append((src, tgt, [n]) if static else (src, [n]))
        else:
            label = int(cols["nsp_label" if processor == "bert" else "sop_label"][i])
            seg = [int(cols["seg_a_len"][i]), n]
            out.append((src, tgt, label, seg) if static else (src, label, seg))
    return out


def real(real_shards, processor: str, *flags: str, seq_len: int = SEQ):
    shard = real_shards(processor, *flags, "--unit-mb", "0.05", seq_len=seq_len)
    return shard, shard_columns(shard)


@pytest.mark.parametrize("processor,static", [("mlm", False), ("mlm", True), ("bert", False), ("bert", True),
                                              ("albert", False), ("lm", False)])
def test_uer_export_round_trips_every_instance(tmp_path, real_shards, processor, static):
    # mlm at 6 tokens a row: more rows than one export chunk (4,096)
    shard, cols = real(real_shards, processor, *(["--static-masking"] if static else []),
                       seq_len=6 if processor == "mlm" and not static else SEQ)
    if processor == "mlm" and not static:
        assert len(cols["length"]) > 4096
    result = export(ExportConfig(shard, tmp_path / "dataset.pt", "uer"))
    assert result.instances == len(cols["length"]) and result.processor == processor
    got = read_back(tmp_path / "dataset.pt")
    assert got == expected_instances(cols, processor, int(cols["input_ids"].shape[1]) - (processor == "lm"))
    assert list(iter_uer_dataset(tmp_path / "dataset.pt")) == got
    # exactly one pickle per instance (UER reads them with repeated pickle.load)
    assert len(got) == len(cols["length"])


def test_bert_shard_exports_as_mlm_and_refuses_lm(tmp_path, real_shards):
    shard, cols = real(real_shards, "bert")
    export(ExportConfig(shard, tmp_path / "mlm.pt", "uer", processor="mlm"))
    assert read_back(tmp_path / "mlm.pt") == expected_instances(cols, "mlm")
    with pytest.raises(ZooprepError, match="cannot be exported"):
        export(ExportConfig(shard, tmp_path / "lm.pt", "uer", processor="lm"))
    assert not (tmp_path / "lm.pt").exists()


def test_our_reader_refuses_pickles_with_globals(tmp_path):
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(((([1, 2], 0), [2]))) + pickle.dumps(io.BytesIO))
    with pytest.raises(pickle.UnpicklingError):
        list(iter_uer_dataset(evil))


def test_hf_parquet_export(tmp_path, real_shards):
    pq = pytest.importorskip("pyarrow.parquet")
    shard, cols = real(real_shards, "bert", "--static-masking")
    export(ExportConfig(shard, tmp_path / "out.parquet", "hf"))
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    n = len(cols["length"])
    assert len(rows) == n
    for i in range(n):
        n, a = int(cols["length"][i]), int(cols["seg_a_len"][i])
        row = rows[i]
        assert row["input_ids"] == cols["input_ids"][i][:n].tolist()
        assert row["token_type_ids"] == [0] * a + [1] * (n - a)
        assert row["attention_mask"] == [1] * n
        assert row["next_sentence_label"] == cols["nsp_label"][i]
        labels = np.array(row["labels"])
        np.testing.assert_array_equal(labels[cols["masked_positions"][i]], cols["masked_labels"][i])
        assert (labels != -100).sum() == len(cols["masked_positions"][i])


def test_cli_export_and_one_line_error(tmp_path, real_shards):
    shard, cols = real(real_shards, "lm")
    ok = cli("export", str(shard), "--out", str(tmp_path / "d.pt"), timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert f"{len(cols['length'])} lm instances" in ok.stdout
    assert read_back(tmp_path / "d.pt") == expected_instances(cols, "lm")
    bad = cli("export", str(tmp_path / "nope"), "--out", str(tmp_path / "x.pt"), timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "nope" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "x.pt").exists()
