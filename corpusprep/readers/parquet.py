"""Parquet files with a ``text`` column (``clean``'s output) as a reader layout: one record per row."""
from __future__ import annotations

from typing import Iterator

from corpusprep.errors import InputError
from corpusprep.records import Record
from corpusprep.readers.units import WorkUnit

_BATCH_ROWS = 4096


def parquet_file(path: str):
    """``pyarrow.parquet.ParquetFile`` of a local file, or of a URL through ranged reads
    (``corpusprep.storage.open_read``: the footer and the wanted row groups, never the whole object)."""
    import pyarrow.parquet as pq

    from corpusprep import storage

    if not storage.is_url(path):
        return pq.ParquetFile(path)
    from corpusprep.readers.rawio import open_input

    return pq.ParquetFile(open_input(path))


def check_text_column(path: str):
    """The file's metadata, after checking it is Parquet with a string ``text`` column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = parquet_file(path)
    except InputError:
        raise
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(path, f"not a readable Parquet file ({str(exc)[:200]})") from None
    schema = pf.schema_arrow
    if "text" not in schema.names:
        raise InputError(path, "Parquet file has no 'text' column (expected clean's output)")
    kind = schema.field("text").type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise InputError(path, f"Parquet column 'text' holds {kind}, not strings (expected clean's output)")
    return pf.metadata


def read_parquet(unit: WorkUnit) -> Iterator[Record]:
    """Rows of row groups [start, end): ``Record.line`` is the 1-based row in the file; a null text
    is an empty record (counted as empty by the commands)."""
    if unit.end is not None and unit.end <= unit.start:
        return
    try:
        pf = parquet_file(unit.path)
        row = 1 + sum(pf.metadata.row_group(g).num_rows for g in range(unit.start))
        groups = range(unit.start, unit.end if unit.end is not None else pf.metadata.num_row_groups)
        batches = pf.iter_batches(batch_size=_BATCH_ROWS, row_groups=groups, columns=["text"])
        for batch in batches:
            for text in batch.column(0).to_pylist():
                yield Record(text or "", unit.source, row)
                row += 1
    except OSError:
        raise
    except Exception as exc:  # ArrowInvalid & co.: a damaged file, named
        raise InputError(unit.source, f"cannot read Parquet data ({str(exc)[:200]})") from None
