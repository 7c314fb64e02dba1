"""Train a byte-level BPE tokenizer with PhoneLM's exact pipeline and special tokens.

Same normalizer (none), pre-tokenizer (``Digits(individual_digits)`` then GPT-2 ``ByteLevel``),
decoder and special ids 0-16 as the 49,152-token SmolLM tokenizer, and no post-processor,
so a small vocabulary exercises every code path the real one does (including llama.cpp's
``smollm`` pre-tokenizer).
"""
from __future__ import annotations

from typing import Iterable

from ..tokenizer import SPECIAL_TOKENS


def phonelm_pre_tokenizer():
    from tokenizers import pre_tokenizers

    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )


def train_bpe(texts: Iterable[str], vocab_size: int, min_frequency: int = 2):
    """A ``tokenizers.Tokenizer`` with ``vocab_size`` entries exactly (when the data allows)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if vocab_size < len(SPECIAL_TOKENS) + 256:
        raise ValueError(f"vocab_size must be at least {len(SPECIAL_TOKENS) + 256} (specials + bytes)")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = phonelm_pre_tokenizer()
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    for i, t in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(t) == i, "special tokens must keep PhoneLM's ids 0-16"
    return tok
