"""The MLC backend computes PhoneLM: exported directories run in TVM's runtime and match PyTorch.

Each export compiles a real model library (LLVM, this CPU) once per session; the runner drives it
the way MLC's engine does (tensor-cache loader, paged KV cache, begin/end forward).

Tolerances, and why:
* q0f32 stores weights as bf16 on disk (MLC's format), so the reference gets the same
  bf16-rounded weights; what remains is float32 arithmetic order: max |Δlogit| < 1e-4 on logits
  with std ~4 (measured ~1e-5), top-1 100 %.
* q4f32_1 against the reference with the *decoded* 4-bit weights (and bf16 scales): the same
  1e-4, which pins the packing, the scale layout and the fused qkv/gate_up order exactly.
* q4f16_1 computes in float16: against the decoded-weight reference in float32, max |Δ| < 0.15
  (fp16 activations; measured ~0.03) and top-1 ≥ 95 %.
* On the trained bundled model, 4-bit top-1 against q0f32 is measured and must stay above a
  floor (90 %).
"""
from __future__ import annotations

import json
import tarfile

import numpy as np
import pytest
import torch

pytest.importorskip("tvm", reason="the mlc extra (apache-tvm) is not installed")

from phonelm_export.registry import get_backend  # noqa: E402
from phonelm_export.backends.mlc.chat_config import render_conversation  # noqa: E402
from phonelm_export.backends.mlc.quantization import SCHEMES, bf16_round, group_dequantize, group_quantize  # noqa: E402
from phonelm_export.checkpoint import open_checkpoint  # noqa: E402
from phonelm_export.progress import QUIET  # noqa: E402
from phonelm_export.recipes import load_recipe  # noqa: E402
from phonelm_export.reference import ReferenceRunner  # noqa: E402
from phonelm_export.tokenizer import render_chat  # noqa: E402

pytestmark = [pytest.mark.mlc, pytest.mark.slow]

BACKEND = get_backend("mlc")
IDS = [int(x) for x in np.random.default_rng(0).integers(3, 384, 40)]  # > prefill chunk (16): chunked


def _export(ckpt_path, tmp_path_factory, quant, *, rope="float", devices=("cpu",), ctx=128, chunk=16):
    out = tmp_path_factory.mktemp(f"mlc-{quant}-{rope}") / "model"
    art = BACKEND.export(open_checkpoint(ckpt_path), load_recipe("mlc", quant), out, progress=QUIET,
                         devices=devices, rope=rope, context_window_size=ctx, prefill_chunk_size=chunk)
    return art


def reference_with(ckpt_path, quant: str, rope: str = "float") -> ReferenceRunner:
    """The PyTorch reference holding exactly the weights MLC's runtime sees for ``quant``."""
    s = SCHEMES[quant]
    ckpt = open_checkpoint(ckpt_path)
    model = ckpt.reference_model(rope_mode=rope)
    with torch.no_grad():
        for _, p in model.named_parameters():
            w = p.numpy()
            if s.quantized and w.ndim == 2:
                codes, scale = group_quantize(w, s)
                if s.model_dtype == "float32":
                    scale = bf16_round(scale)  # f32 scales are stored as bf16 too
                w = group_dequantize(codes, scale, s)
            elif s.model_dtype == "float32":
                w = bf16_round(w)
            p.copy_(torch.from_numpy(np.asarray(w, dtype=np.float32)))
    return ReferenceRunner(model)


@pytest.fixture(scope="session")
def q0f32(random_checkpoint, tmp_path_factory):
    return _export(random_checkpoint, tmp_path_factory, "q0f32")


@pytest.fixture(scope="session")
def q0f32_runner(q0f32):
    r = BACKEND.load(q0f32.path)
    yield r
    r.close()


@pytest.fixture(scope="session")
def reference_q0f32(random_checkpoint):
    return reference_with(random_checkpoint, "q0f32")


# -- q0f32: exactness -----------------------------------------------------------------------


def test_q0f32_prefill_logits_match_the_reference(q0f32_runner, reference_q0f32):
    got, want = q0f32_runner.logits(IDS), reference_q0f32.logits(IDS)
    assert got.shape == want.shape == (len(IDS), 384) and got.dtype == np.float32
    assert want.std() > 1.0  # logits with a real spread, so top-1 means something
    assert np.abs(got - want).max() < 1e-4
    assert (got.argmax(-1) == want.argmax(-1)).all()


def test_q0f32_step_decode_through_the_paged_kv_cache_matches(q0f32_runner, reference_q0f32):
    got, want = q0f32_runner.decode_logits(IDS), reference_q0f32.logits(IDS)
    assert np.abs(got - want).max() < 1e-4
    assert (got.argmax(-1) == want.argmax(-1)).all()


