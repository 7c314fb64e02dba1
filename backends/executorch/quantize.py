"""torchao configs for the ExecuTorch recipe vocabulary (:mod:`.recipes`)."""
from __future__ import annotations

from phonelm_export.errors import RecipeError

from .recipes import QuantPlan

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
