"""The GGUF backend's commands: ``gguf``, ``tune`` and ``backends build-llama-cpp``.

Only click and the shared option helpers are imported at module level, so ``--help`` stays fast
and a missing extra surfaces as the one-line MissingExtra hint.
"""
from __future__ import annotations

from pathlib import Path

import click

from phonelm_export.cli_options import (
    emit_json,
    export_options,
    force_option,
    json_option,
    model_argument,
    model_command,
    output_option,
    quiet_option,
    resolve_model,
    run_export,
    threads_option,
)

ENCODING_HELP = (
    "(--arch is the same option.) compat (default): architecture 'smallthinker' with one always-on "
    "expert, which stock llama.cpp and the apps built on it load (tested: llama-cpp-python 0.3.36 and "
    "Debian's llama.cpp 0.7.0), computing exactly what the reference computes. Prompt processing vs a "
    "dense graph depends on the type, because llama.cpp's CPU expert matmul multiplies one token at a "
    "time: f16, q8_0 0.7-1.0x; q4_k_m (balanced) about 0.8x; q4_0, iq4_nl (smallest) 0.3-0.7x; decode "
    "0.7-1.07x, within the benchmark's noise of dense (bench/RESULTS.md). native: architecture "
    "'phonelm', dense and as fast as Llama for every type, for llama.cpp built with our patch, which "
    "this builds once: phonelm-export backends build-llama-cpp"
)


def _describe(summary: dict, recipe) -> list[str]:
    lines = [
        f"wrote {summary['path']}",
        f"  encoding      {summary['encoding']} (architecture {summary['architecture']}; runs on {summary['runs_on']})",
        f"  recipe        {recipe.name}: {recipe.purpose}",
        f"  size          {summary['size_bytes'] / 1e6:.2f} MB, {summary['bits_per_weight']:.2f} bits/weight",
        "  tensor types  " + ", ".join(f"{k} x{v}" for k, v in summary["type_counts"].items()),
    ]
    if summary["fallbacks"]:
        lines.append(f"  fallbacks     {len(summary['fallbacks'])} tensor(s) with rows not a multiple of 256: "
                     + ", ".join(sorted({f['written'] for f in summary['fallbacks']})))
    if summary["imatrix"]:
        lines.append(f"  imatrix       {summary['imatrix']['entries']} tensors from {summary['imatrix']['source']}")
    lines.append(f"  sha256        {summary['files'][0]['sha256']}")
    return lines


@model_command("gguf")
@export_options(recipe_help="A recipe name from quant_recipes/gguf (f32, f16, q8_0, balanced, smallest, ...) or a .toml path.",
                default_recipe="balanced", output_required=False,
                output_help="Output .gguf file (default: <model>-<recipe>-<encoding>.gguf here).")
@click.option("--encoding", "--arch", "encoding", type=click.Choice(["compat", "native"]), default="compat",
              show_default=True, help=ENCODING_HELP)
@click.option("--imatrix", type=click.Path(exists=True, dir_okay=False), help="Use this importance matrix (llama.cpp imatrix GGUF) for quantization.")
@click.option("--calibration", type=click.Path(exists=True, dir_okay=False),
              help="Compute the importance matrix from this text (.txt, or .jsonl with text/messages) with the PyTorch reference.")
@click.option("--save-imatrix", type=click.Path(dir_okay=False), help="Keep the computed importance matrix in this file (reusable with --imatrix).")
@threads_option("Threads for llama.cpp's quantizer (default 2).")
def gguf(model, recipe, output, force, as_json, quiet, allow_pickle, encoding, imatrix, calibration, save_imatrix, threads):
    """Export a PhoneLM checkpoint to a GGUF file for llama.cpp, streamed and written atomically.

    The file carries PhoneLM's tokenizer (gpt2 BPE, pre-tokenizer smollm, no BOS), its ChatML
    template and end-of-generation ids. f32/f16/bf16/q8_0 recipes are written by gguf-py;
    other types go through llama.cpp's own quantizer, optionally with an importance matrix
    computed from calibration text. --json prints path, size, bits per weight, per-tensor types
    and sha256.
    """
    run_export(
        "gguf", model=model, recipe=recipe, output=output, force=force, as_json=as_json, quiet=quiet,
        allow_pickle=allow_pickle, describe=_describe,
        default_output=lambda ckpt, r: Path(f"{ckpt.path.name}-{r.name}-{encoding}.gguf"),
        options=dict(encoding=encoding, imatrix=imatrix, calibration=calibration, save_imatrix=save_imatrix,
                     threads=threads),
    )


@model_command("tune")
@model_argument
@click.option("--budget-bpw", type=float, required=True, help="Size budget in bits per weight (tensor data).")
@click.option("--ladder", default="q4_0,q5_0,q8_0,f16", show_default=True,
              help="Comma-separated types from cheapest to best that each tensor group may take.")
@click.option("--calibration", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Calibration text (default: generated held-out conversations).")
@click.option("--windows", default=4, show_default=True, help="Calibration windows of --window tokens.")
@click.option("--window", default=128, show_default=True)
@output_option("Recipe TOML to write.", required=True, path_type=Path)
@quiet_option
@force_option
@json_option
def tune(model, budget_bpw, ladder, calibration, windows, window, output, quiet, force, as_json):
    """Find per-tensor-group GGUF quantization types that minimize the measured KL divergence from
    the PyTorch reference on calibration text, within --budget-bpw; write the winner as a recipe.

    Each candidate is a real export run in llama.cpp (a few seconds each for small models; the
    search needs at most groups x ladder rungs exports per round). Use the result with
    `phonelm-export gguf --recipe OUT.toml`.
    """
    import tempfile

    from phonelm_export.atomic import atomic_output, check_output
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.metrics import windows as cut
    from phonelm_export.progress import Progress
    from phonelm_export.verify import heldout_text

    from .tune import recipe_toml, tune_gguf

    check_output(output, force)
    ckpt = open_checkpoint(resolve_model(model))
    tok = ckpt.tokenizer()
    text = calibration.read_text(encoding="utf-8") if calibration else heldout_text(seed=3)
    calib = cut(tok.encode(text), window, windows)
    rungs = [t.strip().lower() for t in ladder.split(",") if t.strip()]
    with tempfile.TemporaryDirectory(prefix="phonelm-tune-") as work:
        result = tune_gguf(ckpt, budget_bpw, calib, Path(work), ladder=rungs, progress=Progress(quiet=quiet or as_json))
    with atomic_output(output, force=force) as tmp:
        tmp.write_text(recipe_toml(result.best, budget_bpw, rungs))
    b = result.best
    summary = {"recipe": str(output), "assignment": b.assignment, "bits_per_weight": b.bits_per_weight, "kl": b.kl,
               "top1": b.top1, "trials": len(result.history)}
    if as_json:
        emit_json(summary)
    else:
        for g, t in b.assignment.items():
            click.echo(f"  {g:<12} {t}")
        click.echo(f"{output}: {b.bits_per_weight:.3f} bits/weight, KL {b.kl:.4g}, top-1 {b.top1:.2%} ({len(result.history)} trials)")


@click.command("build-llama-cpp")
@click.option("--force", is_flag=True, help="Rebuild even if a build for this patch and CPU is cached.")
@click.option("--jobs", type=int, default=None, help="Parallel compile jobs (default: all cores).")
@json_option
@quiet_option
def build_llama_cpp(force, jobs, as_json, quiet):
    """Build llama-cpp-python with the phonelm architecture patch, for --encoding native files.

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


COMMANDS = [gguf, tune]
BACKENDS_COMMANDS = [build_llama_cpp]
