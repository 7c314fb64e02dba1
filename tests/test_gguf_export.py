"""What a PhoneLM GGUF file contains, and how the exporter treats bad input.

These tests read files with gguf-py (no llama.cpp), except where a test says it runs one.
"""
from __future__ import annotations

import json
import os
import weakref

import numpy as np
import pytest
from click.testing import CliRunner

from phonelm_export.checkpoint import open_checkpoint
from phonelm_export.errors import OutputExistsError, PhoneLMError, RecipeError
from phonelm_export.progress import Progress
from phonelm_export.recipes import list_recipes, load_recipe, parse_recipe

pytestmark = pytest.mark.gguf


def _backend():
    from phonelm_export.backends.gguf import BACKEND

    return BACKEND


def _export(ckpt, recipe, out, encoding="compat", **kw):
    r = recipe if not isinstance(recipe, str) else load_recipe("gguf", recipe)
    return _backend().export(ckpt, r, out, progress=Progress(quiet=True), encoding=encoding, **kw)


@pytest.fixture(scope="module")
def ckpt(random_checkpoint):
    return open_checkpoint(random_checkpoint)


@pytest.fixture(scope="module")
def files(ckpt, tmp_path_factory):
    d = tmp_path_factory.mktemp("gguf-export")
    return {enc: _export(ckpt, "f32", d / f"{enc}.gguf", enc) for enc in ("compat", "native")}


def _reader(path):
    from gguf import GGUFReader

    return GGUFReader(str(path))


def _meta(path):
    from phonelm_export.backends.gguf.inspect import read_header

    return read_header(path, with_tokens=True).metadata


def test_compat_file_is_a_one_expert_smallthinker(files, ckpt):
    m = _meta(files["compat"].path)
    d = ckpt.dims
    assert m["general.architecture"] == "smallthinker"
    assert m["smallthinker.expert_count"] == 1
    assert m["smallthinker.expert_used_count"] == 1
    assert m["smallthinker.expert_feed_forward_length"] == d.intermediate_size
    assert m["smallthinker.expert_gating_func"] == 1  # softmax: one expert gets weight exactly 1.0
    assert not any("sliding_window" in k for k in m)  # would switch on SWA + NoPE layers
    assert m["smallthinker.block_count"] == d.num_hidden_layers
    assert m["smallthinker.rope.freq_base"] == pytest.approx(d.rope_theta)
    assert m["smallthinker.attention.layer_norm_rms_epsilon"] == pytest.approx(d.rms_norm_eps)


def test_compat_tensors_are_single_experts_with_a_zero_router(files, ckpt):
    d = ckpt.dims
    tensors = {t.name: t for t in _reader(files["compat"].path).tensors}
    assert "output.weight" not in tensors  # tied head
    for i in range(d.num_hidden_layers):
        router = tensors[f"blk.{i}.ffn_gate_inp.weight"]
        assert list(router.shape) == [d.hidden_size, 1]
        assert not np.any(np.asarray(router.data))
        assert list(tensors[f"blk.{i}.ffn_gate_exps.weight"].shape) == [d.hidden_size, d.intermediate_size, 1]
        assert list(tensors[f"blk.{i}.ffn_down_exps.weight"].shape) == [d.intermediate_size, d.hidden_size, 1]
        # NeoX RoPE: q is written exactly as stored (no llama-style row permutation)
        q = np.asarray(tensors[f"blk.{i}.attn_q.weight"].data).reshape(d.q_dim, d.hidden_size)
        assert np.array_equal(q, ckpt.tensor(f"model.layers.{i}.self_attn.q_proj.weight").float().numpy())


def test_native_file_is_a_dense_phonelm(files, ckpt):
    m = _meta(files["native"].path)
    names = {t.name for t in _reader(files["native"].path).tensors}
    assert m["general.architecture"] == "phonelm"
    assert "blk.0.ffn_gate.weight" in names and "blk.0.ffn_gate_inp.weight" not in names
    assert not any(k.startswith("phonelm.expert") for k in m)


