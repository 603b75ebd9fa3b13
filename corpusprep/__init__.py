"""zooprep corpus preparation: read -> clean -> shard -> tokenize -> pack -> write -> feed."""

__version__ = "0.1.0"
