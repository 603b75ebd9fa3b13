"""Views: fixed-length training rows cut from an encoded corpus (`shard --encode-only`) at load time.

A view is (processor mlm | lm | bilm, seq_len, full_sentences, docs_buffer_size). Its rows are exactly
the rows `shard` writes with those options (same cut rule, same order): mlm and lm frame every
document ``[CLS] doc [SEP]``, bilm does not; without --full-sentences each document is cut on its own
into pieces of the row width (seq_len, lm seq_len + 1), the last one shorter; with it the framed
documents of each docs buffer (``docs_buffer_size`` documents, restarting at every work unit, as
`shard` packs them) are concatenated and cut. Since every group is cut from its start and groups
follow each other, all rows together tile the (virtually framed) document stream: a row is just its
length, its start is the sum of the lengths before it. The index (start, length per row) is computed
with numpy, cached as a memory-mapped ``.npy`` under a cache folder (never inside the encoded
directory), keyed by the directory's complete state and the view options, so a rebuilt corpus never
meets an old index. :class:`ViewReader` has ShardReader's interface (meta, len, take), so the
loader, its Feistel order, exact resume and rank sharding (corpusprep.feed.stream) work unchanged.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from corpusprep.errors import InputError, ZooprepError
from corpusprep.instances.encoded import VIEW_PROCESSORS, is_encoded
from corpusprep.instances.format import REQUIRED_SPECIALS, ShardMeta, read_meta_json

INDEX_VERSION = 1  # bump when the cut rule or the cache layout changes: old caches are then never read
FRAMED = {"mlm": True, "lm": True, "bilm": False}


def default_cache_dir() -> Path:
    """``$ZOOPREP_CACHE/views``, else ``$XDG_CACHE_HOME/zooprep/views`` (``~/.cache`` by default)."""
    if os.environ.get("ZOOPREP_CACHE"):
        return Path(os.environ["ZOOPREP_CACHE"]) / "views"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zooprep" / "views"


@dataclass(frozen=True)
class ViewConfig:
    """The `shard` options that decide the rows; the same values give the same rows as `shard`."""

    processor: str = "mlm"
    seq_len: int = 512
    full_sentences: bool = False
    docs_buffer_size: int = 100000

    @property
    def row_len(self) -> int:
        from corpusprep.instances.data_processors import get

        return get(self.processor).row_len(self.seq_len)

    def validate(self) -> "ViewConfig":
        from corpusprep import options as opt
        from corpusprep.instances.data_processors import get

        if self.processor not in VIEW_PROCESSORS:
            raise ZooprepError(f"a view cuts rows for processor {', '.join(VIEW_PROCESSORS)}, not {self.processor!r} "
                               "(that one needs fixed instances: run `shard` without --encode-only)")
        opt.integer("seq_len", self.seq_len, get(self.processor).min_seq_len, opt.MAX_SEQ_LEN)
        if self.full_sentences and self.processor != "mlm":
            raise ZooprepError("full_sentences applies to processor mlm only")
        if self.docs_buffer_size < 1:
            raise ZooprepError("docs_buffer_size must be at least 1")
        return self


def parse_view(text: str) -> ViewConfig:
    """``PROCESSOR:SEQ_LEN[:full]`` (e.g. ``mlm:512:full``) as a validated ViewConfig."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[1].isdigit() or parts[2:] not in ([], ["full"]):
        raise ZooprepError(f"--view {text!r}: expected PROCESSOR:SEQ_LEN or mlm:SEQ_LEN:full (e.g. mlm:128)")
    return ViewConfig(parts[0], int(parts[1]), full_sentences=parts[2:] == ["full"]).validate()