@pytest.mark.parametrize("encoding", ["compat", "native"])
def test_tokenizer_and_chat_metadata(files, ckpt, encoding):
    m = _meta(files[encoding].path)
    tok = ckpt.tokenizer()
    assert m["tokenizer.ggml.model"] == "gpt2"
    assert m["tokenizer.ggml.pre"] == "smollm"
    assert m["tokenizer.ggml.add_bos_token"] is False
    assert m["tokenizer.ggml.eos_token_id"] == 2
    assert m["tokenizer.ggml.eot_token_id"] == 2
    assert m["tokenizer.ggml.tokens"][:3] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    assert len(m["tokenizer.ggml.tokens"]) == ckpt.dims.vocab_size
    assert all(t == 3 for t in m["tokenizer.ggml.token_type"][:17])  # CONTROL
    assert m["tokenizer.ggml.tokens"][tok.token_to_id("ĠAlice") or 300] == (tok.id_to_token(tok.token_to_id("ĠAlice") or 300))
    assert "<|im_start|>" in m["tokenizer.chat_template"]
    assert m["phonelm_export.encoding"] == encoding


def test_artifact_summary_reports_size_bits_types_and_hash(files):
    s = files["compat"].summary()
    assert s["size_bytes"] == files["compat"].path.stat().st_size
    assert len(s["files"][0]["sha256"]) == 64
    assert s["bits_per_weight"] == pytest.approx(32.0, abs=0.01)  # f32 everywhere
    assert s["type_counts"] == {"f32": len(s["tensor_types"])}
    assert s["encoding"] == "compat" and s["architecture"] == "smallthinker"


def test_tensors_are_streamed_one_at_a_time(ckpt, tmp_path, monkeypatch):
    """The writer never holds two pieces of checkpoint data: it reads weights with pread in row
    chunks (phonelm_export.pread_tensors), and each chunk is released before the next is read."""
    from phonelm_export.pread_tensors import SafetensorsReader

    live: list[weakref.ref] = []
    read: set[str] = set()
    most = 0
    original = SafetensorsReader.rows_f32

    def tracking(self, name, start, stop, row_size):
        nonlocal most
        chunk = original(self, name, start, stop, row_size)
        most = max(most, len([r for r in live if r() is not None]))
        live.append(weakref.ref(chunk))
        read.add(name)
        return chunk

    monkeypatch.setattr(SafetensorsReader, "rows_f32", tracking)
    _export(ckpt, "f16", tmp_path / "s.gguf")
    assert read == set(ckpt.tensor_names)  # every tensor read, from the file (not a memory map)
    assert most == 0  # no earlier chunk was still alive when the next was read


def test_every_bundled_recipe_is_valid_and_covers_the_families():
    names = list_recipes("gguf")
    families = {load_recipe("gguf", n).family for n in names}
    assert {"reference", "smallest", "balanced", "near-lossless"} <= families
    for n in names:
        _backend().validate_recipe(load_recipe("gguf", n))


def test_unknown_recipe_is_a_one_line_error():
    with pytest.raises(RecipeError, match="unknown gguf recipe 'q3_nonsense'"):
        load_recipe("gguf", "q3_nonsense")


def test_quant_type_llama_cpp_does_not_know_is_refused():
    r = parse_recipe('purpose = "x"\nfamily = "experimental"\nbase = "q4_z"\n', "bad", "gguf")
    with pytest.raises(RecipeError, match="unknown llama.cpp quantization type 'q4_z'"):
        _backend().validate_recipe(r)
    r = parse_recipe('purpose = "x"\nfamily = "experimental"\nbase = "q4_k_m"\n[types]\n"attn" = "q9_9"\n', "bad2", "gguf")
    with pytest.raises(RecipeError, match="unknown ggml tensor type 'q9_9'"):
        _backend().validate_recipe(r)


def test_existing_output_needs_force_and_is_left_untouched(ckpt, tmp_path):
    out = tmp_path / "m.gguf"
    out.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="--force"):
        _export(ckpt, "f16", out)
    assert out.read_bytes() == b"keep me"
    art = _backend().export(ckpt, load_recipe("gguf", "f16"), out, force=True, progress=Progress(quiet=True))
    assert art.path.read_bytes()[:4] == b"GGUF"


def test_a_failed_export_leaves_nothing_behind(ckpt, tmp_path, monkeypatch):
    from phonelm_export.pread_tensors import SafetensorsReader

    original = SafetensorsReader.rows_f32
    calls = {"n": 0}

    def failing(self, *args):
        calls["n"] += 1
        if calls["n"] == 5:
            raise PhoneLMError("disk on fire")
        return original(self, *args)

    monkeypatch.setattr(SafetensorsReader, "rows_f32", failing)
    with pytest.raises(PhoneLMError, match="disk on fire"):
        _export(ckpt, "balanced", tmp_path / "x.gguf")
    assert list(tmp_path.iterdir()) == []


