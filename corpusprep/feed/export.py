"""Export a shard directory for other trainers.

``uer``: the dataset file UER-py / TencentPretrain ``pretrain.py`` reads: a plain stream of pickled
tuples, one per instance, no header (layouts in ../shared/reference/uer_pipeline.md):

- mlm, dynamic: ``((src, pad_num), [length])``; static: ``((src, pad_num), [(pos, id), ...], [length])``
- bert/albert, dynamic: ``((src, pad_num), label, [seg_a_len, length])``;
  static: ``((src, pad_num), [(pos, id), ...], label, [seg_a_len, length])``
- lm: ``((src, pad_num), [seq_len])`` for full pieces, ``((src, pad_num), [length])`` for the last one

``src`` is the unpadded id list; the loader appends ``pad_num`` [PAD]s.

``hf``: one Parquet file with Hugging Face column names, unpadded lists (pad with any HF collator).

Output rule (corpusprep.outdir.fileout): ``--out`` may not be or lie inside the shard directory;
``F.card.json`` is written last and names ``F`` with its sha256; an existing ``F`` is replaced only
when that card shows zooprep wrote it.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

from corpusprep.atomic import atomic_open, atomic_path
from corpusprep.errors import ZooprepError
from corpusprep.feed.shards import ShardReader
from corpusprep.outdir import FileOutputs

TARGETS = ("uer", "hf")
PICKLE_PROTOCOL = 4  # readable by every Python 3 UER-py supports
_CHUNK_ROWS = 4096
# processor a shard was built for -> processors it can be exported as
_COMPATIBLE = {"mlm": {"mlm"}, "bert": {"bert", "mlm"}, "albert": {"albert", "mlm"}, "lm": {"lm"}}


@dataclass(frozen=True)
class ExportConfig:
    directory: Path
    out: Path
    to: str = "uer"
    processor: str | None = None  # default: the shard's own processor


@dataclass(frozen=True)
class ExportResult:
    path: Path
    instances: int
    bytes: int
    processor: str


def resolve_processor(shard_processor: str, wanted: str | None) -> str:
    wanted = wanted or shard_processor
    if wanted not in _COMPATIBLE.get(shard_processor, ()):
        ok = ", ".join(sorted(_COMPATIBLE.get(shard_processor, ())))
        raise ZooprepError(f"a {shard_processor} shard cannot be exported as --processor {wanted} (possible: {ok})")
    return wanted


def _chunks(reader: ShardReader) -> Iterator[dict]:
    for lo in range(0, len(reader), _CHUNK_ROWS):
        yield reader.take(np.arange(lo, min(lo + _CHUNK_ROWS, len(reader))))


def uer_instances(raw: dict, processor: str, seq_len: int) -> Iterator[tuple]:
    """UER instance tuples for one raw batch (plain Python ints and lists only)."""
    ids = raw["input_ids"]
    lengths = raw["length"].tolist()
    row_len = ids.shape[1]
    static = "masked_positions" in raw
    pair = {"bert": "nsp_label", "albert": "sop_label"}.get(processor)
    labels = raw[pair].tolist() if pair else None
    seg_a = raw["seg_a_len"].tolist() if pair else None
    for i, n in enumerate(lengths):
        src = (ids[i, :n].tolist(), row_len - n)
        if processor == "lm":
            yield (src, [seq_len if n == row_len else n])
            continue
        tgt = list(zip(raw["masked_positions"][i].tolist(), raw["masked_labels"][i].tolist())) if static else None
        if pair:
            seg_pos = [seg_a[i], n]
            yield (src, tgt, labels[i], seg_pos) if static else (src, labels[i], seg_pos)
        else:
            yield (src, tgt, [n]) if static else (src, [n])


def export_uer(cfg: ExportConfig) -> ExportResult:
    reader = ShardReader(cfg.directory)
    processor = resolve_processor(reader.meta.processor, cfg.processor)
    count = 0
    with atomic_open(cfg.out, "wb") as fh:
        for raw in _chunks(reader):
            # One independent pickle per instance, as UER's pickle.dump loop writes them.
            fh.write(b"".join(pickle.dumps(inst, PICKLE_PROTOCOL)
                              for inst in uer_instances(raw, processor, reader.meta.seq_len)))
            count += len(raw["length"])
    return ExportResult(Path(cfg.out), count, Path(cfg.out).stat().st_size, processor)


class _DataOnlyUnpickler(pickle.Unpickler):
    """Refuses every global: UER instances hold only tuples, lists and ints."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not a plain UER instance")


