"""Reading tab-separated training lines (cls, cls_mlm, prefixlm) and clean Parquet with labels."""
from __future__ import annotations

import json
from typing import Iterator

from corpusprep.corpus_input import PARQUET
from corpusprep.errors import InputError
from corpusprep.instances.sources import LINES, UnitTally, WorkUnit, read_documents

INT32 = (-(1 << 31), (1 << 31) - 1)


def reject(tally: UnitTally, unit: WorkUnit, key: str, reason: str, detail: str) -> None:
    """A counted reject with a sample (the first five of a unit)."""
    tally.rejected += 1
    tally.reasons[reason] = tally.reasons.get(reason, 0) + 1
    if tally.samples is None:
        tally.samples = []
    if len(tally.samples) < 5:
        tally.samples.append({"reason": reason, "source": unit.source, "record": key, "detail": detail[:120]})


def parse_label(value) -> int | None:
    """UER's ``int(label)``; None when it is not an integer that fits int32."""
    try:
        label = int(value)
    except (TypeError, ValueError):
        return None
    return label if INT32[0] <= label <= INT32[1] else None


def tab_fields(unit: WorkUnit, tally: UnitTally) -> Iterator[tuple[str, list[str]]]:
    """(key, fields) of every non-empty line: ``line.strip().split("\\t")`` as UER splits it.
    Parquet units give their ``text`` column split the same way."""
    for d in read_documents(unit, LINES, tally):  # text lines and Parquet rows alike
        yield d.key, d.text.strip().split("\t")


def parquet_labelled(unit: WorkUnit, tally: UnitTally, label_field: str) -> Iterator[tuple[str, int, list[str]]]:
    """clean output: (key, label from the record's meta, [text]) per row with a usable label."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(unit.path)
    if "meta" not in pf.schema_arrow.names or "text" not in pf.schema_arrow.names:
        raise InputError(unit.source, "cls from Parquet needs the 'text' and 'meta' columns of `clean` output")
    n = 0
    for batch in pf.iter_batches(batch_size=4096, row_groups=range(unit.start, unit.end), columns=["text", "meta"]):
        for text, meta in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()):
            key = f"{unit.file_index}:{unit.start}:{n}"
            n += 1
            if not text or not text.strip():
                tally.empty += 1
                continue
            if tally.holdout is not None and not tally.holdout.keeps(text):
                continue
            try:
                value = json.loads(meta).get(label_field) if meta else None
            except (ValueError, AttributeError):
                value = None
            label = parse_label(value)
            if label is None:
                reject(tally, unit, key, "no_label", f"meta {label_field!r} = {value!r}")
                continue
            yield key, label, [text]


def labelled_records(unit: WorkUnit, tally: UnitTally, label_field: str) -> Iterator[tuple[str, int, list[str]]]:
    """(key, label, [text] or [text_a, text_b]) for cls / cls_mlm; other lines are counted rejects."""
    if unit.kind == PARQUET:
        yield from parquet_labelled(unit, tally, label_field)
        return
    for key, fields in tab_fields(unit, tally):
        if len(fields) not in (2, 3):
            reject(tally, unit, key, "fields", f"{len(fields)} tab-separated fields, expected label<TAB>text[<TAB>text_b]")
            continue
        label = parse_label(fields[0])
        if label is None:
            reject(tally, unit, key, "label", f"label {fields[0][:40]!r} is not an int32 integer")
            continue
        yield key, label, fields[1:]