def test_native_file_without_the_native_build_names_the_build_command(files, tmp_path, monkeypatch):
    monkeypatch.setenv("PHONELM_EXPORT_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(PhoneLMError, match="phonelm-export backends build-llama-cpp"):
        _backend().load(files["native"].path)


def test_not_a_gguf_and_foreign_gguf_are_refused_before_llama_cpp_sees_them(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf at all")
    with pytest.raises(PhoneLMError, match="not a readable GGUF"):
        _backend().load(bad)
    import gguf

    w = gguf.GGUFWriter(str(tmp_path / "st.gguf"), "smallthinker")  # no expert_gating_func
    w.add_tensor("x", np.zeros(4, dtype=np.float32))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    with pytest.raises(PhoneLMError, match="llama.cpp would abort"):
        _backend().load(tmp_path / "st.gguf")


def test_k_quant_fallbacks_are_reported_per_tensor(ckpt, tmp_path):
    """hidden 64: no row is a whole 256-block, so the recipe's incompatible rule applies to all."""
    art = _export(ckpt, "balanced", tmp_path / "b.gguf")
    fb = {f["tensor"]: f["written"] for f in art.meta["fallbacks"]}
    assert fb["blk.0.ffn_down_exps.weight"] == "q5_0"  # the recipe's incompatible = "q5_0"
    assert art.meta["tensor_types"]["token_embd.weight"] == "q8_0"  # the recipe's override
    assert all(art.meta["tensor_types"][n] == t for n, t in fb.items())


def test_importance_matrix_is_saved_and_reusable(ckpt, tmp_path):
    im = tmp_path / "calib.imatrix.gguf"
    calib = tmp_path / "calib.txt"
    calib.write_text("Set an alarm for 6:45.\n\nCall Bob at 555 0100 please.\n\ndef f(x):\n    return x * 2\n")
    a = _export(ckpt, "smallest", tmp_path / "a.gguf", calibration=str(calib), save_imatrix=str(im))
    from phonelm_export.backends.gguf.inspect import _field_value

    fields = _reader(im).fields
    assert _field_value(fields["general.type"]) == "imatrix"
    names = {t.name for t in _reader(im).tensors}
    assert "blk.0.ffn_down.weight.in_sum2" in names and "token_embd.weight.counts" in names
    b = _export(ckpt, "smallest", tmp_path / "b.gguf", imatrix=str(im))
    assert a.meta["imatrix"]["entries"] == b.meta["imatrix"]["entries"] > 0
    # the same statistics give the same quantized file contents
    ra, rb = _reader(a.path), _reader(b.path)
    for ta, tb in zip(ra.tensors, rb.tensors):
        assert np.array_equal(np.asarray(ta.data), np.asarray(tb.data)), ta.name


def test_cli_export_json_and_errors(random_checkpoint, tmp_path):
    from phonelm_export.cli import main

    out = tmp_path / "cli.gguf"
    r = CliRunner().invoke(main, ["gguf", str(random_checkpoint), "--recipe", "q8_0", "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["path"] == str(out.absolute()) or s["path"] == str(out)
    assert s["type_counts"]["q8_0"] > 0 and 8.0 < s["bits_per_weight"] < 9.5
    r = CliRunner().invoke(main, ["gguf", str(random_checkpoint), "--recipe", "q8_0", "-o", str(out)])
    assert r.exit_code == 2
    assert r.output.strip().splitlines()[-1].startswith("error: ") and "--force" in r.output
    r = CliRunner().invoke(main, ["gguf", str(random_checkpoint), "--recipe", "nope", "-o", str(tmp_path / "n.gguf")])
    assert r.exit_code == 2 and "unknown gguf recipe" in r.output
    assert not (tmp_path / "n.gguf").exists()


def test_cli_help_explains_the_encodings():
    from phonelm_export.cli import main

    r = CliRunner().invoke(main, ["gguf", "--help"])
    assert r.exit_code == 0
    assert "smallthinker" in r.output and "build-llama-cpp" in r.output
    r = CliRunner().invoke(main, ["backends", "build-llama-cpp", "--help"])
    assert r.exit_code == 0 and "-march=native" in r.output
