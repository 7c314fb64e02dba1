"""MLC's weight encodings, checked without compiling anything.

The layouts are MLC-LLM's (group_quantization.py / utils.py in mlc-ai/mlc-llm): symmetric 4-bit
codes ``round(w / (max|w| / 7)) + 7`` per group of 32 input weights, eight codes per uint32 with
element i in bits 4i..4i+3, scales ``[out, in/32]`` in the model dtype.
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tvm", reason="the mlc extra (apache-tvm) is not installed")

from phonelm_export.backends.mlc.quantization import (  # noqa: E402
    SCHEMES,
    bf16_round,
    group_dequantize,
    group_quantize,
    scheme,
)
from phonelm_export.errors import RecipeError  # noqa: E402

pytestmark = pytest.mark.mlc

Q4F32 = SCHEMES["q4f32_1"]
Q4F16 = SCHEMES["q4f16_1"]


def test_codes_are_packed_little_end_first_eight_per_word():
    # one row, one group: max |w| is 7, so scale is 1 and codes are w + 7
    w = np.array([[-7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 0] + [0] * 16], dtype=np.float32)
    packed, scale = group_quantize(w, Q4F32)
    assert packed.dtype == np.uint32 and packed.shape == (1, 4)
    assert scale.shape == (1, 1) and scale[0, 0] == 1.0
    codes = [int(c) for c in w[0, :8] + 7]  # 0..7
    assert int(packed[0, 0]) == sum(c << (4 * i) for i, c in enumerate(codes))
    assert int(packed[0, 0]) == 0x76543210
    assert int(packed[0, 1]) == 0x7EDCBA98  # codes 8..14 then 7 (the zero)
    assert int(packed[0, 2]) == 0x77777777  # an all-zero run is the zero point


def test_scale_is_group_absmax_over_seven_in_the_model_dtype():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 64)).astype(np.float32)
    _, s32 = group_quantize(w, Q4F32)
    _, s16 = group_quantize(w, Q4F16)
    expect = np.abs(w.reshape(6, 2, 32)).max(-1) / 7
    assert s32.dtype == np.float32 and s16.dtype == np.float16
    np.testing.assert_allclose(s32, expect, rtol=1e-6)
    np.testing.assert_allclose(s16.astype(np.float32), expect, rtol=1e-3)


def test_round_trip_error_is_at_most_half_a_step():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(16, 128)).astype(np.float32)
    packed, scale = group_quantize(w, Q4F32)
    back = group_dequantize(packed, scale, Q4F32)
    step = np.repeat(scale, 32, axis=1)
    assert np.all(np.abs(back - w) <= step / 2 + 1e-6)
    # and re-quantizing the decoded weights is exact (codes and scales are a fixed point)
    p2, s2 = group_quantize(back, Q4F32)
    np.testing.assert_array_equal(p2, packed)
    np.testing.assert_allclose(s2, scale, rtol=1e-6)


def test_all_zero_groups_decode_to_zero():
    w = np.zeros((2, 32), dtype=np.float32)
    packed, scale = group_quantize(w, Q4F16)
    assert np.all(scale == 0)
    assert np.all(group_dequantize(packed, scale, Q4F16) == 0)


def test_input_dimension_must_be_a_multiple_of_the_group():
    with pytest.raises(ValueError, match="multiple of the group size 32"):
        group_quantize(np.ones((4, 48), dtype=np.float32), Q4F32)


def test_bits_per_weight_counts_the_scale_share():
    assert Q4F16.bits_per_weight() == 4.5
    assert Q4F32.bits_per_weight() == 5.0
    assert SCHEMES["q0f16"].bits_per_weight() == 16.0
    assert SCHEMES["q0f32"].bits_per_weight() == 16.0  # stored as bf16 on disk


def test_bf16_round_keeps_eight_mantissa_bits():
    x = np.array([1.0, 1.0 + 2**-8, 1.0 + 2**-7, 3.14159265], dtype=np.float32)
    got = bf16_round(x)
    assert got[0] == 1.0 and got[1] == 1.0  # a tie rounds to even
    assert got[2] == 1.0 + 2**-7
    assert abs(got[3] - 3.140625) < 1e-7


def test_unknown_quantization_is_a_one_line_recipe_error():
    with pytest.raises(RecipeError, match="unsupported MLC quantization 'q3f16_0'"):
        scheme("q3f16_0")
