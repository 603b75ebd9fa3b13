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
from corpusprep.instances.data_processors import VIEW_PROCESSORS
from corpusprep.instances.encoded import is_encoded
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
        if not isinstance(self.full_sentences, (bool, np.bool_)):  # "no" would silently mean True
            raise ZooprepError(f"full_sentences must be True or False, not {self.full_sentences!r}")
        if self.full_sentences and self.processor != "mlm":
            raise ZooprepError("full_sentences applies to processor mlm only")
        opt.integer("docs_buffer_size", self.docs_buffer_size, 1, opt.MAX_DOCS_BUFFER)  # shard's bounds
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
        from corpusprep.outdir.remote import readable

        self.directory = Path(readable(directory))  # a URL: its verified local copy ($ZOOPREP_CACHE/objects)
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
            if any(n < 0 for n in self.unit_documents):
                raise ValueError("encoded.unit_documents holds a negative count")
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

        from corpusprep.feed.shards import list_view, mapped_batches

        values, lens = [], []
        for name in self.files:
            path = self.directory / name
            for b in mapped_batches(path):
                ids = b.column(0) if b.num_columns else None
                if b.schema.names != ["input_ids"] or ids.null_count or not pa.types.is_list(ids.type) \
                        or ids.type.value_type not in (pa.uint16(), pa.uint32()):
                    raise InputError(str(path), "not an encoded-corpus part (one input_ids list<uint16|uint32> "
                                                "column)")
                view = list_view(ids)
                lens.append(np.diff(view.offsets).astype(np.int64))
                values.append(view.values[view.offsets[0]: view.offsets[-1]])
        self._values = values
        self.doc_lens = np.concatenate(lens) if lens else np.zeros(0, np.int64)
        self.tok_start = np.zeros(len(self.doc_lens) + 1, dtype=np.int64)
        np.cumsum(self.doc_lens, out=self.tok_start[1:])
        self._chunk_start = np.zeros(len(values) + 1, dtype=np.int64)
        np.cumsum([len(v) for v in values], out=self._chunk_start[1:])

    def runs(self, lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
        """Slices ``[lo, hi)`` of the (unframed) document stream, as views of the mapped files;
        a slice that crosses record batches comes as several pieces."""
        cs = self._chunk_start
        c_lo = (np.searchsorted(cs, lo, side="right") - 1).tolist()
        c_hi = (np.searchsorted(cs, hi - 1, side="right") - 1).tolist()
        values, starts, out = self._values, cs.tolist(), []
        for a, z, c, c2 in zip(lo.tolist(), hi.tolist(), c_lo, c_hi):
            if z <= a:
                continue
            if c == c2:
                out.append(values[c][a - starts[c]: z - starts[c]])
                continue
            for k in range(c, c2 + 1):  # full-sentences rows may span record batches
                out.append(values[k][max(a, starts[k]) - starts[k]: min(z, starts[k + 1]) - starts[k]])
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


def framed_starts(view: ViewConfig, doc_lens: np.ndarray) -> np.ndarray:
    """Where every document starts in the (virtually) framed stream, and its total length last."""
    vpos = np.zeros(len(doc_lens) + 1, dtype=np.int64)
    np.cumsum(doc_lens + (2 if FRAMED[view.processor] else 0), out=vpos[1:])
    return vpos


def row_lengths(view: ViewConfig, doc_lens: np.ndarray, unit_documents: list[int]) -> np.ndarray:
    """Every row's length, in `shard`'s order: each group above cut by `shard`'s rule (processors.cut_lengths)."""
    from corpusprep.instances.processors import cut_lengths

    vpos = framed_starts(view, doc_lens)
    first, end = groups(view, unit_documents)
    return cut_lengths(vpos[end] - vpos[first], view.row_len)[1].astype(np.int64)


def build_index(view: ViewConfig, corpus: EncodedCorpus) -> np.ndarray:
    """(rows, 2) int64: start in the framed stream, length."""
    lengths = row_lengths(view, corpus.doc_lens, corpus.unit_documents)
    index = np.empty((len(lengths), 2), dtype=np.int64)
    index[:, 1] = lengths
    index[:, 0] = np.cumsum(lengths) - lengths
    return index


def _cache_key(view: ViewConfig, corpus: EncodedCorpus) -> str:
    # unit_documents shape the full-sentences cut: in the key, so the cache never serves rows other
    # than those computed from the zooprep.json read now (a marker-less copy's identity omits it)
    basis = {"version": INDEX_VERSION, "corpus": corpus.identity, "view": asdict(view),
             "units": corpus.unit_documents}
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
    total = int(framed_starts(view, corpus.doc_lens)[-1])
    if cache_dir is None:
        return build_index(view, corpus), None
    path = Path(cache_dir) / f"{_cache_key(view, corpus)}.npy"
    if path.is_file():
        try:
            index = np.load(path, mmap_mode="r", allow_pickle=False)
            if _usable(index, total, view.row_len):
                return index, path
        except (OSError, ValueError, EOFError):  # EOFError: an empty (0-byte) file
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
        from corpusprep.outdir.remote import readable

        self.directory = Path(readable(directory))
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
        self._vpos = framed_starts(view, self.corpus.doc_lens)

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
        ids = np.full((b, width), special["pad"], dtype=np.int64)
        real = np.arange(width)[None, :] < lengths[:, None]
        if not b:
            return {"input_ids": ids, "length": np.zeros(0, np.int64)}
        ends = starts + lengths
        if not FRAMED[self.view.processor]:  # a row is a slice of the document stream
            ids[real] = np.concatenate(self.corpus.runs(starts, ends))
            return {"input_ids": ids, "length": np.asarray(lengths, dtype=np.int64)}
        # Framed: a row's tokens are still one slice of the stream, with [CLS]/[SEP] around each
        # document's part; put the specials first, the slice into the remaining real positions.
        vpos, doc_lens, tok_start = self._vpos, self.corpus.doc_lens, self.corpus.tok_start
        first = np.searchsorted(vpos, starts, side="right") - 1
        last = np.searchsorted(vpos, ends - 1, side="right") - 1
        lo = tok_start[first] + np.clip(starts - vpos[first] - 1, 0, doc_lens[first])
        hi = tok_start[last] + np.clip(ends - vpos[last] - 1, 0, doc_lens[last])
        count = last - first + 1
        row = np.repeat(np.arange(b), count)
        doc = np.repeat(first - (np.cumsum(count) - count), count) + np.arange(row.size)
        is_special = np.zeros(b * width, dtype=bool)
        flat = ids.reshape(-1)
        for col, token in ((vpos[doc] - starts[row], special["cls"]), (vpos[doc + 1] - 1 - starts[row], special["sep"])):
            keep = (col >= 0) & (col < lengths[row])
            at = row[keep] * width + col[keep]
            flat[at] = token
            is_special[at] = True
        inner = real & ~is_special.reshape(b, width)
        runs = self.corpus.runs(lo, hi)
        if runs:
            ids[inner] = np.concatenate(runs)
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
