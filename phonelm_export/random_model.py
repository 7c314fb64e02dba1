"""Random PhoneLM checkpoints of any shape, for tests and speed benchmarks.

Weights are drawn so logits have a realistic spread (std of a few units), which keeps top-1
agreement meaningful in parity tests; a model of the default init would give near-uniform
logits where any rounding flips the argmax.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .checkpoint import Dims, expected_shapes
from .hf_writer import save_phonelm

SAMPLE_TEXT = (
    "Set an alarm for 7:30 tomorrow morning and call Alice at 555-0134.\n"
    "The quick brown fox jumps over the lazy dog; 12 boxes weigh 3.5 kg.\n"
    "def add(a, b):\n    return a + b  # 42\n"
    "Réveille-moi à 6h45 — ça marche? 東京 café naïve 😀\n"
    "<|im_start|>user\nWhat's the weather like?<|im_end|>\n"
)


def sample_corpus(n: int = 200) -> list[str]:
    """A deterministic, code-generated corpus (no third-party text) for toy tokenizers."""
    words = SAMPLE_TEXT.split()
    out = []
    for i in range(n):
        k = (i * 7) % len(words)
        out.append(" ".join(words[k:] + words[:k]) + f" {i} {i * 37 % 1000}\n" + SAMPLE_TEXT)
    return out


def toy_tokenizer(path: Path, vocab_size: int = 384) -> Path:
    """Train a PhoneLM-pipeline BPE tokenizer on the sample corpus and save it to ``path``."""
    from .train.bpe import train_bpe

    tok = train_bpe(sample_corpus(), vocab_size, min_frequency=1)
    tok.save(str(path))
    return path


def random_state_dict(d: Dims, seed: int = 0, std: float = 0.08) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for name, shape in expected_shapes(d).items():
        if name.endswith("norm.weight"):
            sd[name] = 1.0 + 0.1 * torch.randn(shape, generator=g)
        elif name.endswith("embed_tokens.weight"):
            sd[name] = torch.randn(shape, generator=g) * 0.5
        else:
            sd[name] = torch.randn(shape, generator=g) * std
    return sd


def make_random_checkpoint(
    out: Path,
    *,
    hidden_size: int = 64,
    intermediate_size: int = 128,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 4,
    num_key_value_heads: int | None = None,
    vocab_size: int | None = None,
    tokenizer_json: Path | None = None,
    rope_theta: float = 10000.0,
    max_position_embeddings: int = 512,
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
) -> Path:
    """Write a random PhoneLM checkpoint directory with a tokenizer; return its path.

    Without ``tokenizer_json`` a toy tokenizer is trained whose size equals ``vocab_size``
    (default 384), so tokenizer and embedding agree as ExecuTorch's runner requires.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if tokenizer_json is None:
        tokenizer_json = toy_tokenizer(out / ".toy-tokenizer.json", vocab_size or 384)
    if vocab_size is None:
        from tokenizers import Tokenizer

        vocab_size = Tokenizer.from_file(str(tokenizer_json)).get_vocab_size(with_added_tokens=True)
    d = Dims(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        num_key_value_heads=num_key_value_heads or num_attention_heads,
        head_dim=hidden_size // num_attention_heads,
        rope_theta=rope_theta,
        max_position_embeddings=max_position_embeddings,
    )
    save_phonelm(out, random_state_dict(d, seed), d, tokenizer_json, dtype=dtype)
    tmp = out / ".toy-tokenizer.json"
    if tmp.exists():
        tmp.unlink()
    return out
