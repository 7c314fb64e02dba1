"""GGUF files compute PhoneLM: llama.cpp's logits against the PyTorch reference.

Every file is run in llama-cpp-python (in the worker subprocess, as users run it) on real token
ids of mixed text, and compared with ``PhoneLMForCausalLM`` on the same checkpoint.

Tolerances, and why:
* f32 weights + f32 KV cache: top-1 agreement 100 % and max |Δlogit| < 1e-2. Both sides compute
  in float32; what differs is only summation order (ggml's blocked dot products vs torch's BLAS),
  which moves logits by ~1e-5 on these models (logit std ~4-9). 1e-2 is a thousand times that
  and still far below any real modelling error: SiLU instead of ReLU, a permuted RoPE layout or
  a missing norm move logits by whole units.
* f16 weights: top-1 >= 99.5 % (f16 rounding of weights is ~5e-4 relative).
* q8_0: top-1 >= 98 % on the trained bundled model, whose confident predictions are what users
  see; on a random model near-ties make top-1 noisier, so there it is only checked against a
  looser bound alongside perplexity.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from phonelm_export.checkpoint import open_checkpoint
from phonelm_export.progress import Progress
from phonelm_export.random_model import SAMPLE_TEXT
from phonelm_export.recipes import load_recipe

pytestmark = [pytest.mark.gguf, pytest.mark.slow]

MIXED_TEXT = (
    SAMPLE_TEXT
    + "for i in range(10):\n    print(f\"{i:03d} -> {i * 3.14159:.2f}\")\n"
    + "Call 1-800-555-0199 or email bob@example.com before 23:59 on 2024-02-29.\n"
    + "<|im_start|>assistant\nresult0 = dial(phone_number=\"5550134\")<|im_end|>\n"
)


def require_native_build() -> None:
    """Native files need the patched llama.cpp. CI builds it (.ci/setup.d/20-gguf.sh), so there a
    missing build fails; on a developer machine without it the test is skipped, saying why."""
    import os

    from phonelm_export.backends.gguf.native import BUILD_COMMAND, native_dir, native_site

    if native_site() is not None:
        return
    failed = native_dir() / "BUILD_FAILED"
    why = failed.read_text().strip() if failed.is_file() else f"not built; run: {BUILD_COMMAND}"
    if os.environ.get("CI"):
        pytest.fail(f"the patched llama.cpp for native files is missing in CI: {why}")
    print(f"SKIP reason: native llama.cpp build unavailable: {why}")
    pytest.skip(f"native llama.cpp build unavailable: {why}")


def _export(ckpt, recipe: str, out, encoding: str):
    from phonelm_export.backends.gguf import BACKEND

    return BACKEND.export(ckpt, load_recipe("gguf", recipe), out, progress=Progress(quiet=True), encoding=encoding)


def _ids(ckpt, n: int = 256) -> list[int]:
    ids = ckpt.tokenizer().encode(MIXED_TEXT * 4)
    return ids[:n]


def _compare(path, ckpt, ids, ref):
    from phonelm_export.backends.gguf import BACKEND

    with BACKEND.load(path) as runner:
        got = runner.logits(ids)
    assert got.shape == ref.shape
    return float(np.abs(got - ref).max()), float((got.argmax(-1) == ref.argmax(-1)).mean()), got


def _nll(logits: np.ndarray, ids: list[int]) -> float:
    """Mean next-token cross-entropy in float64."""
    z = logits[:-1].astype(np.float64)
    z = z - z.max(-1, keepdims=True)
    lse = np.log(np.exp(z).sum(-1))
    return float(np.mean(lse - z[np.arange(len(ids) - 1), ids[1:]]))


@pytest.fixture(scope="module")
def random_ref(random_checkpoint):
    from phonelm_export.reference import ReferenceRunner

    ckpt = open_checkpoint(random_checkpoint)
    ids = _ids(ckpt)
    return ckpt, ids, ReferenceRunner.from_checkpoint(ckpt).logits(ids)


@pytest.fixture(scope="module")
def exported(random_ref, tmp_path_factory):
    """The random model exported once per (recipe, encoding) and shared by the tests below."""
    ckpt = random_ref[0]
    d = tmp_path_factory.mktemp("gguf-parity")
    cache = {}

    def get(recipe: str, encoding: str):
        if encoding == "native":
            require_native_build()
        key = (recipe, encoding)
        if key not in cache:
            cache[key] = _export(ckpt, recipe, d / f"{recipe}-{encoding}.gguf", encoding)
        return cache[key]

    return get


@pytest.mark.parametrize("encoding", ["compat", "native"])
def test_f32_file_matches_the_reference_exactly(random_ref, exported, encoding):
    ckpt, ids, ref = random_ref
    art = exported("f32", encoding)
    max_diff, top1, _ = _compare(art.path, ckpt, ids, ref)
    print(f"{encoding} f32: max|dlogit| {max_diff:.2e} (logit std {ref.std():.2f}), top-1 {top1:.4f}")
    assert top1 == 1.0
    assert max_diff < 1e-2


@pytest.mark.parametrize("encoding", ["compat", "native"])
def test_f16_file_agrees_on_top1(random_ref, exported, encoding):
    ckpt, ids, ref = random_ref
    max_diff, top1, got = _compare(exported("f16", encoding).path, ckpt, ids, ref)
    print(f"{encoding} f16: max|dlogit| {max_diff:.2e}, top-1 {top1:.4f}")
    assert top1 >= 0.995
    assert abs(_nll(got, ids) - _nll(ref, ids)) / _nll(ref, ids) < 1e-3


def test_q8_0_written_by_gguf_py_stays_close(random_ref, exported):
    ckpt, ids, ref = random_ref
    max_diff, top1, got = _compare(exported("q8_0", "compat").path, ckpt, ids, ref)
    rel = abs(_nll(got, ids) - _nll(ref, ids)) / _nll(ref, ids)
    print(f"compat q8_0: max|dlogit| {max_diff:.3f}, top-1 {top1:.4f}, |dNLL|/NLL {rel:.2e}")
    assert top1 >= 0.95
    assert rel < 0.02


@pytest.mark.parametrize("encoding", ["compat", "native"])
def test_llama_cpp_quantized_recipe_runs_and_tracks_the_reference(random_ref, exported, encoding):
    """The balanced recipe goes through llama.cpp's quantizer (with an importance matrix)."""
    ckpt, ids, ref = random_ref
    art = exported("balanced", encoding)
    assert art.meta["imatrix"]["entries"] > 0
    assert "q5_0" in art.meta["type_counts"] or "q4_k" in art.meta["type_counts"]
    _, top1, got = _compare(art.path, ckpt, ids, ref)
    rel = abs(_nll(got, ids) - _nll(ref, ids)) / _nll(ref, ids)
    print(f"{encoding} balanced: {art.meta['bits_per_weight']:.2f} bpw, top-1 {top1:.4f}, |dNLL|/NLL {rel:.2e}")
    assert top1 >= 0.8
    assert rel < 0.1


