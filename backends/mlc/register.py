"""PhoneLM registered with MLC-LLM: ``phonelm`` in mlc_llm's model registry, where mlc_llm is installed.

With it, ``mlc_llm convert_weight / gen_config / compile --model-type phonelm`` accept PhoneLM
checkpoints: MLC's own converter, quantizers and compiler run on *our* model definition
(:mod:`.model`). mlc_llm is not installable from PyPI, so this glue was not run here; it only
forwards to pieces that our own pipeline tests (model definition, parameter names and fusion,
RoPE modes). What differs from our pipeline: MLC quantizes with its own GroupQuantize modules
(same layout as :mod:`.quantization`) and creates the KV cache through its generic
``create_paged_kv_cache`` so its compiler can pick TIR or FlashInfer kernels.

``mlc_llm package`` compiles in a subprocess that would not see this registration: give it the
precompiled library from ``phonelm-export mlc --device android`` instead (``model_lib`` in
mlc-package-config.json), as the export command prints.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib.util
from typing import Any

_REGISTERED = False


def register_with_mlc_llm() -> bool:
    """Add ``phonelm`` to mlc_llm's MODELS (and its conversation template); False without mlc_llm.

    An mlc_llm whose API moved must not break importing this backend: the failure becomes one
    warning line and our own pipeline keeps working.
    """
    global _REGISTERED
    if _REGISTERED:
        return True
    if importlib.util.find_spec("mlc_llm") is None:
        return False
    try:
        _register()
    except Exception as e:  # noqa: BLE001 - any API drift in mlc_llm lands here
        import warnings

        warnings.warn(f"phonelm could not be registered with mlc_llm ({type(e).__name__}: {e})", stacklevel=2)
        return False
    _REGISTERED = True
    return True


def _register() -> None:
    from mlc_llm.conversation_template import ConvTemplateRegistry
    from mlc_llm.model import model as mlc_model
    from mlc_llm.protocol.conversation_protocol import Conversation

    from .chat_config import phonelm_conv_template

    config_cls = _config_class()
    model_cls = _model_class()
    source, quantize = _loaders(model_cls)
    mlc_model.MODELS["phonelm"] = mlc_model.Model(
        name="phonelm", model=model_cls, config=config_cls,
        source={"huggingface-torch": source, "huggingface-safetensor": source}, quantize=quantize,
    )
    ConvTemplateRegistry.register_conv_template(Conversation(**phonelm_conv_template()), override=True)


def _config_class():
    """MLC's config dataclass for PhoneLM: what ``mlc_llm gen_config`` reads from config.json."""
    from mlc_llm.support.config import ConfigBase

    from .model import PhoneLMConfig

    @dataclasses.dataclass
    class MLCPhoneLMConfig(ConfigBase):  # pylint: disable=too-many-instance-attributes
        hidden_size: int
        intermediate_size: int
        num_attention_heads: int
        num_hidden_layers: int
        rms_norm_eps: float
        vocab_size: int
        num_key_value_heads: int = 0
        head_dim: int = 0
        rope_theta: float = 10000.0
        context_window_size: int = 0
        prefill_chunk_size: int = 0
        tensor_parallel_shards: int = 1
        max_batch_size: int = 1
        rope_mode: str = "float"
        kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)

        def __post_init__(self):
            self.num_key_value_heads = self.num_key_value_heads or self.num_attention_heads
            self.head_dim = self.head_dim or self.hidden_size // self.num_attention_heads
            if not self.context_window_size:
                self.context_window_size = self.kwargs.pop("max_position_embeddings", 2048)
            self.prefill_chunk_size = min(self.prefill_chunk_size or self.context_window_size, self.context_window_size)
            if self.kwargs.get("hidden_act", "relu") != "relu":
                raise ValueError("PhoneLM's FFN is gated ReLU (hidden_act 'relu')")

        def ours(self) -> PhoneLMConfig:
            mine = {f.name for f in dataclasses.fields(PhoneLMConfig)}
            return PhoneLMConfig(**{k: v for k, v in dataclasses.asdict(self).items() if k in mine})

    return MLCPhoneLMConfig


def _model_class():
    """Our model definition with MLC's generic KV-cache creation (dispatched by MLC's compiler)."""
    from mlc_llm.nn import PagedKVCache as MLCPagedKVCache
    from mlc_llm.nn import RopeMode

    from .model import PhoneLMForCausalLM
    from .quantization import SCHEMES

    class MLCPhoneLM(PhoneLMForCausalLM):
        def __init__(self, config):
            super().__init__(config.ours(), SCHEMES["q0f32"])

        def create_paged_kv_cache(self, max_batch_size, max_total_seq_len, prefill_chunk_size, page_size,
                                  support_sliding_window):
            c = self.cfg
            return MLCPagedKVCache.create_generic(
                attn_kind="mha", max_batch_size=max_batch_size, max_total_seq_len=max_total_seq_len,
                prefill_chunk_size=prefill_chunk_size, page_size=page_size,
                support_sliding_window=support_sliding_window, num_hidden_layers=c.num_hidden_layers,
                num_attention_heads=c.num_attention_heads, num_key_value_heads=c.num_key_value_heads,
                qk_head_dim=c.head_dim, v_head_dim=c.head_dim,
                rope_mode=RopeMode.NONE if c.rope_mode == "int8" else RopeMode.NORMAL,
                rope_scale=1, rope_theta=c.rope_theta, layer_partition=[0, c.num_hidden_layers], dtype=self.dtype,
            )

        def get_default_spec(self):
            from tvm.relax.frontend import nn

            raw = self.raw_spec()
            raw["create_paged_kv_cache"] = raw.pop("create_tir_paged_kv_cache")
            return nn.spec.ModuleSpec.from_raw(raw, self)

    return MLCPhoneLM


def _loaders(model_cls):
    """MLC's weight source (HF names -> our fused parameters) and its two quantize entries."""
    import numpy as np
    from mlc_llm.loader import ExternMapping, QuantizeMapping

    from .weights import _source_names  # the same fusion our converter uses

    def huggingface(model_config, quantization) -> ExternMapping:
        model = model_cls(model_config)
        if quantization is not None:
            model.to(quantization.model_dtype)
        _, named, _ = model.export_tvm(spec=model.get_default_spec(), allow_extern=True)
        mapping = ExternMapping()
        for name, param in named:
            mapping.add_mapping(
                name, _source_names(name),
                functools.partial(lambda *xs, dtype: np.concatenate(xs, axis=0).astype(dtype), dtype=param.dtype),
            )
        for i in range(model_config.num_hidden_layers):
            mapping.add_unused(f"model.layers.{i}.self_attn.rotary_emb.inv_freq")
        return mapping

    def no_quant(model_config, quantization):
        model = model_cls(model_config)
        model.to(quantization.model_dtype)
        return model, QuantizeMapping({}, {})

    def group_quant(model_config, quantization):
        model = model_cls(model_config)
        model.to(quantization.model_dtype)
        quant_map = QuantizeMapping({}, {})
        quantization.tensor_parallel_shards = model_config.tensor_parallel_shards
        return quantization.quantize_model(model, quant_map, ""), quant_map

    return huggingface, {"no-quant": no_quant, "group-quant": group_quant}
