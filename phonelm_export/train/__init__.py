"""The thin trainer: tokenizer, pretraining and SFT that write real PhoneLM checkpoints."""
