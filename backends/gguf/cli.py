"""``phonelm-export gguf`` and ``phonelm-export backends build-llama-cpp``.

Only click and the shared option helpers are imported at module level, so ``--help`` stays fast
and a missing extra surfaces as the one-line MissingExtra hint.
"""
from __future__ import annotations

import inspect

import click

from phonelm_export.backends_cli import backends
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

ARCH_HELP = (
    "compat (default): architecture 'smallthinker' with one always-on expert, which stock "
    "llama.cpp and the apps built on it load, computing exactly what the reference computes. "
    "Its cost vs a dense graph, measured on a 2-core CPU (bench/RESULTS.md): prompt processing "
    "about 0.7x (q4_0 and q8_0), because batched expert matmuls miss the dense fast paths; decode "
    "0.7-1.07x, within this benchmark's noise of the dense graph. "
    "native: architecture 'phonelm', dense and as fast as Llama, but only for llama.cpp built "
    "with our patch (phonelm-export backends build-llama-cpp)."
)


@click.command("gguf")
@model_argument
@click.option("--recipe", default="balanced", show_default=True,
              help="A recipe name from quant_recipes/gguf (f32, f16, q8_0, balanced, smallest, ...) or a .toml path.")
@click.option("--arch", "encoding", type=click.Choice(["compat", "native"]), default="compat", show_default=True, help=ARCH_HELP)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Output .gguf file (default: <model>-<recipe>-<arch>.gguf here).")
@click.option("--imatrix", type=click.Path(exists=True, dir_okay=False), help="Use this importance matrix (llama.cpp imatrix GGUF) for quantization.")
@click.option("--calibration", type=click.Path(exists=True, dir_okay=False),
              help="Compute the importance matrix from this text (.txt, or .jsonl with text/messages) with the PyTorch reference.")
@click.option("--save-imatrix", type=click.Path(dir_okay=False), help="Keep the computed importance matrix in this file (reusable with --imatrix).")
@click.option("--threads", type=int, default=None, help="Threads for llama.cpp's quantizer (default 2).")
@force_option
@json_option
@quiet_option
@allow_pickle_option
def gguf(model, recipe, encoding, output, imatrix, calibration, save_imatrix, threads, force, as_json, quiet, allow_pickle):
    """Export a PhoneLM checkpoint to a GGUF file for llama.cpp, streamed and written atomically.

    The file carries PhoneLM's tokenizer (gpt2 BPE, pre-tokenizer smollm, no BOS), its ChatML
    template and end-of-generation ids. f32/f16/bf16/q8_0 recipes are written by gguf-py;
    other types go through llama.cpp's own quantizer, optionally with an importance matrix
    computed from calibration text. --json prints path, size, bits per weight, per-tensor types
    and sha256.
    """
    from pathlib import Path

    from phonelm_export.backends import get_backend
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.progress import Progress
    from phonelm_export.recipes import load_recipe

    backend = get_backend("gguf")
    backend.check()
    r = load_recipe("gguf", recipe)
    backend.validate_recipe(r)
    ckpt = open_checkpoint(resolve_model(model), allow_pickle=allow_pickle)
    out = Path(output) if output else Path(f"{ckpt.path.name}-{r.name}-{encoding}.gguf")
    art = backend.export(
        ckpt, r, out, force=force, progress=Progress(quiet=quiet or as_json),
        encoding=encoding, imatrix=imatrix, calibration=calibration, save_imatrix=save_imatrix, threads=threads,
    )
    summary = art.summary()
    if as_json:
        emit_json(summary)
        return
    click.echo(f"wrote {summary['path']}")
    click.echo(f"  encoding      {summary['encoding']} (architecture {summary['architecture']}; runs on {summary['runs_on']})")
    click.echo(f"  recipe        {r.name}: {r.purpose}")
    click.echo(f"  size          {summary['size_bytes'] / 1e6:.2f} MB, {summary['bits_per_weight']:.2f} bits/weight")
    click.echo("  tensor types  " + ", ".join(f"{k} x{v}" for k, v in summary["type_counts"].items()))
    if summary["fallbacks"]:
        click.echo(f"  fallbacks     {len(summary['fallbacks'])} tensor(s) with rows not a multiple of 256: "
                   + ", ".join(sorted({f['written'] for f in summary['fallbacks']})))
    if summary["imatrix"]:
        click.echo(f"  imatrix       {summary['imatrix']['entries']} tensors from {summary['imatrix']['source']}")
    click.echo(f"  sha256        {summary['files'][0]['sha256']}")


gguf.help = inspect.cleandoc(gguf.help or "") + "\n\n" + MODEL_HELP


@click.command("build-llama-cpp")
@click.option("--force", is_flag=True, help="Rebuild even if a build for this patch and CPU is cached.")
@click.option("--jobs", type=int, default=None, help="Parallel compile jobs (default: all cores).")
@json_option
@quiet_option
def build_llama_cpp(force, jobs, as_json, quiet):
    """Build llama-cpp-python with the phonelm architecture patch, for --arch native files.

    Downloads the llama-cpp-python sdist from the package index, applies
    backends/gguf/patches/phonelm-arch.patch, compiles it (about 10 minutes on 2 cores) and
    installs it into a private cache directory keyed by the patch, the version and the CPU's
    flags (the build uses -march=native). The stock llama-cpp-python stays untouched: compat
    files keep running on stock llama.cpp, native files run in a worker process that imports
    the patched build. A second run is instant.
    """
    from phonelm_export.progress import Progress

    from .native import build

    info = build(force=force, jobs=jobs, progress=Progress(quiet=quiet or as_json))
    if as_json:
        emit_json(info)
        return
    click.echo(("cached: " if info["cached"] else "built: ") + info["site"])
    click.echo(f"  llama-cpp-python {info['llama_cpp_python']} + phonelm patch {info['patch_sha256'][:12]}")


backends.add_command(build_llama_cpp)

COMMANDS = [gguf]
