"""PyTorch reference for PhoneLM, registered with transformers' Auto classes.

PhoneLM is transformers' Llama with ``hidden_act="relu"`` (a gated-ReLU FFN) and a tied
head, so the reference reuses ``LlamaForCausalLM``'s code under its own ``model_type``.
Registering ``phonelm`` here means a real PhoneLM directory, whose ``config.json`` carries
an ``auto_map`` to remote code, loads with ``AutoModelForCausalLM.from_pretrained`` without
``trust_remote_code``: transformers prefers a registered local class and never imports the
checkpoint's Python files.

``rope_mode``: ``"float"`` (default) or ``"int8"``, PhoneLM's on-device rounded tables
(:mod:`phonelm_export.rope`).
"""
from __future__ import annotations

import torch
from huggingface_hub.dataclasses import strict
from transformers import AutoConfig, AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

from .rope import ROPE_MODES, int8_round


@strict
class PhoneLMConfig(LlamaConfig):
    model_type = "phonelm"
    hidden_act: str = "relu"
    tie_word_embeddings: bool = True
    rope_mode: str = "float"

    def validate_architecture(self):
        super().validate_architecture()
        if self.rope_mode not in ROPE_MODES:
            raise ValueError(f"rope_mode must be one of {ROPE_MODES}, not {self.rope_mode!r}")


class Int8RotaryEmbedding(LlamaRotaryEmbedding):
    """Float RoPE whose cos/sin tables are rounded as PhoneLM's runtime rounds them."""

    @torch.no_grad()
    def forward(self, x, position_ids):
        freqs = position_ids[..., None].float() * self.inv_freq.to(device=x.device, dtype=torch.float)
        emb = torch.cat((freqs, freqs), dim=-1)
        return int8_round(emb.cos()).to(x.dtype), int8_round(emb.sin()).to(x.dtype)


class PhoneLMForCausalLM(LlamaForCausalLM):
    config_class = PhoneLMConfig

    def __init__(self, config: PhoneLMConfig):
        super().__init__(config)
        if getattr(config, "rope_mode", "float") == "int8":
            self.model.rotary_emb = Int8RotaryEmbedding(config=config)


_registered = False


def register() -> None:
    """Make ``model_type="phonelm"`` known to AutoConfig / AutoModelForCausalLM (idempotent)."""
    global _registered
    if _registered:
        return
    AutoConfig.register("phonelm", PhoneLMConfig, exist_ok=True)
    AutoModelForCausalLM.register(PhoneLMConfig, PhoneLMForCausalLM, exist_ok=True)
    _registered = True


# importing the model registers it (the package's import hook defers to this line when the
# import of transformers was triggered by this module)
register()
