"""Every reason a reader rejects input under: the one list (the cleaning filters add theirs, see
``clean --list-ops``). A reason is counted per record in report.json ``dropped`` and sampled into
``DIR/rejects/<reason>.jsonl``; docs/readers.md shows this table."""
from __future__ import annotations

READER_REJECTS: dict[str, str] = {
    "undecodable": "a line (or the CSV row / JSON object / document holding it) does not decode in the file's "
                   "encoding, or a JSON string holds a lone surrogate (\\udXXX) that cannot be written as UTF-8",
    "line_too_long": "a physical line longer than max_line_bytes (16 MB), skipped while reading, never held",
    "document_too_long": "a blank-line document longer than the same limit (characters)",
    "truncated_input": "the cut-off tail of a compressed file that ends before its end marker",
    "corrupt_input": "every line of a compressed member that fails its integrity check (CRC/checksum), and the "
                     "tail after compressed data that cannot be decoded further",
    "bad_json": "a JSON line / array element that does not parse, is not an object, or nests deeper than 200 levels",
    "bad_csv": "a CSV record the parser cannot read, or one opened by an unclosed quote (the rows it swallowed "
               "are read again)",
    "bad_row": "a TSV row with fewer cells than the header, or a CSV row with extra cells when the text is not "
               "the last column",
    "missing_field": "a record without its text field (or with a non-text value there)",
    "couplet_unpaired": "a couplet line without a partner line (in.txt / out.txt lengths differ)",
}