def test_prefill_then_decode_continues_the_same_sequence(q0f32_runner, reference_q0f32):
    want = reference_q0f32.logits(IDS)
    q0f32_runner.reset()
    last = q0f32_runner.prefill(IDS[:30])  # two chunks of 16 through `prefill`
    assert np.abs(last - want[29]).max() < 1e-4
    for i in range(30, 40):
        row = q0f32_runner.prefill([IDS[i]])  # `decode`
        assert np.abs(row - want[i]).max() < 1e-4


def test_greedy_generation_equals_the_reference(q0f32_runner, reference_q0f32):
    prompt = IDS[:12]
    got = q0f32_runner.generate(prompt, max_new_tokens=12)
    want = reference_q0f32.generate(prompt, max_new_tokens=12)
    assert got == want and len(got) > 0


def test_streaming_generate_reports_every_token(q0f32_runner):
    seen = []
    out = q0f32_runner.generate(IDS[:5], max_new_tokens=6, on_token=seen.append)
    assert seen == out


def test_context_window_overflow_is_a_clear_error(q0f32_runner):
    from phonelm_export.errors import PhoneLMError

    with pytest.raises(PhoneLMError, match="exceed the compiled context window of 128"):
        q0f32_runner.logits(list(range(3, 3 + 129)))


# -- the artifacts MLC reads --------------------------------------------------------------


