"""`shard`: pack corpora into Arrow pretraining instances (UER-py mlm/bert/albert/lm layouts)."""
