"""PhoneLM as a TVM Relax ``nn`` model with the function set MLC-LLM's engine calls.

MLC-LLM's own Llama ignores ``hidden_act`` (its FFN is always gated SiLU), so PhoneLM is its
own model type here: the same layout as MLC's Llama (fused ``qkv_proj`` and ``gate_up_proj``,
tied embedding that doubles as the output head, paged KV cache applying rotate-half RoPE), with
a gated-ReLU FFN. A library compiled from :func:`build_module` exposes what ``MLCEngine`` looks
up in a model library: ``embed``, ``prefill``, ``decode``, ``batch_prefill``, ``batch_decode``,
``batch_verify``, ``get_logits``, ``batch_select_last_hidden_states``, the ``*_to_last_hidden_states``
variants, ``create_tir_paged_kv_cache`` and ``_metadata`` (model type, quantization, context
window, parameter names and shapes: how the engine finds weights in ``tensor-cache.json``).

``rope_mode="int8"`` reproduces PhoneLM's on-device runtime (mllm), whose cos/sin tables are
rounded to multiples of 1/127: the KV cache is then created without RoPE and the model rotates
q and k itself with the rounded tables (phonelm-facts §3).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from tvm import te, tirx
from tvm.relax.frontend import nn
from tvm.relax.frontend.nn import Tensor, op
from tvm.relax.frontend.nn.llm.kv_cache import PagedKVCache, RopeMode, TIRPagedKVCache

from phonelm_export.rope import INT8_STEPS

from .quantization import QuantScheme

MODEL_TYPE = "phonelm"


@dataclass
class PhoneLMConfig:
    """What the compiled library is specialised for (mirrors the ``model_config`` of mlc-chat-config.json)."""

    hidden_size: int
    intermediate_size: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    num_hidden_layers: int
    rms_norm_eps: float
    vocab_size: int
    rope_theta: float = 10000.0
    context_window_size: int = 2048
    prefill_chunk_size: int = 2048
    max_batch_size: int = 1
    tie_word_embeddings: bool = True
    rope_mode: str = "float"  # "float" | "int8"

    @classmethod
    def from_dims(cls, dims, *, context_window_size: int | None = None, prefill_chunk_size: int | None = None,
                  rope_mode: str = "float", max_batch_size: int = 1) -> "PhoneLMConfig":
        ctx = context_window_size or dims.max_position_embeddings
        return cls(
            **dims.shape_fields(),
            rope_theta=dims.rope_theta,
            context_window_size=ctx,
            prefill_chunk_size=min(prefill_chunk_size or ctx, ctx),
            max_batch_size=max_batch_size,
            rope_mode=rope_mode,
        )

    def to_dict(self) -> dict:
        return asdict(self)


# -- weight-holding layers: plain or group-quantized, same parameter names as MLC ---------------


def _dequantize_te(q_weight: te.Tensor, q_scale: te.Tensor, s: QuantScheme, rows: int, cols: int) -> te.Tensor:
    """``(code - 7) * scale`` for a ``[rows, cols]`` weight stored as 4-bit codes in uint32 words."""
    per, bits = s.elems_per_word, s.bits
    mask = tirx.const((1 << bits) - 1, "uint32")
    zero = tirx.const(s.max_int, s.model_dtype)

    def f(i, j):
        word = q_weight[i, j // per]
        code = tirx.bitwise_and(tirx.shift_right(word, ((j % per) * bits).astype("uint32")), mask)
        return (code.astype(s.model_dtype) - zero) * q_scale[i, j // s.group_size]

    return te.compute((rows, cols), f, name="dequantize")


class QLinear(nn.Module):
    """A bias-free linear layer over a group-quantized ``[out, in]`` weight (MLC layout NK)."""

    def __init__(self, in_features: int, out_features: int, s: QuantScheme):
        self.in_features, self.out_features, self.s = in_features, out_features, s
        self.q_weight = nn.Parameter((out_features, in_features // s.elems_per_word), "uint32")
        self.q_scale = nn.Parameter((out_features, in_features // s.group_size), s.model_dtype)

    def weight(self) -> Tensor:
        return op.tensor_expr_op(
            lambda w, sc: _dequantize_te(w, sc, self.s, self.out_features, self.in_features),
            name_hint="dequantize",
            args=[self.q_weight, self.q_scale],
        )

    def forward(self, x: Tensor) -> Tensor:
        return op.matmul(x, op.permute_dims(self.weight()))


class QEmbedding(nn.Module):
    """A group-quantized embedding table that is also the tied output head."""

    def __init__(self, num: int, dim: int, s: QuantScheme):
        self.num, self.dim, self.s = num, dim, s
        self.q_weight = nn.Parameter((num, dim // s.elems_per_word), "uint32")
        self.q_scale = nn.Parameter((num, dim // s.group_size), s.model_dtype)

    def _table(self) -> Tensor:
        return op.tensor_expr_op(
            lambda w, sc: _dequantize_te(w, sc, self.s, self.num, self.dim),
            name_hint="dequantize",
            args=[self.q_weight, self.q_scale],
        )

    def forward(self, ids: Tensor) -> Tensor:
        return op.take(self._table(), ids, axis=0)

    def lm_head_forward(self, x: Tensor) -> Tensor:
        return op.matmul(x, op.permute_dims(self._table()), out_dtype="float32")


class TiedEmbedding(nn.Embedding):
    """The unquantized embedding, also used as the output head (PhoneLM ties them)."""

    def lm_head_forward(self, x: Tensor) -> Tensor:
        return op.matmul(x, op.permute_dims(self.weight), out_dtype="float32")


def _linear(in_f: int, out_f: int, s: QuantScheme) -> nn.Module:
    if s.quantized:
        return QLinear(in_f, out_f, s)
    return nn.Linear(in_f, out_f, bias=False, dtype=s.model_dtype)


# -- the decoder ---------------------------------------------------------------------------


def _int8_rope(qkv: Tensor, positions: Tensor, cfg: PhoneLMConfig, dtype: str) -> Tensor:
    """Rotate-half RoPE on the q and k heads of fused ``[b, s, hq+2hkv, d]`` with mllm's rounded tables."""
    d = cfg.head_dim
    half = d // 2
    rotated_heads = cfg.num_attention_heads + cfg.num_key_value_heads
    theta = float(cfg.rope_theta)

    def f_rope(x: te.Tensor, pos: te.Tensor) -> te.Tensor:
        _, s, _, _ = x.shape

        def f(b, t, h, i):
            p = pos[b * s + t].astype("float32")
            k = (i % half).astype("float32")
            inv_freq = tirx.const(1.0, "float32") / tirx.power(tirx.const(theta, "float32"), k * 2.0 / d)
            ang = p * inv_freq
            c = tirx.round(tirx.cos(ang) * INT8_STEPS) / INT8_STEPS
            sn = tirx.round(tirx.sin(ang) * INT8_STEPS) / INT8_STEPS
            xi = x[b, t, h, i].astype("float32")
            partner = tirx.if_then_else(i < half, -x[b, t, h, i + half], x[b, t, h, i - half]).astype("float32")
            out = (xi * c.astype(dtype).astype("float32") + partner * sn.astype(dtype).astype("float32"))
            return tirx.if_then_else(h < rotated_heads, out.astype(dtype), x[b, t, h, i])

        return te.compute(x.shape, f, name="int8_rope")

    return op.tensor_expr_op(f_rope, name_hint="int8_rope", args=[qkv, positions])


