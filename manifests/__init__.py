"""The UER model-zoo catalog: datasets, tokenizers, architectures, models and recipes."""
