"""``phonelm-export mlc``: the command line, its JSON, and every bad input as one line with nothing left behind."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("tvm", reason="the mlc extra (apache-tvm) is not installed")

from phonelm_export.cli import main  # noqa: E402

pytestmark = pytest.mark.mlc


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def leftovers(parent):
    return sorted(p.name for p in parent.iterdir())


def test_help_explains_quantizations_devices_and_rope():
    r = run("mlc", "--help")
    assert r.exit_code == 0
    for word in ("q4f16_1", "q0f32", "android", "int8", "--force", "--json", "mlc-chat-config.json"):
        assert word in r.output


def test_existing_output_needs_force_and_is_left_untouched(random_checkpoint, tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    r = run("mlc", str(random_checkpoint), "--quantization", "q0f32", "-o", str(out))
    assert r.exit_code == 2
    assert r.output.strip().splitlines()[-1].startswith("error: ") and "--force" in r.output
    assert leftovers(out) == ["keep.txt"] and leftovers(tmp_path) == ["model"]


def test_unknown_quantization_is_one_line_and_writes_nothing(random_checkpoint, tmp_path):
    r = run("mlc", str(random_checkpoint), "--quantization", "q3f16_0", "-o", str(tmp_path / "m"))
    assert r.exit_code == 2
    assert r.output.count("\n") == 1 and "unknown mlc recipe 'q3f16_0'" in r.output
    assert leftovers(tmp_path) == []


def test_recipe_with_a_key_mlc_does_not_know_is_refused(random_checkpoint, tmp_path):
    bad = tmp_path / "odd.toml"
    bad.write_text('purpose = "x"\nfamily = "experimental"\nquantization = "q4f16_1"\ngroup_size = 64\n')
    r = run("mlc", str(random_checkpoint), "--quantization", str(bad), "-o", str(tmp_path / "m"))
    assert r.exit_code == 2 and "unknown key 'group_size' (known: " in r.output
    assert leftovers(tmp_path) == ["odd.toml"]


def test_4bit_groups_that_do_not_divide_the_width_are_refused_before_writing(tmp_path):
    from phonelm_export.random_model import make_random_checkpoint

    ckpt = make_random_checkpoint(tmp_path / "odd", hidden_size=48, intermediate_size=96, num_attention_heads=3, seed=3)
    r = run("mlc", str(ckpt), "--quantization", "q4f16_1", "-o", str(tmp_path / "m"))
    assert r.exit_code == 2 and "hidden_size 48 is not a multiple of it" in r.output
    assert "m" not in leftovers(tmp_path)


def test_a_context_window_beyond_the_models_positions_is_refused(random_checkpoint, tmp_path):
    r = run("mlc", str(random_checkpoint), "--quantization", "q0f32", "-o", str(tmp_path / "m"), "--context-window", "4096")
    assert r.exit_code == 2 and "exceeds the model's max_position_embeddings 512" in r.output
    assert leftovers(tmp_path) == []


def test_a_missing_checkpoint_is_one_line(tmp_path):
    r = run("mlc", str(tmp_path / "nope"), "-o", str(tmp_path / "m"))
    assert r.exit_code == 2 and r.output.startswith("error: ") and r.output.count("\n") == 1


def test_without_the_extra_the_command_names_the_pip_install(random_checkpoint, tmp_path):
    # simulate an installation without apache-tvm: importing tvm fails
    code = (
        "import sys; sys.modules['tvm'] = None; "
        "from phonelm_export.cli import main; "
        f"main(['mlc', {str(random_checkpoint)!r}, '-o', {str(tmp_path / 'm')!r}])"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr.strip() == (
        "error: the mlc backend needs the 'mlc' extra (tvm is not importable): pip install 'phonelm-export[mlc]'"
    )
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_json_export_of_q0f16_runs_in_float16_and_chats(random_checkpoint, tmp_path):
    import torch

    from phonelm_export.registry import get_backend
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.reference import ReferenceRunner

    out = tmp_path / "q0f16"
    r = run("mlc", str(random_checkpoint), "--quantization", "q0f16", "-o", str(out), "--context-window", "96",
            "--prefill-chunk", "32", "--json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["backend"] == "mlc" and s["quantization"] == "q0f16" and s["context_window_size"] == 96
    assert 15.9 < s["bits_per_weight"] < 16.1
    names = {f["path"].rsplit("/", 1)[1] for f in s["files"]}
    assert {"tensor-cache.json", "params_shard_0.bin", "mlc-chat-config.json", "tokenizer.json",
            "phonelm_q0f16-cpu.so"} <= names
    assert all(len(f["sha256"]) == 64 for f in s["files"])
    assert leftovers(tmp_path) == ["q0f16"]  # no temporary directory left beside it

    ids = [int(x) for x in np.random.default_rng(5).integers(3, 384, 24)]
    ckpt = open_checkpoint(random_checkpoint)
    model = ckpt.reference_model()
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.copy_(p.half().float())  # the weights q0f16 stores
    want = ReferenceRunner(model).logits(ids)
    runner = get_backend("mlc").load(out)
    try:
        got = runner.logits(ids)
        # float16 activations: a few hundredths on logits with std ~4
        assert np.abs(got - want).max() < 0.15
        assert (got.argmax(-1) == want.argmax(-1)).mean() >= 0.95
    finally:
        runner.close()

    chat = run("chat", str(out), "-p", "hello", "--max-new-tokens", "4")
    assert chat.exit_code == 0, chat.output

    again = run("mlc", str(random_checkpoint), "--quantization", "q0f16", "-o", str(out), "--json")
    assert again.exit_code == 2 and "--force" in again.output


def test_android_instructions_name_the_package_config_entries():
    from phonelm_export.backends.mlc.cli import android_instructions
    from phonelm_export.backends.mlc.export import package_entry

    out = "/models/phonelm-q4"
    meta = {
        "libraries": {"android": f"{out}/phonelm_q4f16_1-android.tar"},
        "mlc_package_entry": package_entry("phonelm_q4f16_1", Path(out)),
    }
    text = "\n".join(android_instructions(meta))
    entry = json.loads(text.split('"model_list":', 1)[1].splitlines()[0])
    assert entry == {"model": out, "model_id": "phonelm-q4", "model_lib": "phonelm_q4f16_1",
                     "estimated_vram_bytes": 0, "bundle_weight": True}
    libs = json.loads(text.split('"model_lib_path_for_prepare_libs":', 1)[1].splitlines()[0])
    assert libs == {"phonelm_q4f16_1": f"{out}/phonelm_q4f16_1-android.tar"}
    assert "phonelm_q4f16_1___tvm_ffi__library_bin" in text
