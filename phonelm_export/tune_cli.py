"""``phonelm-export tune``: measured per-tensor type search under a size budget."""
from __future__ import annotations

from pathlib import Path

import click

from .cli_options import emit_json, force_option, json_option, model_argument, quiet_option, resolve_model


@click.command()
@model_argument
@click.option("--backend", type=click.Choice(["gguf"]), default="gguf", show_default=True,
              help="Backend whose per-tensor types are searched (GGUF: llama.cpp's quantizer).")
@click.option("--budget-bpw", type=float, required=True, help="Size budget in bits per weight (tensor data).")
@click.option("--ladder", default="q4_0,q5_0,q8_0,f16", show_default=True,
              help="Comma-separated types from cheapest to best that each tensor group may take.")
@click.option("--calibration", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Calibration text (default: generated held-out conversations).")
@click.option("--windows", default=4, show_default=True, help="Calibration windows of --window tokens.")
@click.option("--window", default=128, show_default=True)
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Recipe TOML to write.")
@quiet_option
@force_option
@json_option
def tune(model, backend, budget_bpw, ladder, calibration, windows, window, out, quiet, force, as_json):
    """Find per-tensor-group quantization types that minimize the measured KL divergence from the
    PyTorch reference on calibration text, within --budget-bpw; write the winner as a recipe.

    Each candidate is a real export run in the real runtime (a few seconds each for small models;
    the search needs at most groups x ladder rungs exports per round). Use the result with
    `phonelm-export gguf --recipe OUT.toml`.
    """
    import tempfile

    from .atomic import atomic_output, check_output
    from .checkpoint import open_checkpoint
    from .metrics import windows as cut
    from .progress import Progress
    from .tune import recipe_toml, tune_gguf
    from .verify import heldout_text

    check_output(out, force)
    ckpt = open_checkpoint(resolve_model(model))
    tok = ckpt.tokenizer()
    text = calibration.read_text(encoding="utf-8") if calibration else heldout_text(seed=3)
    calib = cut(tok.encode(text), window, windows)
    rungs = [t.strip().lower() for t in ladder.split(",") if t.strip()]
    with tempfile.TemporaryDirectory(prefix="phonelm-tune-") as work:
        result = tune_gguf(ckpt, budget_bpw, calib, Path(work), ladder=rungs, progress=Progress(quiet=quiet or as_json))
    with atomic_output(out, force=force) as tmp:
        tmp.write_text(recipe_toml(result.best, budget_bpw, rungs))
    b = result.best
    summary = {"recipe": str(out), "assignment": b.assignment, "bits_per_weight": b.bits_per_weight, "kl": b.kl,
               "top1": b.top1, "trials": len(result.history)}
    if as_json:
        emit_json(summary)
    else:
        for g, t in b.assignment.items():
            click.echo(f"  {g:<12} {t}")
        click.echo(f"{out}: {b.bits_per_weight:.3f} bits/weight, KL {b.kl:.4g}, top-1 {b.top1:.2%} ({len(result.history)} trials)")


COMMANDS = [tune]