def iter_uer_dataset(path: str | Path) -> Iterator[tuple]:
    """Read a UER dataset.pt stream without executing anything (no globals allowed)."""
    with open(path, "rb") as fh:
        yield from iter_uer_stream(fh)


def iter_uer_stream(fh: BinaryIO) -> Iterator[tuple]:
    unpickler = _DataOnlyUnpickler(fh)
    while True:
        try:
            yield unpickler.load()
        except EOFError:
            return


def _hf_table(raw: dict, processor: str, special_ids: dict):
    import pyarrow as pa

    ids = raw["input_ids"]
    lengths = raw["length"].astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    real = np.arange(ids.shape[1])[None, :] < lengths[:, None]

    def ragged(matrix):
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(matrix[real].astype(np.int32)))

    cols = {"input_ids": ragged(ids), "attention_mask": ragged(np.ones_like(ids))}
    if processor != "lm":
        special = np.isin(ids, [special_ids[k] for k in ("cls", "sep", "pad")])
        cols["special_tokens_mask"] = ragged(special)
        seg = np.zeros_like(ids)
        if processor in ("bert", "albert"):
            seg = (np.arange(ids.shape[1])[None, :] >= raw["seg_a_len"][:, None]).astype(np.int64)
        cols["token_type_ids"] = ragged(seg)
        if "masked_positions" in raw:
            labels = np.full(ids.shape, -100, dtype=np.int64)
            rows = np.repeat(np.arange(len(lengths)), [len(p) for p in raw["masked_positions"]])
            if rows.size:
                labels[rows, np.concatenate(raw["masked_positions"])] = np.concatenate(raw["masked_labels"])
            cols["labels"] = ragged(labels)
    if processor == "bert":
        cols["next_sentence_label"] = pa.array(raw["nsp_label"].astype(np.int64))
    if processor == "albert":
        cols["sentence_order_label"] = pa.array(raw["sop_label"].astype(np.int64))
    return pa.table(cols)


def export_hf(cfg: ExportConfig) -> ExportResult:
    import pyarrow.parquet as pq

    reader = ShardReader(cfg.directory)
    processor = resolve_processor(reader.meta.processor, cfg.processor)
    count = 0
    with atomic_path(cfg.out) as tmp:
        writer = None
        try:
            for raw in _chunks(reader):
                table = _hf_table(raw, processor, reader.meta.special_ids)
                if writer is None:
                    writer = pq.ParquetWriter(str(tmp), table.schema, compression="zstd")
                writer.write_table(table)
                count += table.num_rows
        finally:
            if writer is not None:
                writer.close()
    return ExportResult(Path(cfg.out), count, Path(cfg.out).stat().st_size, processor)


def card_path(out: Path) -> Path:
    return Path(out).with_name(Path(out).name + ".card.json")


def export(cfg: ExportConfig) -> ExportResult:
    if cfg.to not in TARGETS:
        raise ZooprepError(f"--to {cfg.to!r} is not one of {', '.join(TARGETS)}")
    outputs = FileOutputs("export", [Path(cfg.out)], card_path(cfg.out), [cfg.directory])
    outputs.check()
    result = export_uer(cfg) if cfg.to == "uer" else export_hf(cfg)
    outputs.write_card({"directory": str(cfg.directory), "to": cfg.to, "processor": result.processor,
                        "instances": result.instances})
    return result
