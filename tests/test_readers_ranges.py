"""Property: reading a file in byte ranges of any size gives exactly the whole-file records."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpusprep.readers import plan_units, read_unit
from corpusprep.records import Record

# characters of 1-4 UTF-8 bytes, whitespace that counts as blank, and bytes that get repaired
ALPHABET = st.sampled_from(["a", "汉", "€", "😀", " ", "\u3000", "\t", "\x00", "\r", "\ufeff", "\"", "{"])
LINE = st.text(ALPHABET, max_size=12)
ENDING = st.sampled_from(["\n", "\r\n", "\n\n"])


def _key(item):
    return (item.line, item.text, item.meta) if isinstance(item, Record) else (item.line, item.reason, item.raw)


def _read(path, fmt, unit_bytes):
    units = plan_units([str(path)], fmt=fmt, unit_bytes=unit_bytes, max_line_bytes=24)
    return [_key(item) for u in units for item in read_unit(u)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.tuples(LINE, ENDING), max_size=25), final=LINE, unit_bytes=st.integers(1, 40),
       fmt=st.sampled_from(["text", "text-blank"]), bad=st.booleans())
def test_ranges_equal_whole_file(tmp_path_factory, lines, final, unit_bytes, fmt, bad):
    data = ("".join(t + e for t, e in lines) + final).encode()
    if bad and len(data) > 3:
        data = data[:3] + b"\xff" + data[3:]  # an undecodable byte somewhere near the start
    path = tmp_path_factory.mktemp("ranges") / "f.txt"
    path.write_bytes(data)
    assert _read(path, fmt, unit_bytes) == _read(path, fmt, 1 << 30)
