"""The checkpoint reader: dims come from tensor shapes, and every bad input is one clear error."""
from __future__ import annotations

import json
import pickle
import shutil
import struct
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from phonelm_export.checkpoint import open_checkpoint
from phonelm_export.errors import CheckpointError


@pytest.fixture
def ckdir(random_checkpoint, tmp_path):
    d = tmp_path / "ck"
    shutil.copytree(random_checkpoint, d)
    return d


def edit_config(d, **changes):
    cfg = json.loads((d / "config.json").read_text())
    for k, v in changes.items():
        if v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    (d / "config.json").write_text(json.dumps(cfg))


def edit_weights(d, fn):
    sd = load_file(d / "model.safetensors")
    fn(sd)
    save_file(sd, d / "model.safetensors")


def refused(path, match, **kw):
    with pytest.raises(CheckpointError, match=match) as e:
        open_checkpoint(path, **kw)
    assert "\n" not in str(e.value), "errors are one line"
    return str(e.value)


# -- what a good checkpoint gives ----------------------------------------------------------

def test_dims_are_derived_from_shapes(ckdir):
    c = open_checkpoint(ckdir)
    d = c.dims
    assert (d.vocab_size, d.hidden_size, d.intermediate_size, d.num_hidden_layers) == (384, 64, 128, 2)
    assert (d.num_attention_heads, d.num_key_value_heads, d.head_dim) == (4, 4, 16)
    assert c.lm_head == "absent" and c.dtype == "float32"
    assert c.param_count() == sum(t.numel() for _, t in c.tensors())


def test_phonelm_reference_parameter_counts():
    """phonelm-facts §1: the published parameter counts follow from the published dims."""
    from phonelm_export.checkpoint import Dims

    big = Dims(49152, 2560, 6816, 19, 16, 16, 160)
    small = Dims(49152, 1024, 4864, 24, 16, 16, 64)
    assert big.param_count() == 1_618_593_280
    assert small.param_count() == 509_658_112


def test_tensors_stream_in_their_stored_dtype(ckdir):
    edit_weights(ckdir, lambda sd: sd.update({k: v.to(torch.bfloat16) for k, v in sd.items()}))
    c = open_checkpoint(ckdir)
    assert c.dtype == "bfloat16"
    name, t = next(c.tensors())
    assert t.dtype == torch.bfloat16
    assert c.reference_model(torch.float32)(torch.arange(5)[None]).logits.isfinite().all()


def test_float16_is_accepted(ckdir):
    edit_weights(ckdir, lambda sd: sd.update({k: v.half() for k, v in sd.items()}))
    assert open_checkpoint(ckdir).dtype == "float16"


def test_single_safetensors_file_with_config_beside_it(ckdir):
    assert open_checkpoint(ckdir / "model.safetensors").dims.hidden_size == 64


