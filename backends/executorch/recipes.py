"""The ExecuTorch backend's recipe vocabulary (and, in :mod:`.quantize`, the torchao configs it maps to).

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
from typing import Literal

from pydantic import Field

from phonelm_export.errors import RecipeError
from phonelm_export.schemas import ClosedSchemaModel, validate

LINEAR_SCHEMES = ("fp32", "8da8w", "8da4w")
EMBEDDING_SCHEMES = ("fp32", "int8")
ALGORITHMS = ("hqq_scale_only", "affine")


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


class ExecuTorchRecipe(ClosedSchemaModel):
    linear: Literal["fp32", "8da8w", "8da4w"] = "fp32"
    group_size: int = Field(default=0, ge=0, le=1 << 16)
    lm_head: Literal["fp32", "8da8w", "8da4w"] | None = None  # None: same as linear
    embedding: Literal["fp32", "int8"] = "fp32"
    algorithm: Literal["hqq_scale_only", "affine"] = "hqq_scale_only"


def plan_from_recipe(recipe) -> QuantPlan:
    """Validate a recipe's backend keys; one-line RecipeError on anything unknown."""
    r = validate(ExecuTorchRecipe, recipe.data, f"recipe {recipe.name}", RecipeError)
    if r.group_size % 2:
        raise RecipeError(f"recipe {recipe.name}: group_size must be 0 (per channel) or a positive even integer")
    return QuantPlan(linear=r.linear, group_size=r.group_size, lm_head=r.lm_head or r.linear, embedding=r.embedding,
                     algorithm=r.algorithm)
