"""Quantization type names: llama.cpp file types (a whole-model mix) and ggml tensor types.

A recipe's ``base`` is a llama.cpp file type (``q4_k_m`` means "mostly Q4_K, with llama.cpp's
own choice of Q6_K for some tensors"); per-tensor ``types`` overrides are ggml tensor types.
gguf-py can itself write F32/F16/BF16/Q8_0 (its Q8_0 is byte-identical to llama.cpp's), so a
recipe made only of those is written directly; anything else goes through llama.cpp's quantizer.
"""
from __future__ import annotations

from phonelm_export.errors import RecipeError

# llama_ftype values (include/llama.h)
FTYPES: dict[str, int] = {
    "f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q8_0": 7, "q5_0": 8, "q5_1": 9,
    "q2_k": 10, "q3_k_s": 11, "q3_k_m": 12, "q3_k_l": 13, "q4_k_s": 14, "q4_k_m": 15,
    "q5_k_s": 16, "q5_k_m": 17, "q6_k": 18, "iq2_xxs": 19, "iq2_xs": 20, "q2_k_s": 21,
    "iq3_xs": 22, "iq3_xxs": 23, "iq1_s": 24, "iq4_nl": 25, "iq3_s": 26, "iq3_m": 27,
    "iq2_s": 28, "iq2_m": 29, "iq4_xs": 30, "iq1_m": 31, "bf16": 32, "tq1_0": 36, "tq2_0": 37,
}
# file types whose tensors gguf-py writes itself
DIRECT = ("f32", "f16", "bf16", "q8_0")
# IQ types below 4 bits are unusable without an importance matrix (llama.cpp refuses them)
NEEDS_IMATRIX = ("iq1_s", "iq1_m", "iq2_xxs", "iq2_xs", "iq2_s", "iq2_m", "iq3_xxs", "iq3_xs")


def ggml_types() -> dict[str, int]:
    """Tensor type name -> ggml_type id, from gguf-py's table."""
    from gguf import GGMLQuantizationType

    return {t.name.lower(): int(t.value) for t in GGMLQuantizationType}


def check_ftype(name: str) -> int:
    n = name.lower()
    if n not in FTYPES:
        raise RecipeError(f"unknown llama.cpp quantization type {name!r} (known: {', '.join(FTYPES)})")
    return FTYPES[n]


# ggml types llama.cpp's quantizer can store a weight in. The others are not storage types:
# Q8_1/Q8_K only hold activations inside dot products (asking for one makes llama.cpp assert in
# its worker threads), and the integer/f64 types are not for weights.
NOT_STORAGE = ("q8_1", "q8_k", "i8", "i16", "i32", "i64", "f64")


def storage_types() -> dict[str, int]:
    return {n: v for n, v in ggml_types().items() if n not in NOT_STORAGE}


def check_tensor_type(name: str) -> int:
    n = name.lower()
    types = storage_types()
    if n not in types:
        what = "not a type llama.cpp stores weights in" if n in NOT_STORAGE else "unknown ggml tensor type"
        raise RecipeError(f"{what} {name!r} (e.g. f32, f16, q8_0, q6_k, q4_k, q5_0, iq4_nl)")
    return types[n]


def block_size(type_name: str) -> int:
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    return GGML_QUANT_SIZES[GGMLQuantizationType[type_name.upper()]][0]


def nbytes(type_name: str, shape: tuple[int, ...]) -> int:
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    blk, size = GGML_QUANT_SIZES[GGMLQuantizationType[type_name.upper()]]
    n = 1
    for s in shape:
        n *= s
    return n // blk * size
