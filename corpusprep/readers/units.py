"""What a reader works on: a resolved, picklable description of one slice of one input file."""
from __future__ import annotations

from dataclasses import dataclass

FAMILIES: tuple[str, ...] = (
    "cluecorpussmall", "wiki2019zh", "news2016zh", "webtext2019zh", "weibo", "reviews", "poems",
    "couplets", "lyrics", "ancient", "text", "text-blank", "csv", "jsonl",
)

COMPRESSIONS: dict[str, str] = {".gz": "gz", ".bz2": "bz2", ".xz": "xz", ".zst": "zst"}

# A physical line (or a blank-line document) longer than this many bytes is rejected, not held.
DEFAULT_MAX_LINE_BYTES = 16 << 20
# A JSON array file is parsed whole (its objects may span lines, or all sit on one line).
JSON_ARRAY_MAX_BYTES = 512 << 20


@dataclass(frozen=True)
class WorkUnit:
    """One independent piece of reading work; outputs of all units are merged in ``index`` order.

    ``options`` is a sorted tuple of (key, value) pairs resolved at planning time, e.g.
    ``("layout", "tsv")``, ``("text_field", "review")``, ``("first_line", 1201)``,
    ``("columns", ("label", "text_a"))``, ``("pair", "/data/out.txt")``.
    """

    index: int
    path: str
    family: str
    encoding: str
    start: int = 0  # byte offset; Parquet: first row group
    end: int | None = None  # exclusive byte offset (None: to the end); Parquet: end row group
    compression: str | None = None
    options: tuple = ()
    file_index: int = 0  # position of the file in the input list (corpus commands key documents by it)
    size: int = 0  # input bytes the unit covers, for progress (corpus commands)
    # The path as the user gave it, where ``path`` was made absolute for the workers
    # (corpusprep.shipping); records and reports name ``source``, reads open ``path``.
    given: str | None = None

    @property
    def source(self) -> str:
        """The name records, samples and reports give this unit's file."""
        return self.path if self.given is None else self.given

    @property
    def kind(self) -> str:
        """``parquet`` for a unit of a Parquet file (clean's output), else ``text``."""
        return "parquet" if self.option("layout") == "parquet" else "text"

    def option(self, key: str, default=None):
        for k, v in self.options:
            if k == key:
                return v
        return default


def compression_of(path: str) -> str | None:
    """The compression named by the file extension, or None for a plain file."""
    lower = path.lower()
    for ext, name in COMPRESSIONS.items():
        if lower.endswith(ext):
            return name
    return None


def inner_name(path: str) -> str:
    """The file name without its compression extension (``a.jsonl.gz`` -> ``a.jsonl``)."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    comp = compression_of(name)
    if comp:
        name = name[: name.rfind(".")]
    return name