class PhoneLMAttention(nn.Module):
    def __init__(self, cfg: PhoneLMConfig, s: QuantScheme):
        self.cfg = cfg
        self.dtype = s.model_dtype
        hq, hkv, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        self.qkv_proj = _linear(cfg.hidden_size, (hq + 2 * hkv) * d, s)
        self.o_proj = _linear(hq * d, cfg.hidden_size, s)

    def forward(self, x: Tensor, kv: PagedKVCache, layer_id: int) -> Tensor:
        cfg = self.cfg
        hq, hkv, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        b, s, _ = x.shape
        qkv = op.reshape(self.qkv_proj(x), (b, s, hq + 2 * hkv, d))
        if cfg.rope_mode == "int8":
            qkv = _int8_rope(qkv, kv.get_query_positions(b * s), cfg, self.dtype)
        out = kv.attention_with_fused_qkv(layer_id, qkv, hq, sm_scale=d**-0.5)
        return self.o_proj(op.reshape(out, (b, s, hq * d)))


class PhoneLMFFN(nn.Module):
    """``down(relu(gate(x)) * up(x))``: the gated ReLU that makes PhoneLM not Llama."""

    def __init__(self, cfg: PhoneLMConfig, s: QuantScheme):
        self.gate_up_proj = _linear(cfg.hidden_size, 2 * cfg.intermediate_size, s)
        self.down_proj = _linear(cfg.intermediate_size, cfg.hidden_size, s)

    def forward(self, x: Tensor) -> Tensor:
        gate, up = op.split(self.gate_up_proj(x), 2, axis=-1)
        return self.down_proj(op.relu(gate) * up)


