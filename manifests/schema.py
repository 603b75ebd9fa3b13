"""Typed schema of the model-zoo catalog (pydantic v2).

Conventions used throughout the YAML files under ``manifests/data``:

* ``"unknown"`` means no source states the fact. It is kept as the literal string so that it is
  shown to users as unknown and never silently replaced by a default.
* ``null`` means "does not apply" (for example an LSTM has no attention heads).
* Every entity names the source ids (``sources.yaml``) its facts come from.
"""
from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

UNKNOWN = "unknown"
Unknown = Literal["unknown"]
MaybeInt = Union[int, Unknown]
MaybeFloat = Union[float, Unknown]
MaybeStr = Union[str, Unknown]


def is_known(value) -> bool:
    """True when ``value`` is a stated fact (not ``"unknown"`` and not ``None``)."""
    return value is not None and value != UNKNOWN


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    id: str
    description: str


class DatasetPart(_Strict):
    id: str
    size: MaybeStr = UNKNOWN
    link: MaybeStr = UNKNOWN
    upstream: MaybeStr = UNKNOWN


class ZooprepPrep(_Strict):
    """How zooprep prepares this corpus: the reader family for ``clean --format``."""

    format: Optional[str] = None  # None: no reader family fits (corpus not public / unknown layout)
    note: Optional[str] = None


class Dataset(_Strict):
    id: str
    name: str
    url: MaybeStr = UNKNOWN
    size: MaybeStr = UNKNOWN
    origin: MaybeStr = UNKNOWN
    format: MaybeStr = UNKNOWN
    licence: MaybeStr = UNKNOWN
    distribution: Optional[str] = None
    parts: list[DatasetPart] = Field(default_factory=list)
    used_by: list[str] = Field(default_factory=list)  # model ids; cross-checked against models
    notes: list[str] = Field(default_factory=list)
    zooprep: ZooprepPrep = ZooprepPrep()
    sources: list[str] = Field(default_factory=list)


class SpecialIds(_Strict):
    pad: int
    unk: int
    cls: int
    sep: int
    mask: int


class Tokenizer(_Strict):
    id: str
    kind: Literal["wordpiece", "sentencepiece", "word", "unknown"]
    file: MaybeStr  # file name as shipped by UER (models/<file>)
    uer_path: MaybeStr
    sha256: MaybeStr = UNKNOWN
    bytes: MaybeInt = UNKNOWN
    vocab_size: MaybeInt = UNKNOWN
    special_ids: Optional[SpecialIds] = None  # None when unknown
    uer_tokenizer: MaybeStr = UNKNOWN  # value of --tokenizer
    uer_flag: Literal["--vocab_path", "--spm_model_path", "unknown"] = "--vocab_path"
    hf_tokenizer_class: MaybeStr = UNKNOWN
    derived_from: Optional[str] = None
    download: Optional[str] = None
    notes: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)


class Architecture(_Strict):
    id: str
    kind: Literal["bert", "albert", "gpt2", "gpt", "t5", "lstm", "gru", "bilstm", "gatedcnn"]
    layers: MaybeInt
    hidden: MaybeInt
    heads: Optional[MaybeInt] = None
    feedforward: Optional[MaybeInt] = None
    emb_size: MaybeInt = UNKNOWN
    max_seq_length: Optional[MaybeInt] = None
    vocab_size: MaybeInt = UNKNOWN
    hidden_act: Optional[str] = None
    dropout: Optional[float] = None
    embedding: list[str] = Field(default_factory=list)
    encoder: Optional[str] = None
    mask: Optional[str] = None
    layernorm_positioning: Optional[Literal["pre", "post"]] = None
    remove_embedding_layernorm: bool = False
    tie_weights: Optional[bool] = None
    factorized_embedding_parameterization: bool = False
    parameter_sharing: bool = False
    decoder_layers: Optional[int] = None
    relative_position_embedding: bool = False
    kernel_size: Optional[int] = None
    block_size: Optional[int] = None
    heads_rule: bool = False  # True where the zoo page's rule heads == hidden / 64 applies
    config_file: Optional[str] = None  # UER path of the shipped config, None if none is shipped
    config_rule: Optional[str] = None  # how to build the config when none is shipped
    notes: list[str] = Field(default_factory=list)


class Link(_Strict):
    url: str
    kind: Literal["weights", "vocab", "hf", "card"] = "weights"
    current: bool = True  # False: an older address a source mentions
    source: Optional[str] = None
    note: Optional[str] = None


