"""ExecuTorch .pte files compute PhoneLM: run in ExecuTorch's runtime against the PyTorch reference.

Exports are slow on 2 cores, so each (model, recipe) is exported once per session and
shared. Tolerances:

* fp32: max |Δlogit| < 1e-3. Same float32 math, only the kernels' summation order differs
  (XNNPACK GEMMs, ExecuTorch's custom SDPA); measured ~1e-5 on these models, whose logits
  have a standard deviation of a few units. Top-1 must agree at every position.
* decode (one token per call through the KV cache) must equal the full prefill forward to
  the same 1e-3: it is the same graph with T=1, and any cache or position bug moves logits
  by whole units, not by 1e-3.
* 8da4w (8-bit dynamic activations, 4-bit weights): top-1 agreement ≥ 90 % with the
  reference on the trained bundled model over held-out text of its domain, as the issue requires
  (measured 96 % on the 6-layer model; the earlier 3-layer one agreed 92 % here and only 86.5 % on
  out-of-domain English: a tiny model's ranking of tokens it never learned is fragile, and says
  little about the recipe).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from phonelm_export.checkpoint import open_checkpoint
from phonelm_export.recipes import load_recipe
from phonelm_export.reference import ReferenceRunner

pytestmark = [pytest.mark.executorch, pytest.mark.slow]

FP32_ATOL = 1e-3
MAX_SEQ = 96


@pytest.fixture(scope="session")
def backend():
    from phonelm_export.registry import get_backend

    b = get_backend("executorch")
    b.check()  # CI installs the extra: a missing one is a failure, not a skip
    return b


def _export(backend, tmp_path_factory, ckpt_path, recipe, **options):
    out = tmp_path_factory.mktemp(f"et-{recipe}") / f"model-{recipe}.pte"
    art = backend.export(open_checkpoint(ckpt_path), load_recipe("executorch", recipe), out, **options)
    return art


@pytest.fixture(scope="session")
def random_int8rope_cli(random_checkpoint, tmp_path_factory, backend):
    """The random model exported through the CLI (--json), fp32, PhoneLM's int8 RoPE tables."""
    from phonelm_export.cli import main

    out = tmp_path_factory.mktemp("et-cli") / "random.pte"
    res = CliRunner().invoke(
        main,
        ["executorch", str(random_checkpoint), "--recipe", "fp32", "--max-seq-len", str(MAX_SEQ),
         "--rope", "int8", "-o", str(out), "--json"],
    )
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout), out


@pytest.fixture(scope="session")
def bundled_fp32(bundled_checkpoint, tmp_path_factory, backend):
    return _export(backend, tmp_path_factory, bundled_checkpoint, "fp32", max_seq_len=256)


@pytest.fixture(scope="session")
def bundled_8da4w(bundled_checkpoint, tmp_path_factory, backend):
    return _export(backend, tmp_path_factory, bundled_checkpoint, "8da4w-g32", max_seq_len=256)


def _ids(tok, n: int) -> list[int]:
    text = (
        "Set an alarm for 7:30 tomorrow morning and call Alice at 555-0134. "
        "Send an email to bob@example.com about the meeting, then search the web for pizza near me."
    )
    ids = tok.encode(text * 4)
    return ids[:n]


def _chat_prompt(tok) -> str:
    return tok.render_chat([{"role": "user", "content": "Set an alarm for 7 am tomorrow"}], add_generation_prompt=True)


# --- the random model, through the CLI ---------------------------------------------------------

def test_cli_json_describes_the_export(random_int8rope_cli):
    summary, out = random_int8rope_cli
    assert summary["backend"] == "executorch" and summary["recipe"] == "fp32"
    assert summary["path"] == str(out) and out.is_file()
    assert summary["pte_bytes"] == out.stat().st_size > 0
    assert (out.parent / "tokenizer.json").is_file()
    assert {f["path"] for f in summary["files"]} == {str(out), str(out.parent / "tokenizer.json")}
    assert all(len(f["sha256"]) == 64 for f in summary["files"])
    assert summary["rope"] == "int8" and summary["max_seq_len"] == MAX_SEQ
    assert summary["quantization"]["linear"] == "fp32"


def test_program_carries_the_llm_runner_metadata(random_int8rope_cli, random_checkpoint, backend):
    _, out = random_int8rope_cli
    meta = backend.load(out).metadata()
    dims = open_checkpoint(random_checkpoint).dims
    assert meta["get_max_seq_len"] == MAX_SEQ and meta["get_max_context_len"] == MAX_SEQ
    assert meta["get_eos_ids"] == [2, 0]
    assert meta["get_bos_id"] == 1
    assert meta["get_vocab_size"] == dims.vocab_size
    assert meta["use_kv_cache"] is True and meta["enable_dynamic_shape"] is True
    assert meta["phonelm_rope_int8"] is True