class PhoneLMDecoderLayer(nn.Module):
    def __init__(self, cfg: PhoneLMConfig, s: QuantScheme):
        self.self_attn = PhoneLMAttention(cfg, s)
        self.mlp = PhoneLMFFN(cfg, s)
        self.input_layernorm = nn.RMSNorm(cfg.hidden_size, -1, cfg.rms_norm_eps, bias=False, dtype=s.model_dtype)
        self.post_attention_layernorm = nn.RMSNorm(cfg.hidden_size, -1, cfg.rms_norm_eps, bias=False, dtype=s.model_dtype)

    def forward(self, h: Tensor, kv: PagedKVCache, layer_id: int) -> Tensor:
        h = h + self.self_attn(self.input_layernorm(h), kv, layer_id)
        return h + self.mlp(self.post_attention_layernorm(h))


class PhoneLMModel(nn.Module):
    def __init__(self, cfg: PhoneLMConfig, s: QuantScheme):
        if s.quantized:
            self.embed_tokens = QEmbedding(cfg.vocab_size, cfg.hidden_size, s)
        else:
            self.embed_tokens = TiedEmbedding(cfg.vocab_size, cfg.hidden_size, dtype=s.model_dtype)
        self.layers = nn.ModuleList([PhoneLMDecoderLayer(cfg, s) for _ in range(cfg.num_hidden_layers)])
        self.norm = nn.RMSNorm(cfg.hidden_size, -1, cfg.rms_norm_eps, bias=False, dtype=s.model_dtype)

    def forward(self, h: Tensor, kv: PagedKVCache) -> Tensor:
        for i, layer in enumerate(self.layers):
            h = layer(h, kv, i)
        return self.norm(h)


