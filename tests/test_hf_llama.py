"""`phonelm-export hf-llama` writes a stock transformers Llama that computes PhoneLM exactly.

Tolerance: 1e-5 on logits. Stock ``LlamaForCausalLM`` with ``hidden_act="relu"`` runs the very
code our reference runs (PhoneLMForCausalLM subclasses it) on the very same float32 weights,
so any difference beyond float noise means a dimension, the activation, the RoPE base or the
tie was read differently, and those move logits by whole units.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from phonelm_export.checkpoint import open_checkpoint
from phonelm_export.random_model import SAMPLE_TEXT, make_random_checkpoint
from phonelm_export.reference import ReferenceRunner

ATOL = 1e-5


def _hf_llama(src, out, *args):
    from phonelm_export.cli import main

    return CliRunner().invoke(main, ["hf-llama", *([str(src)] if src else []), "-o", str(out), *args])


@pytest.fixture(scope="module")
def bundled_llama(bundled_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("hf-llama") / "bundled-llama"
    res = _hf_llama(None, out, "--json")  # no MODEL: the bundled one, like every command
    assert res.exit_code == 0, res.output
    return out, json.loads(res.stdout)


def _stock_llama(path):
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(path, dtype=torch.float32)
    return model.eval()


@torch.no_grad()
def _logits(model, ids):
    return model(torch.tensor([ids]), use_cache=False).logits[0].numpy()


def test_config_is_plain_llama_with_relu(bundled_llama, bundled_checkpoint):
    out, summary = bundled_llama
    cfg = json.loads((out / "config.json").read_text())
    d = open_checkpoint(bundled_checkpoint).dims
    assert cfg["model_type"] == "llama" and cfg["architectures"] == ["LlamaForCausalLM"]
    assert cfg["hidden_act"] == "relu" and cfg["tie_word_embeddings"] is True
    assert "auto_map" not in cfg  # nothing for transformers to import
    for key, value in d.to_dict().items():
        assert cfg[key] == value, key
    # both RoPE dialects: 4.x reads rope_theta, 5.x rope_parameters
    assert cfg["rope_parameters"] == {"rope_type": "default", "rope_theta": d.rope_theta}
    assert summary["path"] == str(out) and summary["tensors"] == len(open_checkpoint(bundled_checkpoint).tensor_names)


def test_weights_are_the_same_tensors_with_their_dtypes(bundled_llama, bundled_checkpoint):
    from safetensors import safe_open

    out, summary = bundled_llama
    src = open_checkpoint(bundled_checkpoint)
    with safe_open(str(out / "model.safetensors"), framework="pt") as f:
        assert sorted(f.keys()) == sorted(src.tensor_names)  # no lm_head: tied
        for name in src.tensor_names:
            got, want = f.get_tensor(name), src.tensor(name)
            assert got.dtype == want.dtype and torch.equal(got, want), name
    assert summary["weights_bytes"] == (out / "model.safetensors").stat().st_size
    # and our own reader accepts the copy as the same model
    assert open_checkpoint(out).dims == src.dims


def test_tokenizer_and_generation_files_travel_unchanged(bundled_llama, bundled_checkpoint):
    out, summary = bundled_llama
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "README.md"):
        assert (out / name).read_bytes() == (bundled_checkpoint / name).read_bytes(), name
        assert name in summary["copied"]
    assert not (out / "training_log.json").exists()  # the copy is a model, not a training run


def test_stock_llama_computes_the_phonelm_reference(bundled_llama, bundled_checkpoint):
    out, _ = bundled_llama
    ref = ReferenceRunner.from_checkpoint(open_checkpoint(bundled_checkpoint))
    model = _stock_llama(out)
    assert type(model).__name__ == "LlamaForCausalLM" and model.config.hidden_act == "relu"
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()  # tied
    ids = ref.tokenizer.encode(SAMPLE_TEXT)
    want, got = ref.logits(ids), _logits(model, ids)
    diff = np.abs(got - want).max()
    print(f"bundled: stock Llama vs PhoneLM reference max |dlogit| {diff:.2e} over {len(ids)} positions")
    assert got.shape == want.shape and diff <= ATOL
    # a silu Llama with the same weights is far off: the relu line is what makes it PhoneLM
    from transformers import LlamaForCausalLM

    silu = LlamaForCausalLM.from_pretrained(out, dtype=torch.float32, hidden_act="silu").eval()
    assert np.abs(_logits(silu, ids) - want).max() > 1000 * ATOL


def test_gqa_and_a_non_default_rope_base_survive(tmp_path):
    """The bundled model has MHA and theta 10000 (the default): a wrong head count or a RoPE base
    transformers did not read would go unnoticed there."""
    src = make_random_checkpoint(tmp_path / "src", num_attention_heads=4, num_key_value_heads=2,
                                 rope_theta=50000.0, seed=3)
    res = _hf_llama(src, tmp_path / "llama")
    assert res.exit_code == 0, res.output
    model = _stock_llama(tmp_path / "llama")
    assert model.config.num_key_value_heads == 2
    ref = ReferenceRunner.from_checkpoint(open_checkpoint(src))
    ids = list(range(5, 5 + 96))
    want = ref.logits(ids)
    assert np.abs(_logits(model, ids) - want).max() <= ATOL
    # theta matters at these positions: the same weights with the default base are far off
    default = make_random_checkpoint(tmp_path / "default", num_attention_heads=4, num_key_value_heads=2, seed=3)
    assert np.abs(ReferenceRunner.from_checkpoint(open_checkpoint(default)).logits(ids) - want).max() > 1000 * ATOL


def test_existing_output_needs_force(bundled_llama, tmp_path):
    out = tmp_path / "out"
    assert _hf_llama(None, out).exit_code == 0
    before = (out / "config.json").stat().st_mtime_ns
    res = _hf_llama(None, out)
    assert res.exit_code == 2 and "exists; pass --force" in res.output
    assert (out / "config.json").stat().st_mtime_ns == before  # untouched
    res = _hf_llama(None, out, "--force")
    assert res.exit_code == 0, res.output
    assert open_checkpoint(out).dims == open_checkpoint(bundled_llama[0]).dims
    # a directory of someone else's files is never replaced, not even with --force
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep").write_text("mine")
    res = _hf_llama(None, foreign, "--force")
    assert res.exit_code == 2 and res.output.startswith("error: ")
    assert (foreign / "keep").read_text() == "mine"


def test_a_broken_checkpoint_is_one_line_and_leaves_nothing(bundled_checkpoint, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(bundled_checkpoint, bad)
    w = bad / "model.safetensors"
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    res = _hf_llama(bad, tmp_path / "out")
    assert res.exit_code == 2
    assert res.output.startswith("error: ") and "truncated" in res.output and res.output.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]  # no output, no temporary litter
