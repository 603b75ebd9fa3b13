"""The on-disk format of a `shard` directory (docs/FORMATS.md section 4), defined once.

Writers (`shard`, the test shard writer) and readers (the feed loader, `export`, `inspect`) take
column types, the Arrow schema and ``zooprep.json`` parsing from here; which columns a processor
stores comes from its entry in :mod:`corpusprep.instances.data_processors`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from corpusprep.errors import InputError

# Column name -> (Arrow type, `datasets` feature). input_ids is a fixed-size list (see ``instance_schema``).
SCALAR_TYPES = {"length": "int32", "seg_a_len": "int32", "nsp_label": "int8", "sop_label": "int8", "label": "int32"}
RAGGED = ("masked_positions", "masked_labels", "word_starts", "target_ids")  # list<int32>
MASK_COLUMNS = ("masked_positions", "masked_labels")
REQUIRED_SPECIALS = ("pad", "cls", "sep", "mask")


def id_dtype(vocab_size: int) -> str:
    """uint16 when every id fits (vocab_size <= 65536), else uint32 (FORMATS.md sec. 4)."""
    return "uint16" if vocab_size <= 65536 else "uint32"


def arrow_type(column: str, dtype: str = "uint16", row_len: int = 0):
    import pyarrow as pa  # readers without pyarrow (device checks on in-memory rows) use the rest

    if column == "input_ids":
        return pa.list_(pa.uint16() if dtype == "uint16" else pa.uint32(), row_len)
    if column in SCALAR_TYPES:
        return getattr(pa, SCALAR_TYPES[column])()
    if column in RAGGED:
        return pa.list_(pa.int32())
    raise ValueError(f"unknown shard column {column!r}")


def _feature(column: str, dtype: str, row_len: int) -> dict:
    value = lambda t: {"dtype": t, "_type": "Value"}  # noqa: E731
    if column == "input_ids":
        return {"feature": value(dtype), "length": row_len, "_type": "List"}
    if column in SCALAR_TYPES:
        return value(SCALAR_TYPES[column])
    return {"feature": value("int32"), "_type": "List"}


def instance_schema(cols: list[str], dtype: str, row_len: int):
    """The Arrow schema of every part, with the ``huggingface`` features metadata."""
    import pyarrow as pa

    fields = [pa.field(c, arrow_type(c, dtype, row_len)) for c in cols]
    feats = {c: _feature(c, dtype, row_len) for c in cols}
    return pa.schema(fields, metadata={"huggingface": json.dumps({"info": {"features": feats}})})


@dataclass(frozen=True)
class ShardMeta:
    """What zooprep.json says about a shard directory (the fields readers need)."""

    processor: str
    seq_len: int
    row_len: int
    special_ids: dict
    vocab_size: int
    static_masking: bool
    whole_word: bool
    files: tuple[str, ...]
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def options(self) -> dict:
        """Processor options recorded at shard time (e.g. tgt_seq_len, sentinel id)."""
        return dict(self.raw.get("processor_options") or {})


def read_meta_json(directory: str | Path) -> dict:
    """DIR/zooprep.json as a dict; InputError naming the file when it is missing or not JSON."""
    directory = Path(directory)
    path = directory / "zooprep.json"
    if not directory.is_dir():
        raise InputError(str(directory), "not a directory (expected a `zooprep shard` output directory)")
    if not path.is_file():
        raise InputError(str(path), "missing: not a `zooprep shard` output directory")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"not valid JSON ({exc})") from None


def refuse_encoded(raw: dict, path) -> None:
    """Readers of fixed instances refuse an encoded corpus (`shard --encode-only`, instances/encoded.py)."""
    if raw.get("kind") == "encoded":
        raise InputError(str(path), "an encoded corpus (`shard --encode-only`), not fixed instances: read it through "
                                    "a view (docs/views.md), or run `shard` without --encode-only")


def read_meta(directory: str | Path) -> ShardMeta:
    """Parse DIR/zooprep.json; raise InputError naming the file when it is missing, incomplete or edited."""
    from corpusprep.instances.data_processors import get, names
    from corpusprep.outdir import require_complete

    directory = Path(directory)
    path = directory / "zooprep.json"
    if directory.is_dir():
        require_complete(directory, "shard")  # an unfinished or damaged zooprep directory is refused
    raw = read_meta_json(directory)
    refuse_encoded(raw, path)
    try:
        processor = raw["processor"]
        seq_len = int(raw["seq_len"])
        if processor not in names():
            raise InputError(str(path), f"processor {processor!r} is not one of {', '.join(names())}")
        expected_row = get(processor).row_len(seq_len)
        row_len = int(raw.get("row_len", expected_row))
        special_ids = {k: int(v) for k, v in raw["special_ids"].items() if v is not None}
        files = [f["path"] if isinstance(f, dict) else str(f) for f in raw.get("files") or []]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # an edited file: any type anywhere
        raise InputError(str(path), f"missing or bad field {exc}") from None
    if row_len != expected_row:
        raise InputError(str(path), f"row_len {row_len} does not match seq_len {seq_len} for processor "
                                    f"{processor!r} (edited?); rebuild the shard directory")
    missing = set(REQUIRED_SPECIALS) - special_ids.keys()
    if missing:
        raise InputError(str(path), f"special_ids lacks {sorted(missing)}")
    vocab_size = int((raw.get("tokenizer") or {}).get("vocab_size") or raw.get("vocab_size") or 0)
    if not files:
        files = _files_from_state(directory)
    return ShardMeta(processor, seq_len, row_len, special_ids, vocab_size,
                     bool(raw.get("static_masking")), bool(raw.get("whole_word")), tuple(files), raw)


def _files_from_state(directory: Path) -> list[str]:
    state = directory / "state.json"
    if state.is_file():
        return [f["filename"] for f in json.loads(state.read_text(encoding="utf-8")).get("_data_files", [])]
    return sorted(p.name for p in directory.glob("*.arrow"))
