"""Export a shard directory for other trainers.

``uer``: the dataset file UER-py / TencentPretrain ``pretrain.py`` reads: a plain stream of pickled
tuples, one per instance, no header; the tuple layout is the processor's (its module's
``uer_tuples``, listed in docs/feed.md), e.g. mlm ``((src, pad_num), [length])``, cls
``((src, pad_num), label, seg_pos)``. ``src`` is the unpadded id list; the loader appends
``pad_num`` [PAD]s.

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
from corpusprep.instances.data_processors import get
from corpusprep.outdir import FileOutputs

TARGETS = ("uer", "hf")
PICKLE_PROTOCOL = 4  # readable by every Python 3 UER-py supports
_CHUNK_ROWS = 4096


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
    """The processor to export as: the shard's own, or one its registry entry names in export_as."""
    wanted = wanted or shard_processor
    possible = {shard_processor, *get(shard_processor).export_as}
    if wanted not in possible:
        ok = ", ".join(sorted(possible))
        raise ZooprepError(f"a {shard_processor} shard cannot be exported as --processor {wanted} (possible: {ok})")
    return wanted


def _chunks(reader: ShardReader) -> Iterator[dict]:
    for lo in range(0, len(reader), _CHUNK_ROWS):
        yield reader.take(np.arange(lo, min(lo + _CHUNK_ROWS, len(reader))))


def uer_instances(raw: dict, processor: str, meta) -> Iterator[tuple]:
    """UER instance tuples for one raw batch (plain Python ints and lists only)."""
    return get(processor).uer_tuples(raw, meta)


def export_uer(cfg: ExportConfig) -> ExportResult:
    reader = ShardReader(cfg.directory)
    processor = resolve_processor(reader.meta.processor, cfg.processor)
    count = 0
    with atomic_open(cfg.out, "wb") as fh:
        for raw in _chunks(reader):
            # One independent pickle per instance, as UER's pickle.dump loop writes them.
            fh.write(b"".join(pickle.dumps(inst, PICKLE_PROTOCOL)
                              for inst in uer_instances(raw, processor, reader.meta)))
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
    if get(processor).masks:
        special = np.isin(ids, [special_ids[k] for k in ("cls", "sep", "pad")])
        cols["special_tokens_mask"] = ragged(special)
        seg = np.zeros_like(ids)
        if "seg_a_len" in get(processor).columns:
            seg = (np.arange(ids.shape[1])[None, :] >= raw["seg_a_len"][:, None]).astype(np.int64)
        cols["token_type_ids"] = ragged(seg)
        if "masked_positions" in raw:
            labels = np.full(ids.shape, -100, dtype=np.int64)
            rows = np.repeat(np.arange(len(lengths)), [len(p) for p in raw["masked_positions"]])
            if rows.size:
                labels[rows, np.concatenate(raw["masked_positions"])] = np.concatenate(raw["masked_labels"])
            cols["labels"] = ragged(labels)
    for stored, hf_name in get(processor).hf_labels:
        cols[hf_name] = pa.array(raw[stored].astype(np.int64))
    if "seg_a_len" in get(processor).columns and "token_type_ids" not in cols:
        cols["token_type_ids"] = ragged((np.arange(ids.shape[1])[None, :] >= raw["seg_a_len"][:, None]).astype(np.int64))
    if "target_ids" in get(processor).columns:
        cols["target_ids"] = pa.array([t.astype(np.int64) for t in raw["target_ids"]], type=pa.list_(pa.int64()))
    return pa.table(cols)


def _empty_batch(reader: ShardReader) -> dict:
    """A zero-row raw batch with every column of the shard's processor (an empty shard has no
    record batch to learn them from)."""
    raw = reader.take(np.arange(0, dtype=np.int64))
    for name in get(reader.meta.processor).columns:
        raw.setdefault(name, [] if name == "target_ids" else np.empty(0, dtype=np.int64))
    return raw


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
            if writer is None:  # no rows: still a Parquet file with the processor's columns
                table = _hf_table(_empty_batch(reader), processor, reader.meta.special_ids)
                writer = pq.ParquetWriter(str(tmp), table.schema, compression="zstd")
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
    return ExportResult(Path(cfg.out), count, Path(cfg.out).stat().st_size, processor)


def card_path(out: Path) -> Path:
    return Path(out).with_name(Path(out).name + ".card.json")


def export(cfg: ExportConfig, _shown: str | None = None) -> ExportResult:
    if cfg.to not in TARGETS:
        raise ZooprepError(f"--to {cfg.to!r} is not one of {', '.join(TARGETS)}")
    from dataclasses import replace

    from corpusprep.outdir.remote import RemoteFiles, readable
    from corpusprep.storage import display, is_url

    shown = _shown or display(str(cfg.directory))  # what the card records: never a cache path or a secret
    if is_url(str(cfg.out)):  # written locally, uploaded, card last
        rf = RemoteFiles("export", [str(cfg.out)], f"{cfg.out}.card.json", [str(cfg.directory)])
        rf.check()
        result = rf.run(lambda: export(replace(cfg, out=rf.local(str(cfg.out))), shown))
        return replace(result, path=display(str(cfg.out)))
    if is_url(str(cfg.directory)):  # read through the verified local cache
        return export(replace(cfg, directory=readable(str(cfg.directory), "shard")), shown)
    outputs = FileOutputs("export", [Path(cfg.out)], card_path(cfg.out), [cfg.directory])
    outputs.check()
    result = export_uer(cfg) if cfg.to == "uer" else export_hf(cfg)
    outputs.write_card({"directory": shown, "to": cfg.to, "processor": result.processor,
                        "instances": result.instances})
    return result