def test_sharded_checkpoint_with_index(ckdir):
    sd = load_file(ckdir / "model.safetensors")
    names = sorted(sd)
    half = len(names) // 2
    save_file({k: sd[k] for k in names[:half]}, ckdir / "model-00001-of-00002.safetensors")
    save_file({k: sd[k] for k in names[half:]}, ckdir / "model-00002-of-00002.safetensors")
    (ckdir / "model.safetensors").unlink()
    wm = {k: ("model-00001-of-00002.safetensors" if i < half else "model-00002-of-00002.safetensors") for i, k in enumerate(names)}
    (ckdir / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": wm}))
    c = open_checkpoint(ckdir)
    assert len(c.source_files) == 2 and len(list(c.tensors())) == len(names)


def test_transformers5_config_dialect_is_accepted(ckdir):
    edit_config(ckdir, rope_theta=None, torch_dtype=None, rope_parameters={"rope_theta": 5000.0, "rope_type": "default"}, dtype="float32")
    assert open_checkpoint(ckdir).dims.rope_theta == 5000.0


def test_lm_head_copy_equal_to_embedding_is_accepted_and_dropped(ckdir):
    edit_weights(ckdir, lambda sd: sd.update({"lm_head.weight": sd["model.embed_tokens.weight"].clone()}))
    c = open_checkpoint(ckdir)
    assert c.lm_head == "tied-copy" and "lm_head.weight" not in c.tensor_names
    assert any("dropped" in n for n in c.notes)


# -- bad inputs ----------------------------------------------------------------------------

def test_missing_directory(tmp_path):
    refused(tmp_path / "nope", "no such checkpoint")


def test_missing_config(ckdir):
    (ckdir / "config.json").unlink()
    refused(ckdir, "no config.json")


def test_config_not_json(ckdir):
    (ckdir / "config.json").write_text("{not json")
    refused(ckdir, "not valid JSON")


def test_missing_weights(ckdir):
    (ckdir / "model.safetensors").unlink()
    refused(ckdir, "no weights found")


def test_truncated_safetensors(ckdir):
    f = ckdir / "model.safetensors"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    refused(ckdir, "truncated safetensors")


def test_corrupt_safetensors_header(ckdir):
    f = ckdir / "model.safetensors"
    data = bytearray(f.read_bytes())
    data[8:40] = b"\xff" * 32
    f.write_bytes(bytes(data))
    refused(ckdir, "corrupt safetensors header")


def test_garbage_file(ckdir):
    (ckdir / "model.safetensors").write_bytes(b"\x00\x01garbage")
    refused(ckdir, "safetensors")


def test_the_05b_weights_with_15b_config_trap(ckdir):
    """An early PhoneLM-0.5B-Instruct shipped the 1.5B config.json: refuse, say which numbers clash."""
    edit_config(ckdir, hidden_size=2560, intermediate_size=6816, num_hidden_layers=19)
    msg = refused(ckdir, "contradicts the weights")
    assert "hidden_size=2560 but the tensors say 64" in msg


def test_heads_that_do_not_divide_the_projection(ckdir):
    edit_config(ckdir, num_attention_heads=5)
    refused(ckdir, "heads")


def test_silu_checkpoint_is_not_phonelm(ckdir):
    edit_config(ckdir, hidden_act="silu")
    refused(ckdir, "gated ReLU")


def test_unknown_model_type(ckdir):
    edit_config(ckdir, model_type="gpt2")
    refused(ckdir, "model_type 'gpt2'")


def test_missing_tensor(ckdir):
    edit_weights(ckdir, lambda sd: sd.pop("model.layers.1.mlp.up_proj.weight"))
    refused(ckdir, "missing tensor model.layers.1.mlp.up_proj.weight")


def test_extra_tensor(ckdir):
    edit_weights(ckdir, lambda sd: sd.update({"model.layers.0.self_attn.q_proj.bias": torch.zeros(64)}))
    refused(ckdir, "unexpected tensor model.layers.0.self_attn.q_proj.bias")


def test_wrong_shape(ckdir):
    edit_weights(ckdir, lambda sd: sd.update({"model.layers.1.mlp.down_proj.weight": torch.zeros(64, 100)}))
    refused(ckdir, r"down_proj.weight has shape \[64, 100\], expected \[64, 128\]")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(ckdir, bad):
    def poison(sd):
        sd["model.layers.0.mlp.gate_proj.weight"][3, 5] = bad

    edit_weights(ckdir, poison)
    refused(ckdir, "gate_proj.weight has 1 NaN/Inf")


def test_lm_head_different_from_embedding_is_refused(ckdir):
    edit_weights(ckdir, lambda sd: sd.update({"lm_head.weight": sd["model.embed_tokens.weight"] + 1}))
    refused(ckdir, "differs from model.embed_tokens.weight")


def test_untied_config_is_refused(ckdir):
    edit_config(ckdir, tie_word_embeddings=False)
    refused(ckdir, "ties its head")


def test_pickle_only_checkpoint_is_refused_by_default(ckdir):
    sd = load_file(ckdir / "model.safetensors")
    (ckdir / "model.safetensors").unlink()
    torch.save(sd, ckdir / "pytorch_model.bin")
    refused(ckdir, "--allow-pickle")
    c = open_checkpoint(ckdir, allow_pickle=True)
    assert c.dims.hidden_size == 64


def test_malicious_pickle_does_not_run_even_with_allow_pickle(ckdir, tmp_path):
    canary = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(canary), "w"))

    (ckdir / "model.safetensors").unlink()
    with open(ckdir / "pytorch_model.bin", "wb") as fh:
        pickle.dump({"model.embed_tokens.weight": Evil()}, fh)
    refused(ckdir, "weights_only=True", allow_pickle=True)
    assert not canary.exists()


