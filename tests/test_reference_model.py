"""The PyTorch reference computes PhoneLM exactly as phonelm-facts §3 defines it."""
from __future__ import annotations

import json
import math

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

import phonelm_export  # noqa: F401  (registers model_type "phonelm")
from phonelm_export.checkpoint import open_checkpoint
from phonelm_export.model import PhoneLMConfig, PhoneLMForCausalLM, int8_round


def independent_phonelm_forward(sd: dict, cfg: dict, ids: torch.Tensor, int8_rope: bool = False) -> torch.Tensor:
    """PhoneLM written from the spec alone, in float64: gated ReLU, tied head, rotate-half RoPE."""
    sd = {k: v.double() for k, v in sd.items()}
    H, n_heads, eps, theta = cfg["hidden_size"], cfg["num_attention_heads"], cfg["rms_norm_eps"], cfg["rope_theta"]
    hd = H // n_heads
    T = ids.shape[0]

    def rms(x, w):
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w

    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
    if int8_rope:
        cos, sin = int8_round(cos), int8_round(sin)

    def rope(x):  # x [heads, T, hd]; rotate-half (NeoX) layout
        x1, x2 = x[..., : hd // 2], x[..., hd // 2 :]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    h = sd["model.embed_tokens.weight"][ids]
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = rms(h, sd[p + "input_layernorm.weight"])
        q = (x @ sd[p + "self_attn.q_proj.weight"].T).view(T, n_heads, hd).transpose(0, 1)
        k = (x @ sd[p + "self_attn.k_proj.weight"].T).view(T, n_heads, hd).transpose(0, 1)
        v = (x @ sd[p + "self_attn.v_proj.weight"].T).view(T, n_heads, hd).transpose(0, 1)
        att = torch.softmax(rope(q) @ rope(k).transpose(1, 2) / math.sqrt(hd) + mask, -1) @ v
        h = h + att.transpose(0, 1).reshape(T, H) @ sd[p + "self_attn.o_proj.weight"].T
        x = rms(h, sd[p + "post_attention_layernorm.weight"])
        ffn = torch.relu(x @ sd[p + "mlp.gate_proj.weight"].T) * (x @ sd[p + "mlp.up_proj.weight"].T)
        h = h + ffn @ sd[p + "mlp.down_proj.weight"].T
    return rms(h, sd["model.norm.weight"]) @ sd["model.embed_tokens.weight"].T


@pytest.fixture(scope="module")
def ckpt(random_checkpoint):
    return open_checkpoint(random_checkpoint)


def _weights(ckpt):
    return {n: t for n, t in ckpt.tensors()}


def test_reference_equals_an_independent_phonelm_forward_to_fp32_roundoff(ckpt):
    cfg = json.loads((ckpt.path / "config.json").read_text())
    ids = torch.randint(0, ckpt.dims.vocab_size, (24,), generator=torch.Generator().manual_seed(0))
    want = independent_phonelm_forward(_weights(ckpt), cfg, ids)
    got = ckpt.reference_model()(ids[None]).logits[0].double()
    # fp32 vs fp64 over 2 layers on logits of std ~4: round-off is ~1e-6 relative
    assert (got - want).abs().max().item() < 1e-4
    assert torch.equal(got.argmax(-1), want.argmax(-1))


def test_the_ffn_is_gated_relu_not_silu(ckpt):
    """Swapping the activation to SiLU (what stock Llama computes) must change the output."""
    cfg = json.loads((ckpt.path / "config.json").read_text())
    ids = torch.arange(16)
    ref = ckpt.reference_model()(ids[None]).logits[0].double()
    model = ckpt.reference_model()
    for layer in model.model.layers:
        layer.mlp.act_fn = torch.nn.SiLU()
    silu = model(ids[None]).logits[0].double()
    assert (silu - ref).abs().max().item() > 0.1
    assert (ref - independent_phonelm_forward(_weights(ckpt), cfg, ids)).abs().max().item() < 1e-4


def test_head_is_tied_to_the_embedding(ckpt):
    model = ckpt.reference_model()
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()


def test_int8_rope_reproduces_mllm_rounded_tables(ckpt):
    cfg = json.loads((ckpt.path / "config.json").read_text())
    ids = torch.arange(20)
    model = ckpt.reference_model(rope_mode="int8")
    got = model(ids[None]).logits[0].double()
    want = independent_phonelm_forward(_weights(ckpt), cfg, ids, int8_rope=True)
    assert (got - want).abs().max().item() < 1e-4
    # and it is a different function from float RoPE, by a small amount
    delta = (got - ckpt.reference_model()(ids[None]).logits[0].double()).abs().max().item()
    assert 1e-5 < delta < 0.5


def test_kv_cache_decode_equals_full_forward(ckpt):
    from phonelm_export.reference import ReferenceRunner

    r = ReferenceRunner(ckpt.reference_model())
    ids = list(range(3, 30))
    full, step = r.logits(ids), r.decode_logits(ids)
    assert abs(full - step).max() < 1e-4


def test_phonelm_config_rejects_unknown_rope_mode():
    with pytest.raises(Exception, match="rope_mode must be one of"):
        PhoneLMConfig(hidden_size=64, num_attention_heads=4, rope_mode="fp8")


def test_real_phonelm_layout_loads_with_auto_classes_without_running_remote_code(random_checkpoint, tmp_path):
    """A PhoneLM directory whose config has auto_map and ships modeling_phonelm.py loads with
    AutoModelForCausalLM and no trust_remote_code, and none of its Python files runs."""
    import shutil

    d = tmp_path / "PhoneLM-like"
    shutil.copytree(random_checkpoint, d)
    canary = tmp_path / "remote-code-ran"
    bomb = f"open({str(canary)!r}, 'w').write('ran')\nraise SystemExit('remote code executed')\n"
    (d / "modeling_phonelm.py").write_text(bomb)
    (d / "configuration_phonelm.py").write_text(bomb)
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["auto_map"]["AutoModelForCausalLM"] == "modeling_phonelm.PhoneLMForCausalLM"

    config = AutoConfig.from_pretrained(d)
    model = AutoModelForCausalLM.from_pretrained(d)
    assert isinstance(config, PhoneLMConfig) and isinstance(model, PhoneLMForCausalLM)
    assert config.hidden_act == "relu" and config.tie_word_embeddings
    assert not canary.exists()
    ids = torch.arange(10)[None]
    want = open_checkpoint(d).reference_model()(ids).logits
    assert torch.allclose(model(ids).logits, want, atol=1e-5)


def test_import_registers_without_paying_for_torch_until_transformers_loads(random_checkpoint, tmp_path):
    """`import phonelm_export` alone stays cheap (the CLI's --help needs no torch); the
    registration happens when transformers is imported, in either order."""
    import shutil
    import subprocess
    import sys

    d = tmp_path / "PhoneLM-like"
    shutil.copytree(random_checkpoint, d)
    (d / "modeling_phonelm.py").write_text("raise SystemExit('remote code executed')\n")
    code = (
        "import sys, phonelm_export\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
        "from transformers import AutoModelForCausalLM\n"
        f"m = AutoModelForCausalLM.from_pretrained({str(d)!r})\n"
        "print(type(m).__name__)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "PhoneLMForCausalLM"
    for first in ("transformers, phonelm_export", "phonelm_export.checkpoint, transformers"):
        code_after = f"import {first}\nprint(type(transformers.AutoConfig.from_pretrained({str(d)!r})).__name__)\n"
        r = subprocess.run([sys.executable, "-c", code_after], capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.strip() == "PhoneLMConfig", (first, r.stderr[-2000:])
