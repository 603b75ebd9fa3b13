"""Chinese tokenizers for zooprep: BERT-compatible char tokenizer, UER char/space, sentencepiece word."""
