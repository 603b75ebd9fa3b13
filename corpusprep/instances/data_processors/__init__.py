"""The data processor registry: one module per objective, like UER's str2dataset/str2dataloader
but one object holding everything about it (columns, builders, collator, UER export layout).

Adding a processor: write its module (a ``PROCESSOR = DataProcessor(...)``), add its name below,
and its tests. `shard --help` and the recipe printer list ``names()``; a test checks docs/shard.md does.
"""
from __future__ import annotations

import importlib

from corpusprep.errors import ZooprepError

# Registry order: UER's first four, then the ones the zoo needs most, then the rest.
_MODULES = ("mlm", "bert", "albert", "lm", "cls", "t5", "bilm", "cls_mlm", "prefixlm", "bart", "gsg", "mt")
_LOADED: dict = {}
# Objectives whose rows are cuts of one document stream: an encoded corpus (`shard --encode-only`)
# serves them as views cut at load time.
VIEW_PROCESSORS = ("mlm", "lm", "bilm")


def names() -> tuple[str, ...]:
    return _MODULES


def get(name: str):
    """The :class:`~corpusprep.instances.data_processors.base.DataProcessor` called ``name``."""
    if name not in _MODULES:
        raise ZooprepError(f"unknown --processor {name!r}; choose one of {', '.join(_MODULES)}")
    if name not in _LOADED:
        _LOADED[name] = importlib.import_module(f"{__name__}.{name}").PROCESSOR
    return _LOADED[name]