class PhoneLMForCausalLM(nn.Module):
    """The compiled model: its methods are the library's functions (see :meth:`get_default_spec`)."""

    def __init__(self, cfg: PhoneLMConfig, s: QuantScheme):
        self.cfg = cfg
        self.scheme = s
        self.dtype = s.model_dtype
        self.model = PhoneLMModel(cfg, s)

    def to(self, dtype: str | None = None) -> None:
        # mlc_llm's quantizers call model.to(model_dtype); keep the spec and KV cache in step
        super().to(dtype=dtype)
        if dtype is not None:
            self.dtype = dtype

    # hidden states -> logits, always float32 like MLC
    def get_logits(self, hidden_states: Tensor) -> Tensor:
        logits = self.model.embed_tokens.lm_head_forward(hidden_states)
        return logits if logits.dtype == "float32" else logits.astype("float32")

    def embed(self, input_ids: Tensor) -> Tensor:
        return self.model.embed_tokens(input_ids)

    def batch_forward(self, input_embeds: Tensor, kv: PagedKVCache, logit_positions: Tensor | None = None) -> Tensor:
        h = self.model(input_embeds, kv)
        if logit_positions is not None:
            h = op.take(h, logit_positions, axis=1)
        return self.get_logits(h)

    def batch_select_last_hidden_states(self, hidden_states: Tensor, logit_positions: Tensor) -> Tensor:
        return op.take(hidden_states, logit_positions, axis=0)

    def prefill(self, input_embed: Tensor, paged_kv_cache: PagedKVCache):
        def last_row(x: te.Tensor):
            b, s, d = x.shape
            return te.compute((b, 1, d), lambda i, _, k: x[i, s - 1, k], name="index")

        h = self.model(input_embed, paged_kv_cache)
        h = op.tensor_expr_op(last_row, name_hint="index", args=[h])
        return self.get_logits(h), paged_kv_cache

    def decode(self, input_embed: Tensor, paged_kv_cache: PagedKVCache):
        return self.get_logits(self.model(input_embed, paged_kv_cache)), paged_kv_cache

    def prefill_to_last_hidden_states(self, input_embed: Tensor, paged_kv_cache: PagedKVCache):
        return self.model(input_embed, paged_kv_cache), paged_kv_cache

    def decode_to_last_hidden_states(self, input_embed: Tensor, paged_kv_cache: PagedKVCache):
        return self.model(input_embed, paged_kv_cache), paged_kv_cache

    def batch_prefill(self, input_embeds: Tensor, logit_positions: Tensor, paged_kv_cache: PagedKVCache):
        return self.batch_forward(input_embeds, paged_kv_cache, logit_positions), paged_kv_cache

    def batch_decode(self, input_embeds: Tensor, paged_kv_cache: PagedKVCache):
        return self.batch_forward(input_embeds, paged_kv_cache), paged_kv_cache

    def batch_verify(self, input_embeds: Tensor, paged_kv_cache: PagedKVCache):
        return self.batch_forward(input_embeds, paged_kv_cache), paged_kv_cache

    def batch_prefill_to_last_hidden_states(self, input_embeds: Tensor, paged_kv_cache: PagedKVCache):
        return self.model(input_embeds, paged_kv_cache), paged_kv_cache

    def batch_decode_to_last_hidden_states(self, input_embeds: Tensor, paged_kv_cache: PagedKVCache):
        return self.model(input_embeds, paged_kv_cache), paged_kv_cache

    def batch_verify_to_last_hidden_states(self, input_embeds: Tensor, paged_kv_cache: PagedKVCache):
        return self.model(input_embeds, paged_kv_cache), paged_kv_cache

    def create_tir_paged_kv_cache(self, max_batch_size, max_total_seq_len, prefill_chunk_size, page_size,
                                  support_sliding_window) -> PagedKVCache:
        """The paged KV cache with TVM's TIR attention kernels (what MLC uses on CPU and OpenCL)."""
        from tvm import relax as rx
        from tvm.target import Target

        cfg = self.cfg
        return TIRPagedKVCache(
            attn_kind="mha",
            max_batch_size=max_batch_size,
            max_total_seq_len=max_total_seq_len,
            prefill_chunk_size=prefill_chunk_size,
            page_size=page_size,
            support_sliding_window=support_sliding_window,
            layer_partition=rx.ShapeExpr([0, cfg.num_hidden_layers]),
            num_hidden_layers=cfg.num_hidden_layers,
            num_attention_heads=cfg.num_attention_heads,
            num_key_value_heads=cfg.num_key_value_heads,
            qk_head_dim=cfg.head_dim,
            v_head_dim=cfg.head_dim,
            mla_original_qk_head_dim=0,
            mla_original_v_head_dim=0,
            rope_mode=RopeMode.NONE if cfg.rope_mode == "int8" else RopeMode.NORMAL,
            rope_scale=1,
            rope_theta=cfg.rope_theta,
            rope_scaling={},
            rope_ext_factors=rx.prim_value(0),
            rotary_dim=cfg.head_dim,
            enable_disaggregation=False,
            dtype=self.dtype,
            target=Target.current(),
        )

    def get_default_spec(self):
        return nn.spec.ModuleSpec.from_raw(self.raw_spec(), self)

    def raw_spec(self) -> dict:
        """Argument shapes of every library function (``seq_len``/``batch_size`` are symbolic)."""
        H, dt = self.cfg.hidden_size, self.dtype
        packed = {"param_mode": "packed", "effect_mode": "none"}
        kv = nn.spec.Object(object_type=PagedKVCache)
        seq = lambda: nn.spec.Tensor([1, "seq_len", H], dt)  # noqa: E731
        spec = {
            "embed": {"input_ids": nn.spec.Tensor(["seq_len"], "int32"), "$": packed},
            "get_logits": {"hidden_states": nn.spec.Tensor(["seq_len", H], dt), "$": packed},
            "batch_select_last_hidden_states": {
                "hidden_states": nn.spec.Tensor(["seq_len", H], dt),
                "logit_positions": nn.spec.Tensor(["batch_size"], "int32"),
                "$": {"param_mode": "none", "effect_mode": "none"},
            },
            "prefill": {"input_embed": seq(), "paged_kv_cache": kv, "$": packed},
            "decode": {"input_embed": nn.spec.Tensor([1, 1, H], dt), "paged_kv_cache": kv, "$": packed},
            "prefill_to_last_hidden_states": {"input_embed": seq(), "paged_kv_cache": kv, "$": packed},
            "decode_to_last_hidden_states": {"input_embed": nn.spec.Tensor([1, 1, H], dt), "paged_kv_cache": kv, "$": packed},
            "batch_prefill": {
                "input_embeds": seq(),
                "logit_positions": nn.spec.Tensor(["batch_size"], "int32"),
                "paged_kv_cache": kv,
                "$": packed,
            },
            "batch_decode": {"input_embeds": nn.spec.Tensor(["batch_size", 1, H], dt), "paged_kv_cache": kv, "$": packed},
            "batch_verify": {"input_embeds": seq(), "paged_kv_cache": kv, "$": packed},
            "batch_prefill_to_last_hidden_states": {"input_embeds": seq(), "paged_kv_cache": kv, "$": packed},
            "batch_decode_to_last_hidden_states": {
                "input_embeds": nn.spec.Tensor(["batch_size", 1, H], dt), "paged_kv_cache": kv, "$": packed,
            },
            "batch_verify_to_last_hidden_states": {"input_embeds": seq(), "paged_kv_cache": kv, "$": packed},
            "create_tir_paged_kv_cache": {
                "max_batch_size": int,
                "max_total_seq_len": int,
                "prefill_chunk_size": int,
                "page_size": int,
                "support_sliding_window": int,
                "$": {"param_mode": "none", "effect_mode": "none"},
            },
        }
        return spec


