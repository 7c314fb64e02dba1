"""The trained bundled model through MLC: exact in q0f32, measured floors for the 4-bit recipes.

Floors (measured on the bundled phonelm-tiny-call, hidden 256, 6 layers, vocab 2048, over 4 windows
of 128 held-out tokens: q4f16_1 top-1 94.5 % / ppl +2.0 %, q4f32_1 95.1 % / +2.0 % against q0f32;
the earlier 3-layer model measured 91-92 % / +9-10 %; see quant_recipes/mlc/README.md for 1,016
tokens). A sharp trained model's perplexity moves by a larger fraction under 4-bit noise than an
untrained one's, hence the 15 % margin:
* q0f32 vs the bf16-rounded PyTorch reference: max |Δlogit| < 1e-3 (float32 arithmetic order on
  a trained model's larger logits), top-1 100 %, identical greedy continuation of a chat prompt.
* q4f16_1 and q4f32_1: top-1 agreement with q0f32 over held-out text ≥ 85 % and perplexity
  within 15 % of q0f32's.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("tvm", reason="the mlc extra (apache-tvm) is not installed")

from phonelm_export.registry import get_backend  # noqa: E402
from phonelm_export.backends.mlc.quantization import bf16_round  # noqa: E402
from phonelm_export.checkpoint import open_checkpoint  # noqa: E402
from phonelm_export.metrics import perplexity, windows  # noqa: E402
from phonelm_export.progress import QUIET  # noqa: E402
from phonelm_export.recipes import load_recipe  # noqa: E402
from phonelm_export.reference import ReferenceRunner  # noqa: E402
from phonelm_export.verify import heldout_text  # noqa: E402

pytestmark = [pytest.mark.mlc, pytest.mark.slow]

BACKEND = get_backend("mlc")
WINDOW, MAX_WINDOWS = 128, 4


@pytest.fixture(scope="module")
def heldout(bundled_checkpoint):
    tok = open_checkpoint(bundled_checkpoint).tokenizer()
    text = heldout_text()
    ids = tok.encode(text)
    return ids, len(text.encode("utf-8")), windows(ids, WINDOW, MAX_WINDOWS)


@pytest.fixture(scope="module")
def exported(bundled_checkpoint, tmp_path_factory):
    """q0f32, q4f16_1, q4f32_1 runners (compiled once for this module)."""
    ckpt = open_checkpoint(bundled_checkpoint)
    runners = {}
    for q in ("q0f32", "q4f16_1", "q4f32_1"):
        out = tmp_path_factory.mktemp(f"bundled-{q}") / "model"
        BACKEND.export(ckpt, load_recipe("mlc", q), out, progress=QUIET, devices=("cpu",),
                       context_window_size=256, prefill_chunk_size=64)
        runners[q] = BACKEND.load(out)
    yield runners
    for r in runners.values():
        r.close()


def test_q0f32_matches_the_reference_on_the_trained_model(bundled_checkpoint, exported, heldout):
    ckpt = open_checkpoint(bundled_checkpoint)
    model = ckpt.reference_model()
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.copy_(torch.from_numpy(bf16_round(p.numpy())))
    ref = ReferenceRunner(model, ckpt.tokenizer())
    for w in heldout[2][:2]:
        got, want = exported["q0f32"].logits(w), ref.logits(w)
        assert np.abs(got - want).max() < 1e-3
        assert (got.argmax(-1) == want.argmax(-1)).all()
    tok = exported["q0f32"].tokenizer
    prompt = tok.encode(tok.render_chat([{"role": "user", "content": "Set an alarm for 7 am"}]))
    assert exported["q0f32"].generate(prompt, max_new_tokens=24) == ref.generate(prompt, max_new_tokens=24)


@pytest.mark.parametrize("quant", ["q4f16_1", "q4f32_1"])
def test_4bit_recipes_keep_top1_and_perplexity_above_their_floors(exported, heldout, quant):
    ids, nbytes, ws = heldout
    base = [exported["q0f32"].logits(w) for w in ws]
    got = [exported[quant].logits(w) for w in ws]
    top1 = float(np.mean(np.concatenate([a.argmax(-1) == b.argmax(-1) for a, b in zip(got, base)])))
    ppl_base = perplexity(exported["q0f32"].logits, ids, nbytes, WINDOW, MAX_WINDOWS).ppl
    ppl = perplexity(exported[quant].logits, ids, nbytes, WINDOW, MAX_WINDOWS).ppl
    print(f"{quant}: top-1 vs q0f32 {top1:.1%}, ppl {ppl:.3f} vs {ppl_base:.3f}")
    assert top1 >= 0.85
    assert abs(ppl / ppl_base - 1) < 0.15
