"""PhoneLM-shaped random checkpoints for the benchmarks (speed and memory do not depend on weight values).

Checkpoints are cached in the work directory, so several benchmarks (and reruns) share one
multi-GB random model instead of each writing its own.
"""
from __future__ import annotations

from pathlib import Path

SHAPES = {
    # hidden, ffn, layers, heads, vocab  (phonelm-facts.md §1 for 0.5b / 1.5b)
    "tiny": dict(hidden_size=128, intermediate_size=384, num_hidden_layers=2, num_attention_heads=4, vocab_size=2048),
    "small": dict(hidden_size=512, intermediate_size=1536, num_hidden_layers=8, num_attention_heads=8, vocab_size=8192),
    "0.5b": dict(hidden_size=1024, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=16, vocab_size=49152),
    "1.5b": dict(hidden_size=2560, intermediate_size=6816, num_hidden_layers=19, num_attention_heads=16, vocab_size=49152),
}


def padded_tokenizer(path: Path, vocab_size: int) -> Path:
    """A PhoneLM-pipeline toy tokenizer padded with added tokens to exactly ``vocab_size`` entries,
    because ExecuTorch's LLM runner takes the vocabulary size from the tokenizer."""
    from tokenizers import AddedToken, Tokenizer

    from phonelm_export.random_model import toy_tokenizer

    toy_tokenizer(path, 384)
    tok = Tokenizer.from_file(str(path))
    n = tok.get_vocab_size(with_added_tokens=True)
    tok.add_tokens([AddedToken(f"<|bench_pad_{i}|>", special=False) for i in range(n, vocab_size)])
    assert tok.get_vocab_size(with_added_tokens=True) == vocab_size
    tok.save(str(path))
    return path


def make_checkpoint(shape: str, workdir: Path) -> Path:
    import torch

    from phonelm_export.random_model import make_random_checkpoint

    out = workdir / f"phonelm-{shape}-random"
    if (out / "model.safetensors").is_file():
        return out
    dims = SHAPES[shape]
    tok = padded_tokenizer(workdir / f"tokenizer-{shape}.json", dims["vocab_size"])
    # bf16 on disk, as PhoneLM ships
    return make_random_checkpoint(out, tokenizer_json=tok, max_position_embeddings=2048, dtype=torch.bfloat16,
                                  seed=0, **dims)