def test_int8_rope_export_matches_the_int8_rope_reference(random_int8rope_cli, random_checkpoint, backend):
    _, out = random_int8rope_cli
    ckpt = open_checkpoint(random_checkpoint)
    ref = ReferenceRunner.from_checkpoint(ckpt, rope_mode="int8")
    runner = backend.load(out)
    ids = _ids(ref.tokenizer, 64)
    want, got = ref.logits(ids), runner.logits(ids)
    assert got.shape == want.shape == (len(ids), ckpt.dims.vocab_size)
    assert np.abs(got - want).max() < FP32_ATOL
    assert (got.argmax(-1) == want.argmax(-1)).all()
    # and it is really the int8 tables: the float-RoPE reference differs by far more than the tolerance
    float_ref = ReferenceRunner.from_checkpoint(ckpt, rope_mode="float").logits(ids)
    assert np.abs(got - float_ref).max() > 10 * np.abs(got - want).max()


def test_decode_through_the_kv_cache_equals_the_full_forward(random_int8rope_cli, backend):
    _, out = random_int8rope_cli
    runner = backend.load(out)
    ids = list(range(3, 3 + 40))
    full = runner.logits(ids)
    step = runner.decode_logits(ids)
    assert np.abs(full - step).max() < FP32_ATOL
    # a prompt split into chunks continues the cache at the right position
    runner.reset()
    runner.prefill(ids[:17])
    last = runner.prefill(ids[17:])
    assert np.abs(last - full[-1]).max() < FP32_ATOL


def test_context_overflow_is_a_clear_error(random_int8rope_cli, backend):
    from phonelm_export.errors import PhoneLMError

    _, out = random_int8rope_cli
    runner = backend.load(out)
    runner.prefill(list(range(3, 3 + MAX_SEQ)))
    with pytest.raises(PhoneLMError, match="exceed the program's context"):
        runner.prefill([5])


def test_a_pte_without_its_tokenizer_is_one_line(random_int8rope_cli, backend, tmp_path):
    import shutil

    from phonelm_export.errors import PhoneLMError

    _, out = random_int8rope_cli
    alone = tmp_path / "alone.pte"
    shutil.copy(out, alone)
    with pytest.raises(PhoneLMError, match="no tokenizer.json beside it"):
        backend.load(alone)
    assert backend.load(alone, tokenizer=out.parent / "tokenizer.json").tokenizer is not None


@pytest.fixture(scope="session")
def random_last_logits(random_checkpoint, tmp_path_factory, backend):
    """What an app ships: the prefill graph returns only the last position's logits."""
    return _export(backend, tmp_path_factory, random_checkpoint, "fp32", max_seq_len=MAX_SEQ, logits="last")


def test_last_logits_program_returns_the_reference_last_row(random_last_logits, random_checkpoint, backend):
    ref = ReferenceRunner.from_checkpoint(open_checkpoint(random_checkpoint))
    runner = backend.load(random_last_logits.path)
    assert random_last_logits.meta["logits"] == "last" and runner.full_logits is False
    ids = _ids(ref.tokenizer, 40)
    want = ref.logits(ids)
    runner.reset()
    row = runner.prefill(ids)  # one prefill call over the whole prompt
    assert row.shape == want[-1].shape
    assert np.abs(row - want[-1]).max() < FP32_ATOL
    # parity tools still get every position (through the cache, one token a call)
    got = runner.logits(ids)
    assert got.shape == want.shape and np.abs(got - want).max() < FP32_ATOL
    # and generation continues from the cache the prefill filled
    assert runner.generate(ids, max_new_tokens=8) == ref.generate(ids, max_new_tokens=8)


# --- the bundled, trained model ------------------------------------------------------------------

def test_bundled_fp32_prefill_matches_reference(bundled_fp32, bundled_checkpoint, backend):
    ckpt = open_checkpoint(bundled_checkpoint)
    ref = ReferenceRunner.from_checkpoint(ckpt)
    runner = backend.load(bundled_fp32.path)
    ids = ref.tokenizer.encode(_chat_prompt(ref.tokenizer)) + _ids(ref.tokenizer, 100)
    want, got = ref.logits(ids), runner.logits(ids)
    print(f"bundled fp32: max |dlogit| {np.abs(got - want).max():.2e} over {len(ids)} positions")
    assert np.abs(got - want).max() < FP32_ATOL
    assert (got.argmax(-1) == want.argmax(-1)).all()


def test_bundled_fp32_decode_matches_reference(bundled_fp32, bundled_checkpoint, backend):
    ckpt = open_checkpoint(bundled_checkpoint)
    ref = ReferenceRunner.from_checkpoint(ckpt)
    runner = backend.load(bundled_fp32.path)
    ids = ref.tokenizer.encode(_chat_prompt(ref.tokenizer))
    want, got = ref.logits(ids), runner.decode_logits(ids)
    assert np.abs(got - want).max() < FP32_ATOL
    assert (got.argmax(-1) == want.argmax(-1)).all()