def test_library_metadata_lists_the_tensor_cache_parameters_in_order(q0f32, q0f32_runner):
    cache = json.loads((q0f32.path / "tensor-cache.json").read_text())
    names = [r["name"] for shard in cache["records"] for r in shard["records"]]
    meta = q0f32_runner.meta
    assert [p["name"] for p in meta["params"]] == names
    assert meta["model_type"] == "phonelm" and meta["quantization"] == "q0f32"
    assert meta["kv_cache"] == {"num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4, "head_dim": 16}
    assert "model.layers.0.self_attn.qkv_proj.weight" in names  # MLC's fused names
    assert "model.layers.1.mlp.gate_up_proj.weight" in names
    assert not any("lm_head" in n for n in names)  # tied to the embedding


def test_tensor_cache_records_are_what_mlcs_loader_expects(q0f32):
    import hashlib

    cache = json.loads((q0f32.path / "tensor-cache.json").read_text())
    assert set(cache["metadata"]) == {"ParamSize", "ParamBytes", "BitsPerParam"}
    for shard in cache["records"]:
        data = (q0f32.path / shard["dataPath"]).read_bytes()
        assert shard["format"] == "raw-shard" and shard["nbytes"] == len(data)
        assert shard["md5sum"] == hashlib.md5(data).hexdigest()
        for rec in shard["records"]:
            assert rec["dtype"] == "float32" and rec["format"] == "f32-to-bf16"  # MLC stores f32 as bf16
            assert rec["nbytes"] == 2 * int(np.prod(rec["shape"]))
            assert rec["byteOffset"] + rec["nbytes"] <= len(data)


def test_tensor_cache_decodes_to_the_checkpoint_weights(q0f32, random_checkpoint):
    import tvm
    from tvm.contrib.tvmjs import load_tensor_cache

    params, _ = load_tensor_cache(str(q0f32.path), tvm.cpu())
    ckpt = open_checkpoint(random_checkpoint)
    qkv = params["model.layers.1.self_attn.qkv_proj.weight"].numpy()
    want = torch.cat([ckpt.tensor(f"model.layers.1.self_attn.{x}_proj.weight") for x in "qkv"]).float().numpy()
    np.testing.assert_array_equal(qkv, bf16_round(want))
    emb = params["model.embed_tokens.weight"].numpy()
    np.testing.assert_array_equal(emb, bf16_round(ckpt.tensor("model.embed_tokens.weight").float().numpy()))


def test_chat_config_renders_phonelm_chatml_with_its_stop_tokens(q0f32):
    conf = json.loads((q0f32.path / "mlc-chat-config.json").read_text())
    assert conf["model_type"] == "phonelm" and conf["quantization"] == "q0f32"
    assert conf["context_window_size"] == 128 and conf["prefill_chunk_size"] == 16
    conv = conf["conv_template"]
    assert conv["stop_token_ids"] == [2, 0] and conv["system_prefix_token_ids"] is None  # no BOS
    for f in conf["tokenizer_files"]:
        assert (q0f32.path / f).is_file()
    assert "tokenizer.json" in conf["tokenizer_files"]
    msgs = [{"role": "user", "content": "Set an alarm for 7"}, {"role": "assistant", "content": "Done."},
            {"role": "user", "content": "and call Alice"}]
    assert render_conversation(conv, msgs) == render_chat(msgs)
    with_system = [{"role": "system", "content": "You are an expert in composing functions."}] + msgs[:1]
    assert render_conversation(conv, with_system) == render_chat(with_system)


def test_artifact_meta_reports_quantization_size_and_bits(q0f32):
    s = q0f32.summary(with_sha256=False)
    assert s["backend"] == "mlc" and s["quantization"] == "q0f32" and s["rope"] == "float"
    assert 15.9 < s["bits_per_weight"] < 16.1  # bf16 on disk
    assert s["size_bytes"] > s["weights_bytes"] > 0
    assert s["libraries"]["cpu"].endswith("phonelm_q0f32-cpu.so")
    assert (q0f32.path.stat().st_mode & 0o077) != 0  # not left private like a temp dir


def test_load_rejects_a_truncated_weight_shard(q0f32, tmp_path):
    import shutil

    from phonelm_export.errors import PhoneLMError

    broken = tmp_path / "broken"
    shutil.copytree(q0f32.path, broken)
    shard = broken / "params_shard_0.bin"
    shard.write_bytes(shard.read_bytes()[:1000])
    with pytest.raises(PhoneLMError, match="cannot load the MLC model"):
        BACKEND.load(broken)


def test_load_rejects_a_directory_without_its_cpu_library(q0f32, tmp_path):
    import shutil

    from phonelm_export.errors import PhoneLMError

    d = tmp_path / "nolib"
    shutil.copytree(q0f32.path, d)
    (d / "phonelm_q0f32-cpu.so").unlink()
    with pytest.raises(PhoneLMError, match="no CPU model library phonelm_q0f32-cpu.so"):
        BACKEND.load(d)


# -- int8 RoPE ------------------------------------------------------------------------------


def test_int8_rope_reproduces_phonelms_rounded_tables(random_checkpoint, tmp_path_factory, reference_q0f32):
    art = _export(random_checkpoint, tmp_path_factory, "q0f32", rope="int8")
    r = BACKEND.load(art.path)
    try:
        want = reference_with(random_checkpoint, "q0f32", rope="int8").logits(IDS)
        got = r.logits(IDS)
        assert np.abs(got - want).max() < 1e-4
        assert np.abs(r.decode_logits(IDS) - want).max() < 1e-4
        # and it is not float RoPE in disguise
        assert np.abs(got - reference_q0f32.logits(IDS)).max() > 1e-3
    finally:
        r.close()


# -- 4-bit layouts ----------------------------------------------------------------------------


def test_q4f32_1_runs_exactly_the_decoded_4bit_weights(random_checkpoint, tmp_path_factory):
    art = _export(random_checkpoint, tmp_path_factory, "q4f32_1")
    r = BACKEND.load(art.path)
    try:
        want = reference_with(random_checkpoint, "q4f32_1").logits(IDS)
        got = r.logits(IDS)
        assert np.abs(got - want).max() < 1e-4
        assert np.abs(r.decode_logits(IDS) - want).max() < 1e-4
        # 4 bits + a scale per 32 weights; f32 scales are stored as bf16, so 4.5 like q4f16_1 (+ norms)
        assert 4.45 < art.meta["bits_per_weight"] < 4.8
    finally:
        r.close()


def test_q4f16_1_runs_the_decoded_weights_in_float16(random_checkpoint, tmp_path_factory):
    art = _export(random_checkpoint, tmp_path_factory, "q4f16_1")
    r = BACKEND.load(art.path)
    try:
        want = reference_with(random_checkpoint, "q4f16_1").logits(IDS)
        got = r.logits(IDS)
        assert np.abs(got - want).max() < 0.15
        assert (got.argmax(-1) == want.argmax(-1)).mean() >= 0.95
        dec = r.decode_logits(IDS)
        assert np.abs(dec - want).max() < 0.15
        records = json.loads((art.path / "tensor-cache.json").read_text())["records"]
        kinds = {(rec["name"].rsplit(".", 1)[1], rec["dtype"]) for shard in records for rec in shard["records"]}
        assert kinds == {("q_weight", "uint32"), ("q_scale", "float16"), ("weight", "float16")}
    finally:
        r.close()


# -- Android ------------------------------------------------------------------------------------


def test_android_archive_holds_aarch64_objects_with_the_symbol_mlc_package_checks(random_checkpoint, tmp_path_factory):
    art = _export(random_checkpoint, tmp_path_factory, "q4f16_1", devices=("android",))
    tar_path = art.path / "phonelm_q4f16_1-android.tar"
    assert art.meta["libraries"] == {"android": str(tar_path)}
    assert art.meta["mlc_package_entry"]["model_lib"] == "phonelm_q4f16_1"
    with tarfile.open(tar_path) as tf:
        objects = {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.name.endswith(".o")}
    assert objects
    for blob in objects.values():
        assert blob[:4] == b"\x7fELF" and blob[4] == 2  # 64-bit ELF
        assert int.from_bytes(blob[18:20], "little") == 183  # e_machine EM_AARCH64
    # mlc_llm package looks for <model_lib>___tvm_ffi__library_bin in the linked archive
    assert any(b"phonelm_q4f16_1___tvm_ffi__library_bin\x00" in blob for blob in objects.values())
    # OpenCL kernels for the phone's GPU travel inside the device module
    assert any(b"__kernel" in blob or b"opencl" in blob.lower() for blob in objects.values())
