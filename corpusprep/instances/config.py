"""The typed configuration of one `shard` run, with the checks that need no I/O."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from corpusprep.errors import ZooprepError


# `shard` options that need fixed rows: refused with --encode-only (a view chooses the rest at load time)
FIXED_ONLY = ("static_masking", "dup_factor", "whole_word", "span_masking", "compat")

@dataclass(frozen=True)
class ShardConfig:
    corpus: tuple[Path, ...]
    out: Path
    seq_len: int = 512
    processor: str = "mlm"
    vocab: Path | None = None
    spm: Path | None = None
    tokenizer_kind: str | None = None  # bert | char | space (vocab only)
    full_sentences: bool = False
    static_masking: bool = False
    dup_factor: int = 1
    whole_word: bool = False
    span_masking: bool = False
    span_geo_prob: float = 0.2
    span_max_length: int = 10
    short_seq_prob: float = 0.1
    seed: int = 7
    compat: str | None = None  # None | "uer"
    workers: int | None = None
    executor: str = "local"
    ray_address: str | None = None
    unit_mb: float = 4.0  # text per work unit; part of the output's identity (see docs/shard.md)
    docs_buffer_size: int = 100000  # UER's --docs_buffer_size (bert random-next pool, full-sentences)
    label_field: str = "label"  # cls/cls_mlm from clean Parquet: the meta key holding the label
    tgt_seq_len: int = 128  # gsg, mt: UER's --tgt_seq_length
    tgt_vocab: Path | None = None  # mt: the target side's vocab (UER's --tgt_vocab_path)
    tgt_spm: Path | None = None  # mt: ... or sentencepiece model (UER's --tgt_spm_model_path)
    tgt_tokenizer_kind: str | None = None  # mt: bert | char | space (UER's --tgt_tokenizer)
    sentence_selection: str = "lead"  # gsg: UER's --sentence_selection_strategy (lead | random)
    manifest_dataset: str | None = None
    recipe_stage: str | None = None
    overwrite: bool = False
    show_progress: bool | None = None
    on_error: str = "continue"  # continue | fail | skip (corpusprep.readers.failures)
    encode_only: bool = False  # store each document's ids once; views cut them at load time (encoded.py)
    license: str | None = None  # dataset card / dataset_info.json license (None: "unknown")
    validation_share: float = 0.0  # whole documents held out for a validation split (instances/holdout.py)
    validation_docs: int = 0

    @property
    def data_processor(self):
        from corpusprep.instances.data_processors import get

        return get(self.processor)

    @property
    def row_len(self) -> int:
        return self.data_processor.row_len(self.seq_len)

    @property
    def masking(self):
        """The static-masking rule these options name (the loader takes the same type)."""
        from corpusprep.instances.masking import MaskingConfig

        mode = "whole_word" if self.whole_word else "span" if self.span_masking else "token"
        return MaskingConfig(mode=mode, span_geo_prob=self.span_geo_prob, span_max_length=self.span_max_length)

    @property
    def uer_compat(self) -> bool:
        return self.compat == "uer"

    def validate(self) -> "ShardConfig":
        """Raise ZooprepError for option combinations that cannot work."""
        proc = self.data_processor  # ZooprepError naming the choices for an unknown processor
        if (self.vocab is None) == (self.spm is None):
            raise ZooprepError("give exactly one of --vocab or --spm")
        if self.spm is not None and self.tokenizer_kind not in (None, "bert"):
            raise ZooprepError("--tokenizer char/space needs --vocab, not --spm")
        if self.tokenizer_kind not in (None, "bert", "char", "space"):
            raise ZooprepError(f"unknown --tokenizer {self.tokenizer_kind!r}; choose bert, char or space")
        self._check_target_tokenizer(proc)
        from corpusprep import options as opt
        from corpusprep.readers.failures import check_on_error

        opt.out_path(self.out)
        check_on_error(self.on_error)
        opt.workers(self.workers)
        opt.integer("--seed", self.seed, 0, 2**63 - 1)
        if self.seq_len < proc.min_seq_len:
            raise ZooprepError(f"--seq-len must be at least {proc.min_seq_len} for --processor {self.processor}")
        opt.integer("--seq-len", self.seq_len, proc.min_seq_len, opt.MAX_SEQ_LEN)
        opt.integer("--dup-factor", self.dup_factor, 1, opt.MAX_DUP_FACTOR)
        if self.dup_factor > 1 and not proc.dup_passes:
            raise ZooprepError(f"--dup-factor does not apply to --processor {self.processor} (UER ignores it)")
        if self.dup_factor > 1 and not proc.dup_without_static and not self.static_masking:
            # UER forces dup_factor 1 with dynamic masking: the loader re-masks every epoch instead.
            raise ZooprepError("--dup-factor > 1 needs --static-masking (dynamic masking re-masks every epoch)")
        if self.static_masking and not proc.masked_lm:
            raise ZooprepError(f"--static-masking does not apply to --processor {self.processor}")
        if self.whole_word and not proc.masks:
            raise ZooprepError(f"--whole-word does not apply to --processor {self.processor}")
        if self.whole_word and self.span_masking:
            raise ZooprepError("choose one of --whole-word and --span-masking")
        opt.number("--span-geo-prob", self.span_geo_prob, 0.0, 1.0, lo_open=True)
        opt.integer("--span-max-length", self.span_max_length, 1, opt.MAX_SPAN_LENGTH)
        opt.number("--short-seq-prob", self.short_seq_prob, 0.0, 1.0)
        if self.full_sentences and self.processor not in ("mlm", "t5"):
            raise ZooprepError("--full-sentences applies to --processor mlm and t5 only")
        if self.compat not in (None, "uer"):
            raise ZooprepError(f"unknown --compat {self.compat!r}; the only value is 'uer'")
        opt.executor(self.executor, self.ray_address)
        opt.unit_bytes_of(self.unit_mb)
        opt.integer("--docs-buffer-size", self.docs_buffer_size, 1, opt.MAX_DOCS_BUFFER)
        if not self.corpus:
            raise ZooprepError("give at least one CORPUS path")
        self._check_manifest_ref()
        if self.encode_only:
            self._check_encode_only()
        self._check_validation()
        return self

    @property
    def split(self) -> bool:
        """A validation split is asked for (DatasetDict layout with train/ and validation/)."""
        return self.validation_share > 0 or self.validation_docs > 0

    def _check_validation(self) -> None:
        from corpusprep import options as opt

        opt.number("--validation-share", self.validation_share, 0.0, 1.0, hi_open=True)
        opt.integer("--validation-docs", self.validation_docs, 0, 2**62)
        if self.validation_share > 0 and self.validation_docs > 0:
            raise ZooprepError("choose one of --validation-share and --validation-docs")
        if self.split and (self.encode_only or self.uer_compat):
            raise ZooprepError("--validation-share/--validation-docs do not apply with "
                               f"{'--encode-only' if self.encode_only else '--compat uer'} (not implemented)")

    def _check_target_tokenizer(self, proc) -> None:
        """mt names a second tokenizer for the target side; no other processor takes one."""
        given = [o for o, v in (("--tgt-vocab", self.tgt_vocab), ("--tgt-spm", self.tgt_spm),
                                ("--tgt-tokenizer", self.tgt_tokenizer_kind)) if v is not None]
        if not proc.target_tokenizer:
            if given:
                raise ZooprepError(f"{given[0]} applies to --processor mt only")
            return
        if (self.tgt_vocab is None) == (self.tgt_spm is None):
            raise ZooprepError("--processor mt needs exactly one of --tgt-vocab or --tgt-spm (the target side's tokenizer)")
        if self.tgt_tokenizer_kind not in (None, "bert", "char", "space"):
            raise ZooprepError(f"unknown --tgt-tokenizer {self.tgt_tokenizer_kind!r}; choose bert, char or space")
        if self.tgt_spm is not None and self.tgt_tokenizer_kind not in (None, "bert"):
            raise ZooprepError("--tgt-tokenizer char/space needs --tgt-vocab, not --tgt-spm")

    def _check_encode_only(self) -> None:
        from corpusprep.instances.data_processors import VIEW_PROCESSORS

        if self.processor not in VIEW_PROCESSORS:
            raise ZooprepError(f"--encode-only serves --processor {', '.join(VIEW_PROCESSORS)} (rows cut from the "
                               f"document stream); {self.processor} needs fixed instances: drop --encode-only")
        defaults = ShardConfig(corpus=(), out=self.out)
        for name in FIXED_ONLY:
            if getattr(self, name) != getattr(defaults, name):
                raise ZooprepError(f"--{name.replace('_', '-')} needs fixed instances: drop --encode-only")
        for name in ("full_sentences", "docs_buffer_size"):
            if getattr(self, name) != getattr(defaults, name):
                raise ZooprepError(f"--{name.replace('_', '-')} is chosen when a view is read (docs/views.md), "
                                   "not with --encode-only")

    def _check_manifest_ref(self) -> None:
        """A recorded recipe stage must exist; run on another corpus it is recorded as adapted."""
        if self.recipe_stage is None:
            if self.manifest_dataset is not None:
                from manifests.catalog import load_catalog

                load_catalog().dataset(self.manifest_dataset)  # CatalogError names an unknown id
            return
        if self.manifest_dataset is None:
            raise ZooprepError("--recipe-stage needs --manifest-dataset")
        from manifests.catalog import stage_ref

        stage_ref(self.manifest_dataset, self.recipe_stage)

    def manifest(self) -> dict:
        """zooprep.json's manifest field (dataset, recipe stage, adapted to another corpus or not)."""
        if self.recipe_stage is None and self.manifest_dataset is None:
            return {"dataset": None, "recipe_stage": None}  # as manifest_record: no catalog (pydantic) to load
        from manifests.catalog import manifest_record

        return manifest_record(self.manifest_dataset, self.recipe_stage)

    def options(self) -> dict:
        """The options that shape the output (recorded in zooprep.json, and in the resume plan)."""
        if self.encode_only:  # the rest shapes views, chosen at load time
            return {"encode_only": True, "unit_mb": self.unit_mb}
        keys = ("processor", "seq_len", "full_sentences", "static_masking", "dup_factor", "whole_word",
                "span_masking", "span_geo_prob", "span_max_length", "short_seq_prob", "seed", "compat",
                "unit_mb", "docs_buffer_size", "label_field", "tgt_seq_len", "sentence_selection")
        d = asdict(self)
        out = {k: d[k] for k in keys}
        for k in ("validation_share", "validation_docs"):  # only when asked: earlier plans still match
            if d[k]:
                out[k] = d[k]
        return out