def test_cli_prints_one_error_line_and_exits_2(ckdir):
    edit_config(ckdir, hidden_size=2560)
    p = subprocess.run([sys.executable, "-m", "phonelm_export", "info", str(ckdir)], capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and p.stderr.startswith("error: ")
    assert "Traceback" not in p.stderr


# -- the header reader never fails with anything but CheckpointError (property-based) ----------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2**64, 2**64) | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
_entry = st.fixed_dictionaries(
    {"dtype": st.sampled_from(["F32", "F16", "BF16", "I8", "Q4", 3]),
     "shape": st.lists(st.integers(-2, 40), max_size=3) | _json,
     "data_offsets": st.lists(st.integers(-8, 4000), min_size=0, max_size=3) | _json},
)
_headers = st.dictionaries(st.text(max_size=12), _entry | _json, max_size=4) | _json


def _write_raw(path, header_bytes: bytes, data: bytes) -> None:
    path.write_bytes(struct.pack("<Q", len(header_bytes)) + header_bytes + data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=_headers, data=st.binary(max_size=64))
def test_any_json_header_is_entries_or_a_checkpoint_error(tmp_path, header, data):
    from phonelm_export.checkpoint import read_safetensors_header

    p = tmp_path / "model.safetensors"
    _write_raw(p, json.dumps(header).encode(), data)
    try:
        entries = read_safetensors_header(p)
    except CheckpointError as e:
        assert "\n" not in str(e) and str(e).startswith(str(p))
        return
    for e in entries.values():  # what passed is consistent with the file
        assert 0 <= e.data_offsets[0] <= e.data_offsets[1] <= len(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_any_bytes_are_a_header_or_a_checkpoint_error(tmp_path, raw):
    from phonelm_export.checkpoint import read_safetensors_header

    p = tmp_path / "model.safetensors"
    p.write_bytes(raw)
    try:
        read_safetensors_header(p)
    except CheckpointError:
        pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.integers(0, 10_000), noise=st.binary(min_size=1, max_size=16))
def test_a_corrupted_checkpoint_opens_or_is_a_checkpoint_error(random_checkpoint, tmp_path_factory, at, noise):
    """Bytes overwritten anywhere in the header and the first tensors of a real file."""
    d = tmp_path_factory.mktemp("corrupt")
    shutil.copytree(random_checkpoint, d / "ck")
    p = d / "ck" / "model.safetensors"
    raw = bytearray(p.read_bytes())
    at = at % len(raw)
    raw[at:at + len(noise)] = noise
    p.write_bytes(bytes(raw))
    try:
        open_checkpoint(d / "ck")
    except CheckpointError:
        pass
    finally:
        shutil.rmtree(d)


_CONFIG_KEYS = ["max_position_embeddings", "rms_norm_eps", "rope_theta", "rope_scaling", "rope_parameters",
                "num_attention_heads", "head_dim", "hidden_size", "vocab_size", "eos_token_id", "bos_token_id",
                "hidden_act", "model_type", "tie_word_embeddings", "attention_bias", "torch_dtype", "_name_or_path"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(_CONFIG_KEYS), _json, max_size=4))
def test_any_config_values_open_or_are_one_checkpoint_error(random_checkpoint, tmp_path_factory, changes):
    """config.json values of any JSON type (both dialects' keys): a checkpoint, or one line naming config.json."""
    d = tmp_path_factory.mktemp("cfg")
    shutil.copytree(random_checkpoint, d / "ck")
    edit_config(d / "ck", **{k: v for k, v in changes.items() if v is not None})
    cfg = json.loads((d / "ck" / "config.json").read_text())
    cfg.update({k: None for k, v in changes.items() if v is None})  # explicit nulls too
    (d / "ck" / "config.json").write_text(json.dumps(cfg))
    try:
        c = open_checkpoint(d / "ck", check_finite=False)
        assert c.dims.max_position_embeddings >= 1 and c.dims.rms_norm_eps > 0
    except CheckpointError as e:
        assert "\n" not in str(e)
    finally:
        shutil.rmtree(d)