class EncodedCorpus:
    """The documents of an encoded directory as memory-mapped id arrays (one per Arrow record batch)."""

    def __init__(self, directory: str | Path):
        from corpusprep.outdir import require_complete

        self.directory = Path(directory)
        done = require_complete(self.directory, "shard") if self.directory.is_dir() else None
        self.raw = read_meta_json(self.directory)
        self.path = self.directory / "zooprep.json"
        if not is_encoded(self.raw):
            raise InputError(str(self.path), "not an encoded corpus (views read `shard --encode-only` output; "
                                             "a shard directory is read by the loader as it is)")
        try:
            self.special_ids = {k: int(v) for k, v in self.raw["special_ids"].items() if v is not None}
            self.vocab_size = int(self.raw["tokenizer"]["vocab_size"])
            self.unit_documents = [int(n) for n in self.raw["encoded"]["unit_documents"]]
            self.files = [f["path"] for f in self.raw["files"]]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(str(self.path), f"missing or bad field {exc}") from None
        self.identity = self._identity(done)
        self._open()
        if len(self.doc_lens) != sum(self.unit_documents):
            raise InputError(str(self.path), f"records {sum(self.unit_documents)} documents, the files hold "
                                             f"{len(self.doc_lens)} (edited?); rebuild the encoded corpus")

    def _identity(self, done: dict | None) -> str:
        """What makes a cached index valid: the complete state (a rebuild gets a new run id and
        checksums), else the recorded file checksums and what the files look like now."""
        if done is not None:
            basis = {"complete": done.get("checksum") or done}
        else:
            stats = [[f, os.stat(self.directory / f).st_size, os.stat(self.directory / f).st_mtime_ns]
                     for f in self.files if (self.directory / f).is_file()]
            basis = {"files": self.raw.get("files"), "stat": stats}
        return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()

    def _open(self) -> None:
        import pyarrow as pa

        values, lens = [], []
        for name in self.files:
            path = self.directory / name
            if not path.is_file():
                raise InputError(str(path), "listed in zooprep.json but missing")
            try:
                batches = list(pa.ipc.open_stream(pa.memory_map(str(path), "r")))
            except pa.ArrowInvalid as exc:
                raise InputError(str(path), f"not an Arrow stream file ({exc})") from None
            for b in batches:
                if b.schema.names != ["input_ids"] or b.column(0).null_count:
                    raise InputError(str(path), "not an encoded-corpus part (one input_ids list column)")
                ids = b.column(0)
                offsets = np.frombuffer(ids.buffers()[1], dtype=np.int32)[ids.offset: ids.offset + len(ids) + 1]
                lens.append(np.diff(offsets).astype(np.int64))
                values.append(ids.values.to_numpy(zero_copy_only=True)[offsets[0]: offsets[-1]])
        self._values = values
        self.doc_lens = np.concatenate(lens) if lens else np.zeros(0, np.int64)
        self.tok_start = np.zeros(len(self.doc_lens) + 1, dtype=np.int64)
        np.cumsum(self.doc_lens, out=self.tok_start[1:])
        self._chunk_start = np.zeros(len(values) + 1, dtype=np.int64)
        np.cumsum([len(v) for v in values], out=self._chunk_start[1:])
        # documents never straddle record batches: a document's batch is its chunk
        self.doc_chunk = np.repeat(np.arange(len(lens), dtype=np.int32), [len(n) for n in lens])

    def tokens(self, positions: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """Token ids at positions of the (unframed) document stream, in documents ``docs`` (same shape).

        A position outside its document's record batch (where a caller puts [CLS]/[SEP]/padding)
        reads a clamped neighbour instead of failing; the caller overwrites it."""
        chunk = self.doc_chunk[docs]
        lo, hi = int(chunk.min(initial=0)), int(chunk.max(initial=0))
        if lo == hi:  # the usual case: every position in one record batch
            values = self._values[lo]
            return values[np.clip(positions - self._chunk_start[lo], 0, max(len(values) - 1, 0))] \
                if len(values) else np.zeros(positions.shape, np.int64)
        out = np.zeros(positions.shape, dtype=np.int64)
        for c in np.flatnonzero(np.bincount(chunk.reshape(-1) - lo)) + lo:
            values = self._values[c]
            if len(values):
                sel = chunk == c
                out[sel] = values[np.clip(positions[sel] - self._chunk_start[c], 0, len(values) - 1)]
        return out


def groups(view: ViewConfig, unit_documents: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(first, end) document of every group `shard` cuts on its own: a document, or a docs buffer."""
    n = sum(unit_documents)
    if not view.full_sentences:
        first = np.arange(n, dtype=np.int64)
        return first, first + 1
    firsts, at = [], 0
    for count in unit_documents:  # buffers restart at each unit, as build.line_rows packs them
        firsts.append(np.arange(at, at + count, view.docs_buffer_size, dtype=np.int64))
        at += count
    first = np.concatenate(firsts) if firsts else np.zeros(0, np.int64)
    ends = np.cumsum(unit_documents)
    end = np.minimum(first + view.docs_buffer_size, ends[np.searchsorted(ends, first, side="right")]) if n else first
    return first, end


def row_lengths(view: ViewConfig, doc_lens: np.ndarray, unit_documents: list[int]) -> np.ndarray:
    """Every row's length, in `shard`'s order (processors.cut_groups over the groups above)."""
    width = view.row_len
    framed_lens = doc_lens + (2 if FRAMED[view.processor] else 0)
    vpos = np.zeros(len(framed_lens) + 1, dtype=np.int64)
    np.cumsum(framed_lens, out=vpos[1:])
    first, end = groups(view, unit_documents)
    glen = vpos[end] - vpos[first]
    n_rows = (glen + width - 1) // width
    k = np.arange(int(n_rows.sum()), dtype=np.int64) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows)
    return np.minimum(width, np.repeat(glen, n_rows) - k * width).astype(np.int64)


def build_index(view: ViewConfig, corpus: EncodedCorpus) -> np.ndarray:
    """(rows, 2) int64: start in the framed stream, length."""
    lengths = row_lengths(view, corpus.doc_lens, corpus.unit_documents)
    index = np.empty((len(lengths), 2), dtype=np.int64)
    index[:, 1] = lengths
    index[0:, 0] = np.cumsum(lengths) - lengths
    return index


def _cache_key(view: ViewConfig, corpus: EncodedCorpus) -> str:
    basis = {"version": INDEX_VERSION, "corpus": corpus.identity, "view": asdict(view)}
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:32]


def _usable(index: np.ndarray, total: int, width: int) -> bool:
    """Cheap checks on a cached index (its key already names the corpus and the options)."""
    if index.ndim != 2 or index.shape[1] != 2 or index.dtype != np.int64:
        return False
    if not len(index):
        return total == 0
    last = index[-1]
    return index[0, 0] == 0 and last[0] + last[1] == total and 0 < index[:, 1].max() <= width


def load_index(view: ViewConfig, corpus: EncodedCorpus, cache_dir: Path | None) -> tuple[np.ndarray, Path | None]:
    """The view's index from the cache (memory-mapped), else computed and, where possible, cached."""
    total = int(corpus.tok_start[-1] + (2 * len(corpus.doc_lens) if FRAMED[view.processor] else 0))
    if cache_dir is None:
        return build_index(view, corpus), None
    path = Path(cache_dir) / f"{_cache_key(view, corpus)}.npy"
    if path.is_file():
        try:
            index = np.load(path, mmap_mode="r", allow_pickle=False)
            if _usable(index, total, view.row_len):
                return index, path
        except (OSError, ValueError):
            pass
        print(f"views: {path}: damaged cached index, rebuilt", file=sys.stderr)
    index = build_index(view, corpus)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, index, allow_pickle=False)
        os.replace(tmp, path)  # readers see the old state or a whole file, never half of one
    except OSError as exc:  # a read-only cache folder: work without it
        print(f"views: cannot cache the index in {path.parent} ({exc.strerror}); computed in memory", file=sys.stderr)
        return index, None
    return index, path


class ViewReader:
    """ShardReader's interface (``meta``, ``len``, ``take``) over a view of an encoded corpus.

    Picklable (DataLoader workers reopen the files and map the cached index).
    """

    def __init__(self, directory: str | Path, view: ViewConfig, cache_dir: str | Path | None = "default"):
        self.directory = Path(directory)
        self.view = view.validate()
        self.cache_dir = default_cache_dir() if cache_dir == "default" else (Path(cache_dir) if cache_dir else None)
        self.corpus = EncodedCorpus(self.directory)
        ids = self.corpus.special_ids
        missing = set(REQUIRED_SPECIALS) - ids.keys()
        if missing:
            raise InputError(str(self.corpus.path), f"special_ids lacks {sorted(missing)}")
        self.meta = ShardMeta(view.processor, view.seq_len, view.row_len, ids, self.corpus.vocab_size, False, False,
                              tuple(self.corpus.files), {**self.corpus.raw, "view": asdict(view)})
        self.index, self.index_path = load_index(view, self.corpus, self.cache_dir)
        framed_lens = self.corpus.doc_lens + (2 if FRAMED[view.processor] else 0)
        self._vpos = np.zeros(len(framed_lens) + 1, dtype=np.int64)
        np.cumsum(framed_lens, out=self._vpos[1:])

    def __getstate__(self):
        return {"directory": self.directory, "view": self.view, "cache_dir": self.cache_dir or None}

    def __setstate__(self, state):
        self.__init__(state["directory"], state["view"], state["cache_dir"])

    def __len__(self) -> int:
        return len(self.index)

    @property
    def row_len(self) -> int:
        return self.view.row_len

    def take(self, indices, skip: frozenset = frozenset()) -> dict[str, np.ndarray]:
        """Rows ``indices`` as ShardReader.take gives them: 2-D ``input_ids`` (int64, padded), ``length``."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"row index out of range 0..{len(self) - 1}")
        starts, lengths = self.index[idx, 0], self.index[idx, 1]
        b, width = idx.size, self.row_len
        special = self.meta.special_ids
        if not b:
            return {"input_ids": np.zeros((0, width), np.int64), "length": np.zeros(0, np.int64)}
        vpos = self._vpos
        first = np.searchsorted(vpos, starts, side="right") - 1
        last = np.searchsorted(vpos, starts + lengths - 1, side="right") - 1
        # The document of every position: the row's first one plus the document starts passed so far
        # (a running count per row: cheaper than searching every position).
        crossed = last - first
        row_of = np.repeat(np.arange(b), crossed)
        doc_k = np.repeat(first + 1 - (np.cumsum(crossed) - crossed), crossed) + np.arange(row_of.size)
        starts_at = np.bincount(row_of * width + vpos[doc_k] - starts[row_of], minlength=b * width)
        doc = first[:, None] + np.cumsum(starts_at.reshape(b, width), axis=1)
        pos = starts[:, None] + np.arange(width)[None, :]
        real = np.arange(width)[None, :] < lengths[:, None]
        # Dense over the whole (rows, width) block, masked once at the end: cheaper than selections.
        if FRAMED[self.view.processor]:
            vals = self.corpus.tokens(pos - 2 * doc - 1, doc)  # framed -> stream: 2 specials per doc
            last_of_doc = vpos[np.minimum(doc + 1, len(vpos) - 1)] - 1
            vals = np.where(pos == vpos[doc], special["cls"], np.where(pos == last_of_doc, special["sep"], vals))
        else:
            vals = self.corpus.tokens(pos, doc)
        ids = np.where(real, vals, special["pad"])
        return {"input_ids": ids, "length": np.asarray(lengths, dtype=np.int64)}


def view_loader(directory: str | Path, view: ViewConfig, num_workers: int = 0, cache_dir="default",
                pin_memory: bool = False, prefetch_factor: int | None = None, **stream_options):
    """A :class:`~corpusprep.feed.stream.FeedLoader` over a view; ``stream_options`` are StreamConfig's
    (batch_size, seed, rank, world_size, epochs, names, masking, ...)."""
    from corpusprep.feed.stream import FeedLoader, StreamConfig

    reader = ViewReader(directory, view, cache_dir)
    cfg = StreamConfig(directory=str(directory), **stream_options)
    return FeedLoader(cfg, num_workers=num_workers, pin_memory=pin_memory, prefetch_factor=prefetch_factor,
                      reader=reader)
