"""``phonelm-export mlc``: export a checkpoint as an MLC-LLM model directory (light imports only)."""
from __future__ import annotations

import click

from phonelm_export.cli_options import export_options, model_command, run_export


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


def _describe(summary: dict, recipe) -> list[str]:
    lines = [f"{summary['path']}  ({summary['quantization']}, {summary['bits_per_weight']:.2f} bits/weight, "
             f"{summary['size_bytes'] / 1e6:.1f} MB, rope {summary['rope']}, context {summary['context_window_size']})"]
    lines += [f"  {dev:8s} {lib}" for dev, lib in summary["libraries"].items()]
    if "cpu" in summary["libraries"]:
        lines.append(f"  try it:  phonelm-export chat {summary['path']}")
    if "android" in summary["libraries"]:
        lines += android_instructions(summary)
    return lines


@model_command("mlc")
@export_options(recipe_help="q0f32, q0f16, q4f16_1, q4f32_1 (a recipe in quant_recipes/mlc/) or a recipe .toml file. "
                            "--quantization is the same option (MLC's own word for it).",
                default_recipe="q4f16_1", output_help="Output model directory (written atomically).",
                output_is_file=False, recipe_aliases=("--quantization",))
@click.option("--device", "devices", multiple=True, type=click.Choice(["cpu", "android"]), default=("cpu",),
              show_default=True,
              help="Model library to compile: cpu (shared library for this machine; tests, chat, verify) or "
                   "android (OpenCL + aarch64 system-library .tar for mlc4j). Repeat for both.")
@click.option("--rope", type=click.Choice(["float", "int8"]), default="float", show_default=True,
              help="float: standard RoPE. int8: PhoneLM's runtime tables rounded to 1/127 (mllm numerics).")
@click.option("--context-window", type=click.IntRange(min=1), default=None, help="Context window compiled in (default: the model's).")
@click.option("--prefill-chunk", type=click.IntRange(min=1), default=None, help="Longest prefill per call (default: min(context, 2048)).")
def mlc(model, recipe, output, force, as_json, quiet, allow_pickle, devices, rope, context_window, prefill_chunk):
    """Export PhoneLM for MLC-LLM: weights in MLC's format, mlc-chat-config.json, compiled model library.

    \b
    The output directory holds tensor-cache.json + params_shard_*.bin (MLC's quantization
    layouts), mlc-chat-config.json with PhoneLM's ChatML template and stop tokens, the
    tokenizer files, and the model library compiled with TVM: phonelm_<q>-cpu.so for this
    machine and/or phonelm_<q>-android.tar for MLC's Android packaging. Run it with
    `phonelm-export chat DIR`. Compiling takes about a minute for a tiny model on 2 cores.
    """
    run_export("mlc", model=model, recipe=recipe, output=output, force=force, as_json=as_json, quiet=quiet,
               allow_pickle=allow_pickle, describe=_describe,
               options=dict(devices=devices, rope=rope, context_window_size=context_window,
                            prefill_chunk_size=prefill_chunk))


COMMANDS = [mlc]