class PageRow(_Strict):
    """Where the model appears on the zoo page (Modelzoo.zh.md)."""

    section: Literal["roberta-char", "roberta-word", "gpt2", "google", "uer"]
    order: int
    label: str  # the row label exactly as the page shows it
    ref: Optional[str] = None  # markdown reference-link id, e.g. "2_128"
    description: Optional[str] = None  # the description cell exactly as the page words it (HTML tables)


class ModelRecipeRef(_Strict):
    id: Optional[str] = None  # recipe id, None when no recipe is known
    config_path: Optional[str] = None  # --config_path for this model
    checkpoint_prefix: Optional[str] = None
    checkpoint_prefix_stated: bool = False  # False: zooprep's name; UER's name unknown
    layers_num: Optional[int] = None  # --layers_num of the conversion script
    status: Literal["known", "partial", "unknown", "third-party", "fine-tuned"] = "known"
    trained_by: Optional[str] = None


class Model(_Strict):
    id: str
    name: str
    name_zh: Optional[str] = None
    family: str
    size_name: Optional[str] = None
    extra: bool = False  # True: not on the zoo page (zoo_facts.yaml extra_models)
    datasets: Union[list[str], Unknown]
    tokenizer: str
    architecture: str
    target: MaybeStr = UNKNOWN
    links: list[Link]
    hf_repo: Optional[str] = None
    uer_checkpoint_name: MaybeStr = UNKNOWN
    recipe: ModelRecipeRef
    page: Optional[PageRow] = None
    reported_dev_score_avg: Optional[str] = None
    notes: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)


class Stage(_Strict):
    stage: int
    datasets: list[str]
    corpus_path: MaybeStr = UNKNOWN
    dataset_path: MaybeStr = UNKNOWN
    processes_num: MaybeInt = UNKNOWN
    data_processor: MaybeStr = UNKNOWN
    target: MaybeStr = UNKNOWN
    seq_length: MaybeInt = UNKNOWN
    total_steps: MaybeInt = UNKNOWN
    batch_size_per_gpu: MaybeInt = UNKNOWN
    world_size: MaybeInt = UNKNOWN
    gpu_ranks: Union[list[int], Unknown] = UNKNOWN
    learning_rate: MaybeFloat = UNKNOWN
    warmup: MaybeFloat = UNKNOWN
    warmup_stated: bool = False  # False: UER's default, the card sets no --warmup
    masking: Literal["dynamic", "static", "none", "unknown"] = "unknown"
    whole_word_masking: bool = False
    span_masking: Optional[dict] = None  # {"geo_prob": .., "max_length": ..}
    full_sentences: Union[bool, Unknown] = UNKNOWN
    dup_factor: Optional[MaybeInt] = None  # None: not applicable (dynamic masking forces 1)
    fp16: Union[bool, Unknown] = UNKNOWN
    save_checkpoint_steps: MaybeInt = UNKNOWN
    report_steps: MaybeInt = UNKNOWN
    init_checkpoint: Optional[str] = None  # "stage:1", "model:<id>", free text, or None (random init)
    output_model_path: MaybeStr = UNKNOWN
    labels_num: Optional[MaybeInt] = None  # cls objectives: --labels_num (None: no cls target)
    labels_source: Optional[str] = None  # where labels_num comes from
    model_flags: list[str] = Field(default_factory=list)  # pretrain flags beyond the config file
    deepspeed_flags: list[str] = Field(default_factory=list)  # TencentPretrain + DeepSpeed only
    preprocess_flags_printed: Optional[str] = None
    notes: list[str] = Field(default_factory=list)


class Conversion(_Strict):
    script: str
    input_checkpoint: str  # template, e.g. "{stage2_output}-250000"
    type_flag: Optional[str] = None  # value of --type (older revisions: --target)
    notes: list[str] = Field(default_factory=list)


class Recipe(_Strict):
    id: str
    framework: Literal["uer", "tencentpretrain", "tencentpretrain+deepspeed"] = "uer"
    init_from: str = "random"
    platform: MaybeStr = UNKNOWN
    shared: bool = False  # True: one recipe for several model sizes (per-model vars in Model.recipe)
    stages: list[Stage]
    conversion: Optional[Conversion] = None
    notes: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)


class Claim(_Strict):
    source: str
    value: str


class Conflict(_Strict):
    id: str
    subject: str  # e.g. "model:gpt2-poem tokenizer"
    claims: list[Claim]
    follows: str  # which claim (source id) the manifest follows
    reason: str


class CatalogData(_Strict):
    """The whole catalog as read from the YAML files."""

    sources: list[Source]
    datasets: list[Dataset]
    tokenizers: list[Tokenizer]
    architectures: list[Architecture]
    models: list[Model]
    recipes: list[Recipe]
    conflicts: list[Conflict]
