"""``phonelm-export mlc``: export a checkpoint as an MLC-LLM model directory (light imports only)."""
from __future__ import annotations

import inspect

import click

from phonelm_export.cli_options import (
    MODEL_HELP,
    allow_pickle_option,
    emit_json,
    force_option,
    json_option,
    model_argument,
    quiet_option,
    resolve_model,
)


def android_instructions(meta: dict) -> list[str]:
    """How to hand the archive to MLC's Android packaging (mlc_llm package -> mlc4j)."""
    entry = meta["mlc_package_entry"]
    lib = meta["libraries"]["android"]
    return [
        "MLC Android packaging: in your app's mlc-package-config.json (\"device\": \"android\") add",
        f"  to \"model_list\":  {_j(entry)}",
        f"  and to \"model_lib_path_for_prepare_libs\":  {_j({entry['model_lib']: lib})}",
        "then run `mlc_llm package` (needs the Android NDK and MLC_LLM_SOURCE_DIR); it links the archive",
        f"into mlc4j and checks the symbol {entry['model_lib']}___tvm_ffi__library_bin. Handing it the prebuilt",
        "archive matters: its own compile step runs in a subprocess that does not know the phonelm model type.",
    ]


def _j(obj) -> str:
    import json

    return json.dumps(obj)


@click.command("mlc")
@model_argument
@click.option("--quantization", "quantization", default="q4f16_1", show_default=True, metavar="Q",
              help="q0f32, q0f16, q4f16_1, q4f32_1 (a recipe in quant_recipes/mlc/) or a recipe .toml file.")
@click.option("-o", "--output", required=True, type=click.Path(), help="Output model directory (written atomically).")
@click.option("--device", "devices", multiple=True, type=click.Choice(["cpu", "android"]), default=("cpu",),
              show_default=True,
              help="Model library to compile: cpu (shared library for this machine; tests, chat, verify) or "
                   "android (OpenCL + aarch64 system-library .tar for mlc4j). Repeat for both.")
@click.option("--rope", type=click.Choice(["float", "int8"]), default="float", show_default=True,
              help="float: standard RoPE. int8: PhoneLM's runtime tables rounded to 1/127 (mllm numerics).")
@click.option("--context-window", type=int, default=None, help="Context window compiled in (default: the model's).")
@click.option("--prefill-chunk", type=int, default=None, help="Longest prefill per call (default: min(context, 2048)).")
@force_option
@allow_pickle_option
@quiet_option
@json_option
def mlc(model, quantization, output, devices, rope, context_window, prefill_chunk, force, allow_pickle, quiet, as_json):
    """Export PhoneLM for MLC-LLM: weights in MLC's format, mlc-chat-config.json, compiled model library.

    \b
    The output directory holds tensor-cache.json + params_shard_*.bin (MLC's quantization
    layouts), mlc-chat-config.json with PhoneLM's ChatML template and stop tokens, the
    tokenizer files, and the model library compiled with TVM: phonelm_<q>-cpu.so for this
    machine and/or phonelm_<q>-android.tar for MLC's Android packaging. Run it with
    `phonelm-export chat DIR`. Compiling takes about a minute for a tiny model on 2 cores.
    """
    from pathlib import Path

    from phonelm_export.backends import get_backend
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.progress import Progress
    from phonelm_export.recipes import load_recipe

    backend = get_backend("mlc")
    backend.check()
    recipe = load_recipe("mlc", quantization)
    backend.validate_recipe(recipe)
    ckpt = open_checkpoint(resolve_model(model), allow_pickle=allow_pickle)
    art = backend.export(
        ckpt, recipe, Path(output), force=force, progress=Progress(quiet=quiet or as_json), devices=devices,
        rope=rope, context_window_size=context_window, prefill_chunk_size=prefill_chunk,
    )
    summary = art.summary()
    if as_json:
        emit_json(summary)
        return
    m = art.meta
    click.echo(f"{art.path}  ({m['quantization']}, {m['bits_per_weight']:.2f} bits/weight, "
               f"{art.size_bytes() / 1e6:.1f} MB, rope {m['rope']}, context {m['context_window_size']})")
    for dev, lib in m["libraries"].items():
        click.echo(f"  {dev:8s} {lib}")
    if "cpu" in m["libraries"]:
        click.echo(f"  try it:  phonelm-export chat {art.path}")
    if "android" in m["libraries"]:
        for line in android_instructions(m):
            click.echo(line)


mlc.help = inspect.cleandoc(mlc.help or "") + "\n\n" + MODEL_HELP
COMMANDS = [mlc]
