"""The GGUF backend's recipe vocabulary (``quant_recipes/gguf/*.toml``, beside ``purpose`` and ``family``).

``base``          llama.cpp file type: f32, f16, bf16, q8_0 (written by gguf-py) or any other
                  llama.cpp type such as q4_0, q4_k_m, q5_k_m, q6_k, iq4_nl (through llama.cpp's
                  quantizer, ``llama_model_quantize``).
``[types]``       per-tensor ggml types by GGUF-name regex (first match wins, as in llama.cpp),
                  e.g. ``'^token_embd\\.weight$' = "q8_0"`` keeps the tied embedding/head finer.
``incompatible``  what a matrix whose rows are not a multiple of 256 gets when its type would be
                  a 256-block K/IQ type: ``"llama.cpp"`` (its fixed rule: Q4_K->Q5_0,
                  Q5_K->Q5_1, Q6_K->Q8_0, Q2_K/Q3_K->Q4_0, IQ*->IQ4_NL) or a type name applied
                  to exactly those tensors. PhoneLM-1.5B's ffn_down (6816 columns) is such a
                  tensor; at the bundled model's sizes, all are.
``imatrix``       true: quantize with an importance matrix from calibration text (``--calibration``
                  or built-in text), or a given ``--imatrix`` file.
``calibration_tokens``  tokens of calibration text for the importance matrix (default 16384).

Every type is checked here, before llama.cpp is called: llama.cpp asserts (in its worker
threads) instead of returning an error for a type it cannot store.
"""
from __future__ import annotations

import re

from pydantic import Field

from phonelm_export.errors import RecipeError
from phonelm_export.schemas import ClosedSchemaModel, validate

K_BLOCK = 256
# llama.cpp file types whose main tensor types quantize rows in blocks of 256
K_FTYPES = ("q2_k", "q2_k_s", "q3_k_s", "q3_k_m", "q3_k_l", "q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m", "q6_k",
            "iq1_s", "iq1_m", "iq2_xxs", "iq2_xs", "iq2_s", "iq2_m", "iq3_xxs", "iq3_xs", "iq3_s", "iq3_m",
            "iq4_xs", "tq1_0", "tq2_0")


class GGUFRecipe(ClosedSchemaModel):
    base: str
    types: dict[str, str] = Field(default_factory=dict)
    incompatible: str = "llama.cpp"
    imatrix: bool = False
    calibration_tokens: int = Field(default=16384, gt=0, le=1 << 24)
    notes: str = ""


def validate_recipe(recipe) -> GGUFRecipe:
    """The recipe's GGUF keys, typed and checked; a one-line RecipeError on anything wrong."""
    from .qtypes import DIRECT, NEEDS_IMATRIX, check_ftype, check_tensor_type

    r = validate(GGUFRecipe, recipe.data, f"recipe {recipe.name}", RecipeError)

    def checked(check, value, key):
        try:
            return check(value)
        except RecipeError as e:
            raise RecipeError(f"recipe {recipe.name}: {key}: {e}") from None

    checked(check_ftype, r.base, "base")
    for pattern, t in r.types.items():
        try:
            re.compile(pattern)
        except re.error as e:
            raise RecipeError(f"recipe {recipe.name}: bad tensor pattern {pattern!r} ({e})") from None
        checked(check_tensor_type, t, f"types.{pattern!r}")
    if r.incompatible != "llama.cpp":
        checked(check_tensor_type, r.incompatible, "incompatible")
    base = r.base.lower()
    if base in NEEDS_IMATRIX and not r.imatrix:
        raise RecipeError(f"recipe {recipe.name}: {r.base} needs imatrix = true (llama.cpp refuses it without one)")
    if base in DIRECT and r.imatrix:
        raise RecipeError(f"recipe {recipe.name}: {r.base} is written directly; an importance matrix would be ignored")
    return r


def is_k_type(base: str) -> bool:
    return base in K_FTYPES