def param_layout(cfg: PhoneLMConfig, s: QuantScheme) -> list[tuple[str, tuple[int, ...], str]]:
    """(name, shape, dtype) of every parameter, in the order the compiled functions take them."""
    model = PhoneLMForCausalLM(cfg, s)
    return [(name, tuple(int(x) for x in p.shape), str(p.dtype)) for name, p in model.named_parameters()]


def metadata(cfg: PhoneLMConfig, s: QuantScheme, params, memory_usage: dict[str, int]) -> dict:
    """The ``_metadata`` JSON MLC's engine reads from a model library (cpp/metadata/model.cc)."""
    return {
        "model_type": MODEL_TYPE,
        "quantization": s.name,
        "context_window_size": cfg.context_window_size,
        "sliding_window_size": -1,
        "attention_sink_size": -1,
        "prefill_chunk_size": cfg.prefill_chunk_size,
        "tensor_parallel_shards": 1,
        "pipeline_parallel_stages": 1,
        "disaggregation": False,
        "kv_state_kind": "kv_cache",
        "max_batch_size": cfg.max_batch_size,
        "kv_cache": {
            "num_hidden_layers": cfg.num_hidden_layers,
            "num_attention_heads": cfg.num_attention_heads,
            "num_key_value_heads": cfg.num_key_value_heads,
            "head_dim": cfg.head_dim,
        },
        "params": [{"name": n, "shape": list(shape), "dtype": dt, "preprocs": []} for n, shape, dt in params],
        "memory_usage": memory_usage,
        "phonelm_rope_mode": cfg.rope_mode,
    }


def metadata_json(meta: dict) -> str:
    return json.dumps(meta, sort_keys=False)
