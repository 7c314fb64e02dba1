"""Recipe vocabulary of the ExecuTorch backend and the torchao configs it maps to.

A recipe (``quant_recipes/executorch/<name>.toml``) says, besides ``purpose`` and ``family``::

    linear     = "fp32" | "8da8w" | "8da4w"   # decoder-layer linears
    group_size = 32                          # weight group size for 8da*w; 0 = per output channel
    lm_head    = "fp32" | "8da8w" | "8da4w"   # the tied head (default: same as linear)
    embedding  = "fp32" | "int8"             # the token embedding table (int8: per row)
    algorithm  = "hqq_scale_only" | "affine" # how weight scales are chosen (default hqq_scale_only)

``8daNw`` = 8-bit dynamic (per-token) activations with N-bit grouped weights, torchao's
``Int8DynamicActivationIntxWeightConfig``, which XNNPACK runs as its dynamically-quantized
linear. The 8-bit embedding is ``IntxWeightOnlyConfig(int8, PerAxis(0))``, fused by ExecuTorch
into its quantized embedding kernel.

The tied head, explicitly: PhoneLM's head *is* its embedding. The eager module shares one
tensor, but every ``.pte`` stores the table twice (the XNNPACK delegate serializes its own copy
of the head's weight; the gather runs outside it). When quantized, the two are quantized
separately: the embedding per row for the 8-bit gather kernel, the head like a linear.
"""
from __future__ import annotations

from dataclasses import dataclass

from phonelm_export.errors import RecipeError

LINEAR_SCHEMES = ("fp32", "8da8w", "8da4w")
EMBEDDING_SCHEMES = ("fp32", "int8")
ALGORITHMS = ("hqq_scale_only", "affine")
KEYS = {"linear", "group_size", "lm_head", "embedding", "algorithm"}


@dataclass(frozen=True)
class QuantPlan:
    linear: str = "fp32"
    group_size: int = 0
    lm_head: str = "fp32"
    embedding: str = "fp32"
    algorithm: str = "hqq_scale_only"

    @property
    def quantized(self) -> bool:
        return self.linear != "fp32" or self.lm_head != "fp32" or self.embedding != "fp32"

    def to_dict(self) -> dict:
        return {
            "linear": self.linear,
            "group_size": self.group_size,
            "lm_head": self.lm_head,
            "embedding": self.embedding,
            "algorithm": self.algorithm,
        }


def plan_from_recipe(recipe) -> QuantPlan:
    """Validate a recipe's backend keys; one-line RecipeError on anything unknown."""
    data = dict(recipe.data)
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise RecipeError(f"recipe {recipe.name}: unknown key {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
    linear = data.get("linear", "fp32")
    if linear not in LINEAR_SCHEMES:
        raise RecipeError(f"recipe {recipe.name}: linear {linear!r} is not one of {', '.join(LINEAR_SCHEMES)}")
    head = data.get("lm_head", linear)
    if head not in LINEAR_SCHEMES:
        raise RecipeError(f"recipe {recipe.name}: lm_head {head!r} is not one of {', '.join(LINEAR_SCHEMES)}")
    emb = data.get("embedding", "fp32")
    if emb not in EMBEDDING_SCHEMES:
        raise RecipeError(f"recipe {recipe.name}: embedding {emb!r} is not one of {', '.join(EMBEDDING_SCHEMES)}")
    group = data.get("group_size", 0)
    if not isinstance(group, int) or isinstance(group, bool) or group < 0 or (group and group % 2):
        raise RecipeError(f"recipe {recipe.name}: group_size must be 0 (per channel) or a positive even integer")
    algo = data.get("algorithm", "hqq_scale_only")
    if algo not in ALGORITHMS:
        raise RecipeError(f"recipe {recipe.name}: algorithm {algo!r} is not one of {', '.join(ALGORITHMS)}")
    return QuantPlan(linear=linear, group_size=group, lm_head=head, embedding=emb, algorithm=algo)


def check_shapes(plan: QuantPlan, dims) -> None:
    """Grouped weights need the group size to divide every linear's input width."""
    if not plan.group_size:
        return
    widths = {"hidden_size": dims.hidden_size, "intermediate_size": dims.intermediate_size, "q width": dims.q_dim}
    used = plan.linear != "fp32" or plan.lm_head != "fp32"
    for what, w in widths.items():
        if used and w % plan.group_size:
            raise RecipeError(f"group_size {plan.group_size} does not divide the model's {what} {w}; use a recipe with a smaller group")


def _linear_config(scheme: str, plan: QuantPlan):
    import torch
    from torchao.quantization.granularity import PerAxis, PerGroup
    from torchao.quantization.quant_api import Int8DynamicActivationIntxWeightConfig

    bits = {"8da4w": torch.int4, "8da8w": torch.int8}[scheme]
    gran = PerGroup(plan.group_size) if plan.group_size else PerAxis(0)
    return Int8DynamicActivationIntxWeightConfig(
        weight_dtype=bits, weight_granularity=gran, intx_choose_qparams_algorithm=plan.algorithm
    )


def layer_quantizer(plan: QuantPlan):
    """``on_layer`` hook for :func:`model.build_model`: quantize one decoder layer's linears."""
    if plan.linear == "fp32":
        return None
    from torch import nn
    from torchao.quantization import quantize_

    config = _linear_config(plan.linear, plan)

    def on_layer(layer: nn.Module) -> None:
        quantize_(layer, config, filter_fn=lambda m, fqn: isinstance(m, nn.Linear))

    return on_layer


def head_quantizer(plan: QuantPlan):
    """``on_head`` hook: the embedding table and the (tied) head, each as its recipe says."""
    if plan.embedding == "fp32" and plan.lm_head == "fp32":
        return None
    import torch
    from torch import nn
    from torchao.quantization import quantize_
    from torchao.quantization.granularity import PerAxis
    from torchao.quantization.quant_api import IntxWeightOnlyConfig

    def on_head(model: nn.Module) -> None:
        if plan.embedding == "int8":
            cfg = IntxWeightOnlyConfig(weight_dtype=torch.int8, granularity=PerAxis(0))
            quantize_(model, cfg, filter_fn=lambda m, fqn: fqn == "embed_tokens")
        if plan.lm_head != "fp32":
            quantize_(model, _linear_config(plan.lm_head, plan), filter_fn=lambda m, fqn: fqn == "lm_head")

    return on_head
