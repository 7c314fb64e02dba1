"""The MLC backend's recipe vocabulary (``quant_recipes/mlc/*.toml``, beside ``purpose`` and ``family``).

``quantization``         MLC's quantization name: q0f32, q0f16, q4f16_1, q4f32_1 (:mod:`.quantization`)
``context_window_size``  the context compiled into the model library (default: the model's)
``prefill_chunk_size``   the longest prefill one call takes (default: min(context, 2048))
``temperature``, ``top_p``  the sampling defaults written into mlc-chat-config.json
"""
from __future__ import annotations

from pydantic import Field

from phonelm_export.errors import RecipeError
from phonelm_export.schemas import ClosedSchemaModel, validate


class MLCRecipe(ClosedSchemaModel):
    quantization: str
    context_window_size: int | None = Field(default=None, gt=0)
    prefill_chunk_size: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, gt=0, le=1)


def recipe_settings(recipe) -> dict:
    """The recipe's MLC keys, checked; a one-line RecipeError on anything wrong."""
    from .quantization import scheme

    r = validate(MLCRecipe, recipe.data, f"recipe {recipe.name}", RecipeError)
    scheme(r.quantization)  # a RecipeError naming the supported ones
    return dict(recipe.data)
