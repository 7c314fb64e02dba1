"""MLC-LLM's weight encodings, as numpy: what each ``--quantization`` stores and how it decodes.

The four names are MLC's own and mean exactly what they mean there, so a directory written
here loads in MLC's runtime with the same code paths as one written by ``mlc_llm convert_weight``:

* ``q0f32`` / ``q0f16``: no quantization; the model (activations and weights) runs in float32 /
  float16. MLC stores float32 tensors as bfloat16 on disk (``"format": "f32-to-bf16"`` in
  ``tensor-cache.json``) and widens them when loading, so q0f32 carries bf16-rounded weights.
* ``q4f16_1`` / ``q4f32_1``: symmetric 4-bit group quantization ("group-quant" in MLC), group
  size 32 along the input dimension, weight layout NK (PyTorch's ``[out, in]``):
  ``scale = max|w_group| / 7``, ``q = clip(round(w / scale + 7), 0, 14)``, eight 4-bit values per
  ``uint32``, element ``i`` of a word in bits ``4i..4i+3`` (little end first). Stored as
  ``<name>.q_weight`` ``uint32 [out, in / 8]`` and ``<name>.q_scale`` ``[out, in / 32]`` in the
  model dtype (float16 / float32). Decoding is ``(q - 7) * scale``. Every linear layer and the
  embedding (which is also the tied output head) are quantized; RMSNorm weights are not.

Quantization arithmetic is done in the model dtype, as MLC's TVM kernel does, so scales and
codes match MLC's converter (rounding is half-to-even in both).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class QuantScheme:
    name: str
    model_dtype: str  # activations, norms, scales
    group_size: int = 0  # 0: not quantized
    bits: int = 4

    @property
    def quantized(self) -> bool:
        return self.group_size > 0

    @property
    def elems_per_word(self) -> int:
        return 32 // self.bits

    @property
    def max_int(self) -> int:
        return (1 << (self.bits - 1)) - 1

    def bits_per_weight(self) -> float:
        """Storage bits per quantized weight: the code plus its share of the group scale."""
        if not self.quantized:
            return 16.0  # both f32 (stored as bf16) and f16 take 16 bits on disk
        return self.bits + np.dtype(self.model_dtype).itemsize * 8 / self.group_size


SCHEMES = {
    "q0f32": QuantScheme("q0f32", "float32"),
    "q0f16": QuantScheme("q0f16", "float16"),
    "q4f16_1": QuantScheme("q4f16_1", "float16", group_size=32),
    "q4f32_1": QuantScheme("q4f32_1", "float32", group_size=32),
}


def scheme(name: str) -> QuantScheme:
    from phonelm_export.errors import RecipeError

    try:
        return SCHEMES[name]
    except KeyError:
        raise RecipeError(f"unsupported MLC quantization {name!r} (supported: {', '.join(SCHEMES)})") from None


def group_quantize(w: np.ndarray, s: QuantScheme) -> tuple[np.ndarray, np.ndarray]:
    """``[out, in]`` float weights -> (``uint32 [out, in/8]`` codes, ``[out, in/32]`` scales)."""
    if w.ndim != 2:
        raise ValueError(f"group quantization needs a 2-D weight, got shape {w.shape}")
    out_f, in_f = w.shape
    g = s.group_size
    if in_f % g:
        raise ValueError(f"input dimension {in_f} is not a multiple of the group size {g}")
    dt = np.dtype(s.model_dtype)
    wg = w.astype(dt).reshape(out_f, in_f // g, g)
    max_int = dt.type(s.max_int)
    scale = (np.abs(wg).max(axis=-1) / max_int).astype(dt)
    # an all-zero group has scale 0; its codes are the zero point (MLC would divide by zero)
    safe = np.where(scale == 0, dt.type(1), scale)
    with np.errstate(over="ignore", invalid="ignore"):
        q = np.rint(wg / safe[..., None] + max_int)
    q = np.clip(q, 0, 2 * s.max_int).astype(np.uint32).reshape(out_f, in_f)
    per = s.elems_per_word
    q = q.reshape(out_f, in_f // per, per)
    shifts = (np.arange(per, dtype=np.uint32) * s.bits)[None, None, :]
    packed = np.bitwise_or.reduce(q << shifts, axis=-1).astype(np.uint32)
    return packed, scale


def group_dequantize(packed: np.ndarray, scale: np.ndarray, s: QuantScheme) -> np.ndarray:
    """The float weights MLC's kernels compute with (inverse of :func:`group_quantize`)."""
    out_f, words = packed.shape
    per = s.elems_per_word
    shifts = (np.arange(per, dtype=np.uint32) * s.bits)[None, None, :]
    q = (packed[..., None] >> shifts) & np.uint32((1 << s.bits) - 1)
    q = q.reshape(out_f, words * per).astype(s.model_dtype)
    dt = np.dtype(s.model_dtype)
    scale_full = np.repeat(scale.astype(dt), s.group_size, axis=1)
    return (q - dt.type(s.max_int)) * scale_full


def bf16_round(x: np.ndarray) -> np.ndarray:
    """float32 -> the float32 value MLC's runtime sees after its bf16 round trip on disk."""
    from tvm.contrib.tvmjs import _convert_bf16_to_f32, _convert_f32_to_bf16

    return _convert_bf16_to_f32(_convert_f32_to_bf16(np.ascontiguousarray(x, dtype=np.float32)))
