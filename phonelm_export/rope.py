"""PhoneLM's RoPE modes, and the int8 rounding of its on-device runtime (one home for both).

* ``"float"``: exact float RoPE tables, what llama.cpp, ExecuTorch and MLC compute.
* ``"int8"``: the tables PhoneLM's on-device runtime (mllm) precomputes,
  ``round(t * 127) / 127`` for ``t`` in cos and sin (scale 1). PhoneLM's Hugging Face code
  instead rescales by the absolute maximum of each call's table, which makes prefill and decode
  disagree; the fixed-scale variant is position-independent, so every backend whose model
  definition is ours (the reference, ExecuTorch, MLC) reproduces it exactly.
"""
from __future__ import annotations

ROPE_MODES = ("float", "int8")
#: int8 tables hold multiples of 1/INT8_STEPS (mllm stores cos/sin, all in [-1, 1], as int8)
INT8_STEPS = 127.0


def check_rope_mode(mode: str) -> str:
    if mode not in ROPE_MODES:
        raise ValueError(f"rope mode must be one of {', '.join(ROPE_MODES)}, not {mode!r}")
    return mode


def int8_round(table):
    """mllm's int8 RoPE table: values in [-1, 1] rounded to multiples of 1/127 (a torch tensor,
    or anything with ``round``; MLC's TIR spells the same with ``INT8_STEPS``)."""
    return (table * INT8_STEPS).round() / INT8_STEPS
