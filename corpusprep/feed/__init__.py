"""Feed pretraining jobs: memory-mapped torch datasets, UER-style masking collators, exports.

Heavy imports stay inside the submodules; import what you need from here:

    from corpusprep.feed import FeedLoader, StreamConfig, ShardDataset, PretrainCollator
"""
from __future__ import annotations

__all__ = ["FeedLoader", "StreamConfig", "PretrainStream", "ShardDataset", "PretrainCollator",
           "CollatorConfig", "MaskingConfig", "ShardReader", "RankOrder", "ExportConfig", "export_uer",
           "export_hf", "iter_uer_dataset"]

_WHERE = {
    "FeedLoader": "stream", "StreamConfig": "stream", "PretrainStream": "stream", "ShardDataset": "stream",
    "PretrainCollator": "collate", "CollatorConfig": "collate", "MaskingConfig": "masking",
    "ShardReader": "shards", "RankOrder": "order", "ExportConfig": "export", "export_uer": "export",
    "export_hf": "export", "iter_uer_dataset": "export",
}


def __getattr__(name):
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"corpusprep.feed.{_WHERE[name]}"), name)
    raise AttributeError(name)
