"""PhoneLM registered with llama.cpp: how its architecture is spelled in GGUF (two encodings).

``compat`` (default) — architecture ``smallthinker``, which every llama.cpp since mid-2025
knows. Its FFN is a mixture of gated-ReLU experts; PhoneLM is that with one expert, always
chosen with weight 1.0:

* ``expert_count = expert_used_count = 1``, ``expert_feed_forward_length = n_ff``;
* a zero router ``ffn_gate_inp`` [n_embd, 1] with **softmax** gating, so the single expert's
  weight is exactly 1.0. ``expert_gating_func`` must be written: without it llama.cpp aborts the
  whole process on the first decode (a GGML_ABORT, not an exception);
* no ``attention.sliding_window`` key: its presence switches smallthinker to SWA with NoPE layers;
* smallthinker uses NeoX RoPE, the layout of PhoneLM's HF weights, so q/k are written as they
  are (the ``llama`` arch would need llama.cpp's q/k row permutation);
* no ``output.weight``: llama.cpp ties the head to ``token_embd`` when it is absent.

``native`` — architecture ``phonelm``, added to llama.cpp by ``patches/phonelm-arch.patch``:
dense ``ffn_gate``/``ffn_up``/``ffn_down`` tensors and the llama graph with ReLU gating. Stock
llama.cpp refuses these files ("unknown model architecture").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

ENCODINGS = ("compat", "native")
ARCH_NAMES = {"compat": "smallthinker", "native": "phonelm"}
SOFTMAX_GATING = 1  # llama_expert_gating_func_type LLAMA_EXPERT_GATING_FUNC_TYPE_SOFTMAX

# HF per-layer suffix -> GGUF per-layer name (dense spelling)
_LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}
_FFN = ("ffn_gate", "ffn_up", "ffn_down")


@dataclass(frozen=True)
class TensorPlan:
    """One GGUF tensor: its name, numpy-order shape, and where its data comes from."""

    name: str
    shape: tuple[int, ...]
    source: str | None  # HF tensor name, or None for a synthesized tensor (the zero router)

    @property
    def row_size(self) -> int:
        """Elements per row (ggml ne[0]); quant blocks must divide it."""
        return self.shape[-1]

    @property
    def is_matrix(self) -> bool:
        return len(self.shape) >= 2


def check_encoding(encoding: str) -> str:
    from phonelm_export.errors import PhoneLMError

    if encoding not in ENCODINGS:
        raise PhoneLMError(f"unknown GGUF encoding {encoding!r}; choose compat or native")
    return encoding


def gguf_name(hf_name: str, encoding: str) -> str:
    """The GGUF tensor name for an HF PhoneLM tensor name in this encoding."""
    if hf_name == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf_name == "model.norm.weight":
        return "output_norm.weight"
    if hf_name.startswith("model.layers."):
        rest = hf_name[len("model.layers."):]
        idx, suffix = rest.split(".", 1)
        name = _LAYER_NAMES[suffix]
        if encoding == "compat" and name.split(".")[0] in _FFN:
            name = name.replace(".weight", "_exps.weight")
        return f"blk.{idx}.{name}"
    raise KeyError(hf_name)


def to_encoding_name(name: str, encoding: str) -> str:
    """Translate a GGUF tensor name between encodings (imatrix files are shared by both)."""
    for f in _FFN:
        dense, exps = f"{f}.weight", f"{f}_exps.weight"
        if encoding == "compat" and name.endswith("." + dense):
            return name[: -len(dense)] + exps
        if encoding == "native" and name.endswith("." + exps):
            return name[: -len(exps)] + dense
    return name


def tensor_plan(checkpoint, encoding: str) -> Iterator[TensorPlan]:
    """Every GGUF tensor in file order, with shapes known before any data is read."""
    for hf in checkpoint.tensor_names:
        shape = tuple(checkpoint.shape(hf))
        name = gguf_name(hf, encoding)
        if encoding == "compat" and "_exps." in name:
            shape = (1, *shape)  # [n_expert=1, out, in]
        yield TensorPlan(name, shape, hf)
        if encoding == "compat" and hf.endswith("post_attention_layernorm.weight"):
            idx = name.split(".")[1]
            yield TensorPlan(f"blk.{idx}.ffn_gate_inp.weight", (1, checkpoint.dims.hidden_size), None)


def write_arch_metadata(writer, dims, encoding: str) -> None:
    """Hyper-parameters under the architecture's key prefix."""
    arch = ARCH_NAMES[encoding]
    w = writer
    w.add_context_length(dims.max_position_embeddings)
    w.add_embedding_length(dims.hidden_size)
    w.add_block_count(dims.num_hidden_layers)
    w.add_feed_forward_length(dims.intermediate_size)
    w.add_head_count(dims.num_attention_heads)
    w.add_head_count_kv(dims.num_key_value_heads)
    w.add_key_length(dims.head_dim)
    w.add_value_length(dims.head_dim)
    w.add_layer_norm_rms_eps(dims.rms_norm_eps)
    w.add_rope_freq_base(dims.rope_theta)
    w.add_rope_dimension_count(dims.head_dim)
    w.add_vocab_size(dims.vocab_size)
    if encoding == "compat":
        w.add_expert_count(1)
        w.add_expert_used_count(1)
        w.add_expert_feed_forward_length(dims.intermediate_size)
        w.add_uint32(f"{arch}.expert_gating_func", SOFTMAX_GATING)