def test_bundled_fp32_greedy_generation_equals_reference(bundled_fp32, bundled_checkpoint, backend):
    ckpt = open_checkpoint(bundled_checkpoint)
    ref = ReferenceRunner.from_checkpoint(ckpt)
    runner = backend.load(bundled_fp32.path)
    prompt = ref.tokenizer.encode(_chat_prompt(ref.tokenizer))
    streamed: list[int] = []
    got = runner.generate(prompt, max_new_tokens=40, on_token=streamed.append)
    assert got == ref.generate(prompt, max_new_tokens=40)
    assert streamed == got and len(got) > 0


def test_executorch_llm_runner_generates_the_reference_text(bundled_fp32, bundled_checkpoint):
    """ExecuTorch's own TextLLMRunner (Android LlmModule's core) with PhoneLM's tokenizer.json."""
    from phonelm_export.backends.executorch.runner import llm_runner_generate

    ckpt = open_checkpoint(bundled_checkpoint)
    ref = ReferenceRunner.from_checkpoint(ckpt)
    prompt = _chat_prompt(ref.tokenizer)
    ids = ref.tokenizer.encode(prompt)
    want_ids = ref.generate(ids, max_new_tokens=40)
    want = ref.tokenizer.decode(want_ids)
    text, stats = llm_runner_generate(bundled_fp32.path, prompt, max_new_tokens=40)
    assert stats["prompt_tokens"] == len(ids)  # its C++ tokenizer splits the prompt as ours does
    assert text == want
    assert len(want) > 0
    # and it stopped where the reference stopped: at <|im_end|> when the reply ended before the budget
    assert stats["stopped_at_eos"] == (len(want_ids) < 40)


def test_bundled_8da4w_top1_agreement(bundled_8da4w, bundled_fp32, bundled_checkpoint, backend):
    """Over the held-out text verify and the recipe table use (the model's own domain: calls and
    chat it never trained on), in 4 windows of 200 tokens. Measured 92.3 % over 2,040 tokens
    (quant_recipes/executorch/README.md)."""
    from phonelm_export.metrics import windows
    from phonelm_export.verify import heldout_text

    ckpt = open_checkpoint(bundled_checkpoint)
    ref = ReferenceRunner.from_checkpoint(ckpt)
    runner = backend.load(bundled_8da4w.path)
    ws = windows(ref.tokenizer.encode(heldout_text()), 200, 4)
    agree = np.concatenate([runner.logits(w).argmax(-1) == ref.logits(w).argmax(-1) for w in ws])
    print(f"bundled 8da4w-g32: top-1 agreement {agree.mean():.1%} over {agree.size} positions")
    assert agree.size >= 400 and agree.mean() >= 0.90
    # quantized and smaller: not silently an fp32 copy
    assert bundled_8da4w.meta["quantization"]["linear"] == "8da4w"
    assert bundled_8da4w.size_bytes() < bundled_fp32.size_bytes()


def test_bundled_8da4w_runs_in_the_llm_runner(bundled_8da4w, bundled_checkpoint):
    from phonelm_export.backends.executorch.runner import llm_runner_generate

    ckpt = open_checkpoint(bundled_checkpoint)
    tok = ckpt.tokenizer()
    text, stats = llm_runner_generate(bundled_8da4w.path, _chat_prompt(tok), max_new_tokens=16)
    assert stats["generated_tokens"] >= 1
    assert isinstance(text, str) and text


def test_bundled_8da4w_decode_equals_its_prefill(bundled_8da4w, backend):
    """Activations are quantized per token, so one-token decode computes what prefill computes."""
    runner = backend.load(bundled_8da4w.path)
    ids = runner.tokenizer.encode(_chat_prompt(runner.tokenizer))
    full, step = runner.logits(ids), runner.decode_logits(ids)
    assert (full.argmax(-1) == step.argmax(-1)).all()
    assert np.abs(full - step).max() < 1e-2


def test_chat_command_runs_the_pte(bundled_fp32, bundled_checkpoint):
    """`phonelm-export chat OUT.pte -p ...` answers through ExecuTorch what the reference answers."""
    from phonelm_export.cli import main

    ref = ReferenceRunner.from_checkpoint(open_checkpoint(bundled_checkpoint))
    question = "Set an alarm for 7 am tomorrow"
    ids = ref.tokenizer.encode(_chat_prompt(ref.tokenizer))
    want = ref.tokenizer.decode(ref.generate(ids, max_new_tokens=24))
    res = CliRunner().invoke(main, ["chat", str(bundled_fp32.path), "-p", question, "--max-new-tokens", "24"])
    assert res.exit_code == 0, res.output
    assert want.strip() and want.strip() in res.stdout
