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

FORMAT_VERSION = 2  # zooprep.json "format_version"; 1 (absent): fixed-size padded input_ids + a length column
LENGTH = "length"  # a row's real tokens: a logical column, given by the input_ids offsets (stored only in format 1)
# Column name -> Arrow type. Ragged columns are variable-length lists with int32 offsets; rows are
# padded only at batch time (feed/shards.py), so the files hold real tokens only.
# (seg_a_len was int32 in format 1; format 2 stores it as a position, see value_dtype)
SCALAR_TYPES = {"seg_a_len": "int32", "nsp_label": "int8", "sop_label": "int8", "label": "int32"}
POSITION_COLUMNS = ("masked_positions", "word_starts", "seg_a_len")  # positions in a row: uint16 while row_len <= 65536
ID_COLUMNS = ("masked_labels", "target_ids")  # token ids: the id dtype of input_ids
RAGGED = ("masked_positions", "masked_labels", "word_starts", "target_ids")
MASK_COLUMNS = ("masked_positions", "masked_labels")
REQUIRED_SPECIALS = ("pad", "cls", "sep", "mask")


def id_dtype(vocab_size: int) -> str:
    """uint16 when every id fits (vocab_size <= 65536), else uint32 (FORMATS.md sec. 4)."""
    return "uint16" if vocab_size <= 65536 else "uint32"


def position_dtype(row_len: int) -> str:
    """uint16 when every position of a row fits (row_len <= 65536), else uint32."""
    return "uint16" if row_len <= 65536 else "uint32"


def value_dtype(column: str, dtype: str, row_len: int) -> str:
    """The numpy/Arrow value type stored for ``column`` (format 2)."""
    if column == "input_ids" or column in ID_COLUMNS:
        return dtype
    if column in POSITION_COLUMNS:
        return position_dtype(row_len)
    if column in SCALAR_TYPES:
        return SCALAR_TYPES[column]
    raise ValueError(f"unknown shard column {column!r}")


def stored_columns(cols: list[str]) -> list[str]:
    """The columns a part file holds: the logical ones less ``length`` (derived from the offsets)."""
    return [c for c in cols if c != LENGTH]


def arrow_type(column: str, dtype: str = "uint16", row_len: int = 0):
    import pyarrow as pa  # readers without pyarrow (device checks on in-memory rows) use the rest

    value = getattr(pa, value_dtype(column, dtype, row_len))()
    return value if column in SCALAR_TYPES else pa.list_(value)


def _feature(column: str, dtype: str, row_len: int) -> dict:
    value = {"dtype": value_dtype(column, dtype, row_len), "_type": "Value"}
    return value if column in SCALAR_TYPES else {"feature": value, "_type": "List"}


def instance_schema(cols: list[str], dtype: str, row_len: int):
    """The Arrow schema of every part (``length`` dropped), with the ``huggingface`` features metadata."""
    import pyarrow as pa

    cols = stored_columns(cols)
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
    format_version: int = FORMAT_VERSION  # 1: fixed-size padded input_ids + length column (read, not written)

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
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise InputError(str(path), f"expected a JSON object at top level, not {type(raw).__name__}")
    return raw


def refuse_encoded(raw: dict, path) -> None:
    """Readers of fixed instances refuse an encoded corpus (`shard --encode-only`, instances/encoded.py)."""
    if raw.get("kind") == "encoded":
        raise InputError(str(path), "an encoded corpus (`shard --encode-only`), not fixed instances: read it through "
                                    "a view (docs/views.md), or run `shard` without --encode-only")


def split_files(raw: dict, split: str | None, path) -> list | None:
    """The data files of ``split`` (None: the default, train), from zooprep.json ``files`` / ``splits``."""
    if split in (None, "train"):
        return raw.get("files")
    entry = (raw.get("splits") or {}).get(split)
    if not isinstance(entry, dict):
        have = ["train", *[k for k in (raw.get("splits") or {}) if k != "holdout"]]
        raise InputError(str(path), f"no split {split!r} (splits: {', '.join(have)}); "
                                    "`shard --validation-share F` writes a validation split")
    return entry.get("files")


def read_meta(directory: str | Path, split: str | None = None) -> ShardMeta:
    """Parse DIR/zooprep.json; raise InputError naming the file when it is missing, incomplete or edited.
    ``split``: the files of that split (a --validation-* shard; default train)."""
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
        files = [f["path"] if isinstance(f, dict) else str(f) for f in split_files(raw, split, path) or []]
        version = int(raw.get("format_version", 1))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # an edited file: any type anywhere
        raise InputError(str(path), f"missing or bad field {exc}") from None
    if row_len != expected_row:
        raise InputError(str(path), f"row_len {row_len} does not match seq_len {seq_len} for processor "
                                    f"{processor!r} (edited?); rebuild the shard directory")
    if version not in (1, FORMAT_VERSION):
        raise InputError(str(path), f"format_version {version} is not one this zooprep reads (1, {FORMAT_VERSION}); "
                                    "rebuild the shard directory with this zooprep or upgrade zooprep")
    missing = set(REQUIRED_SPECIALS) - special_ids.keys()
    if missing:
        raise InputError(str(path), f"special_ids lacks {sorted(missing)}")
    vocab_size = int((raw.get("tokenizer") or {}).get("vocab_size") or raw.get("vocab_size") or 0)
    if not files:
        files = _files_from_state(directory)
    return ShardMeta(processor, seq_len, row_len, special_ids, vocab_size,
                     bool(raw.get("static_masking")), bool(raw.get("whole_word")), tuple(files), raw, version)


def _files_from_state(directory: Path) -> list[str]:
    state = directory / "state.json"
    if state.is_file():
        return [f["filename"] for f in json.loads(state.read_text(encoding="utf-8")).get("_data_files", [])]
    return sorted(p.name for p in directory.glob("*.arrow"))
