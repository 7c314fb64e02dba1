"""PhoneLM as an exportable module: static KV cache, ExecuTorch's custom SDPA and cache ops.

Why our own module and not ExecuTorch's Llama (``examples/models/llama``): its ``ModelArgs``
has no ReLU activation (the ``ActFn`` enum stops at SiLU/GELU variants) and its XNNPACK
``FeedForward`` calls SiLU directly. Patching it works numerically but ``examples`` is not a
stable API. What *is* stable and what we reuse: the ``llama::update_cache`` and
``llama::custom_sdpa`` operators (they write one chunk into a ``[B, S, H, D]`` cache in place
and attend causally from ``start_pos`` without materialising a mask), the XNNPACK
partitioner, torchao's quantization configs and the constant methods the LLM runner reads.

The exported ``forward(tokens[1, T], input_pos[1]) -> logits[1, T or 1, vocab]`` is the
signature ExecuTorch's text LLM runner drives (a second input of size 1 is ``input_pos``).
A prompt chunk and a single decode token go through the same graph, so decode equals
prefill by construction and the tests prove it against the PyTorch reference.

Weights are loaded one tensor at a time from the checkpoint into a module built on the meta
device, and a recipe may quantize each layer as soon as its weights are in (``on_layer``):
peak memory during construction is then the quantized model plus one float layer, which is
what makes PhoneLM-1.5B exportable on a 24 GB machine.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from phonelm_export.rope import check_rope_mode, int8_round


def load_custom_ops() -> None:
    """Register ``llama::custom_sdpa`` / ``llama::update_cache`` (their CPU kernels and fake impls)."""
    from executorch.extension.llm.custom_ops import custom_ops  # noqa: F401


def rope_tables(head_dim: int, positions: int, theta: float, mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin ``[positions, head_dim]`` in the rotate-half layout PhoneLM (and HF Llama) use.

    ``mode="int8"`` rounds them to multiples of 1/127 as PhoneLM's runtime (mllm) does.
    Computed in float64 and rounded once, so the float tables match the reference's float32
    ones to the last bit or one ulp.
    """
    check_rope_mode(mode)
    # the reference computes inv_freq in float32 and the angles in float32: do the same
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    t = torch.arange(positions, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    if mode == "int8":
        cos, sin = int8_round(cos), int8_round(sin)
    return cos, sin


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


class Attention(nn.Module):
    """MHA/GQA with a static ``[1, max_context, kv_heads, head_dim]`` cache updated in place."""

    def __init__(self, hidden: int, heads: int, kv_heads: int, head_dim: int, max_context: int, dtype: torch.dtype):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, head_dim
        self.q_proj = nn.Linear(hidden, heads * head_dim, bias=False)
        self.k_proj = nn.Linear(hidden, kv_heads * head_dim, bias=False)
        self.v_proj = nn.Linear(hidden, kv_heads * head_dim, bias=False)
        self.o_proj = nn.Linear(heads * head_dim, hidden, bias=False)
        shape = (1, max_context, kv_heads, head_dim)
        self.register_buffer("k_cache", torch.zeros(shape, dtype=dtype), persistent=False)
        self.register_buffer("v_cache", torch.zeros(shape, dtype=dtype), persistent=False)

    def forward(self, x: torch.Tensor, start_pos, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        T = x.shape[1]
        q = self.q_proj(x).view(1, T, self.heads, self.head_dim)
        k = self.k_proj(x).view(1, T, self.kv_heads, self.head_dim)
        v = self.v_proj(x).view(1, T, self.kv_heads, self.head_dim)
        q, k = _rotate(q, cos, sin), _rotate(k, cos, sin)
        torch.ops.llama.update_cache(k, self.k_cache, start_pos)
        torch.ops.llama.update_cache(v, self.v_cache, start_pos)
        # causal attention of the T new queries over cache[0 : start_pos + T]; scale 1/sqrt(head_dim)
        out = torch.ops.llama.custom_sdpa(q, self.k_cache, self.v_cache, start_pos, None, 0.0, True)
        return self.o_proj(out.reshape(1, T, self.heads * self.head_dim))


class GatedReLU(nn.Module):
    """PhoneLM's FFN: ``down(relu(gate(x)) * up(x))`` — the one difference from Llama."""

    def __init__(self, hidden: int, intermediate: int):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, intermediate, bias=False)
        self.up_proj = nn.Linear(hidden, intermediate, bias=False)
        self.down_proj = nn.Linear(intermediate, hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(torch.relu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, d, max_context: int, dtype: torch.dtype):
        super().__init__()
        self.input_layernorm = RMSNorm(d.hidden_size, d.rms_norm_eps)
        self.self_attn = Attention(
            d.hidden_size, d.num_attention_heads, d.num_key_value_heads, d.head_dim, max_context, dtype
        )
        self.post_attention_layernorm = RMSNorm(d.hidden_size, d.rms_norm_eps)
        self.mlp = GatedReLU(d.hidden_size, d.intermediate_size)

    def forward(self, h, start_pos, cos, sin):
        h = h + self.self_attn(self.input_layernorm(h), start_pos, cos, sin)
        return h + self.mlp(self.post_attention_layernorm(h))


class PhoneLMExport(nn.Module):
    """``forward(tokens[1, T], input_pos[1])``: logits of every position (``full_logits``) or the last."""

    def __init__(self, dims, max_context: int, rope: str = "float", full_logits: bool = True,
                 dtype: torch.dtype = torch.float32):
        super().__init__()
        self.dims = dims
        self.max_context = max_context
        self.full_logits = full_logits
        # padding_idx must stay None: ExecuTorch fuses the 8-bit embedding only then
        self.embed_tokens = nn.Embedding(dims.vocab_size, dims.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(dims, max_context, dtype) for _ in range(dims.num_hidden_layers))
        self.norm = RMSNorm(dims.hidden_size, dims.rms_norm_eps)
        self.lm_head = nn.Linear(dims.hidden_size, dims.vocab_size, bias=False)
        cos, sin = rope_tables(dims.head_dim, max_context, dims.rope_theta, rope)
        # [S, 1, D] so a slice broadcasts over the heads of [1, T, H, D]
        self.register_buffer("rope_cos", cos.to(dtype).unsqueeze(1), persistent=False)
        self.register_buffer("rope_sin", sin.to(dtype).unsqueeze(1), persistent=False)

    def forward(self, tokens: torch.Tensor, input_pos: torch.Tensor) -> torch.Tensor:
        T = tokens.shape[1]
        start_pos = input_pos[0].item()
        torch._check(start_pos >= 0)
        torch._check(start_pos + T <= self.max_context)
        cos = self.rope_cos.narrow(0, start_pos, T)
        sin = self.rope_sin.narrow(0, start_pos, T)
        h = self.embed_tokens(tokens)
        for layer in self.layers:
            h = layer(h, start_pos, cos, sin)
        if not self.full_logits:
            h = h[:, -1:, :]
        return self.lm_head(self.norm(h))

    def reset_cache(self) -> None:
        for layer in self.layers:
            layer.self_attn.k_cache.zero_()
            layer.self_attn.v_cache.zero_()


def build_model(
    checkpoint,
    max_context: int,
    *,
    rope: str = "float",
    full_logits: bool = True,
    on_layer: Callable[[nn.Module], None] | None = None,
    on_head: Callable[[nn.Module], None] | None = None,
    progress=None,
) -> PhoneLMExport:
    """Stream a checkpoint's tensors into a :class:`PhoneLMExport` (float32 compute).

    ``on_layer(layer)`` runs once per decoder layer right after its weights are loaded and
    ``on_head(model)`` once embedding and head are in: the place to quantize, so float
    weights of only one layer exist at a time. The tied head starts as the embedding's
    tensor; a quantizing ``on_head`` decides whether they stay shared.
    """
    load_custom_ops()
    d = checkpoint.dims
    with torch.device("meta"):
        model = PhoneLMExport(d, max_context, rope=rope, full_logits=full_logits)
    # buffers that are not weights: materialise them for real
    cos, sin = rope_tables(d.head_dim, max_context, d.rope_theta, rope)
    model.register_buffer("rope_cos", cos.unsqueeze(1), persistent=False)
    model.register_buffer("rope_sin", sin.unsqueeze(1), persistent=False)

    from phonelm_export.pread_tensors import open_reader

    # read with pread, not through safetensors' memory map: mapped pages would stay in this
    # process's RSS for the whole export (the checkpoint's size: 3.2 GB for 1.5B in bf16)
    reader = open_reader(checkpoint)

    def take(name: str) -> nn.Parameter:
        if reader is not None and name in reader:
            return nn.Parameter(torch.from_numpy(reader.read_f32(name)), requires_grad=False)
        return nn.Parameter(checkpoint.tensor(name).to(torch.float32), requires_grad=False)

    try:
        layer_ids = range(d.num_hidden_layers)
        if progress is not None:
            layer_ids = progress.iter(layer_ids, desc="loading layers", total=d.num_hidden_layers, unit="layer")
        for i in layer_ids:
            layer = model.layers[i]
            p = f"model.layers.{i}."
            layer.input_layernorm.weight = take(p + "input_layernorm.weight")
            layer.post_attention_layernorm.weight = take(p + "post_attention_layernorm.weight")
            for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
                getattr(layer.self_attn, proj).weight = take(f"{p}self_attn.{proj}.weight")
            for proj in ("gate_proj", "up_proj", "down_proj"):
                getattr(layer.mlp, proj).weight = take(f"{p}mlp.{proj}.weight")
            shape = (1, max_context, d.num_key_value_heads, d.head_dim)
            layer.self_attn.register_buffer("k_cache", torch.zeros(shape), persistent=False)
            layer.self_attn.register_buffer("v_cache", torch.zeros(shape), persistent=False)
            if on_layer is not None:
                on_layer(layer)
        model.norm.weight = take("model.norm.weight")
        embed = take("model.embed_tokens.weight")
        model.embed_tokens.weight = embed
        model.lm_head.weight = embed  # tied: one tensor until a recipe quantizes one of them
        if on_head is not None:
            on_head(model)
    finally:
        if reader is not None:
            reader.close()
    model.eval()
    return model