def test_compat_and_native_compute_the_same_function(random_ref, exported):
    require_native_build()
    ckpt, ids, _ = random_ref
    from phonelm_export.backends.gguf import BACKEND

    with BACKEND.load(exported("f32", "compat").path) as a, BACKEND.load(exported("f32", "native").path) as b:
        assert a.encoding == "compat" and b.encoding == "native"
        assert a.llama_cpp_dir != b.llama_cpp_dir  # stock build vs the patched one
        diff = np.abs(a.logits(ids) - b.logits(ids)).max()
    assert diff < 1e-3


def test_decoding_through_the_kv_cache_equals_the_batched_forward(random_ref, exported):
    ckpt, ids, ref = random_ref
    from phonelm_export.backends.gguf import BACKEND

    with BACKEND.load(exported("f32", "compat").path) as runner:
        step = runner.decode_logits(ids[:24])
    assert np.abs(step - ref[:24]).max() < 1e-2
    assert (step.argmax(-1) == ref[:24].argmax(-1)).all()


def test_generate_streams_tokens_and_matches_greedy_reference(random_ref, exported):
    ckpt, ids, _ = random_ref
    from phonelm_export.backends.gguf import BACKEND
    from phonelm_export.reference import ReferenceRunner

    prompt = ids[:16]
    expected = ReferenceRunner.from_checkpoint(ckpt).generate(prompt, max_new_tokens=12)
    streamed: list[int] = []
    with BACKEND.load(exported("f32", "compat").path) as runner:
        out = runner.generate(prompt, max_new_tokens=12, on_token=streamed.append)
        assert set(runner.eog_ids) >= {0, 2}  # llama.cpp itself ends generation on both
    assert out == expected
    assert streamed == out


def test_a_compat_file_runs_on_stock_llama_cpp(exported):
    """The compat promise: the worker imported the llama-cpp-python installed with pip."""
    import llama_cpp

    from phonelm_export.backends.gguf import BACKEND

    with BACKEND.load(exported("f32", "compat").path) as runner:
        assert runner.llama_cpp_dir == str(__import__("pathlib").Path(llama_cpp.__file__).parent)


# -- the trained bundled model ---------------------------------------------------------------

@pytest.fixture(scope="module")
def bundled(bundled_checkpoint, tmp_path_factory):
    from phonelm_export.reference import ReferenceRunner

    ckpt = open_checkpoint(bundled_checkpoint)
    tok = ckpt.tokenizer()
    from phonelm_export.tokenizer import call_messages

    text = tok.render_chat(call_messages("Set an alarm for 7:30 tomorrow and text Alice that I'm late", ["Name: dial\n"]) +
                           [{"role": "assistant", "content": 'result0 = ACTION_SET_ALARM(EXTRA_HOUR=7, EXTRA_MINUTES=30)'}],
                           add_generation_prompt=False)
    ids = (tok.encode(text + MIXED_TEXT) * 2)[:384]
    ref = ReferenceRunner.from_checkpoint(ckpt).logits(ids)
    return ckpt, ids, ref, tmp_path_factory.mktemp("gguf-bundled")


@pytest.mark.parametrize("recipe,min_top1", [("f32", 1.0), ("f16", 0.995), ("q8_0", 0.98)])
def test_bundled_model_parity(bundled, recipe, min_top1):
    ckpt, ids, ref, d = bundled
    art = _export(ckpt, recipe, d / f"{recipe}.gguf", "compat")
    max_diff, top1, got = _compare(art.path, ckpt, ids, ref)
    ppl_ref, ppl = math.exp(_nll(ref, ids)), math.exp(_nll(got, ids))
    print(f"bundled {recipe}: max|dlogit| {max_diff:.2e}, top-1 {top1:.4f}, ppl {ppl:.3f} vs {ppl_ref:.3f}")
    assert top1 >= min_top1
    if recipe == "f32":
        assert max_diff < 1e-2
    if recipe in ("f32", "f16"):
        assert abs(ppl - ppl_ref) / ppl_ref < 1e-3


def test_bundled_model_native_f32(bundled):
    require_native_build()
    ckpt, ids, ref, d = bundled
    art = _export(ckpt, "f32", d / "f32-native.gguf", "native")
    max_diff, top1, _ = _compare(art.path, ckpt, ids, ref)
    assert top1 == 1.0 and max_diff < 1e-2
