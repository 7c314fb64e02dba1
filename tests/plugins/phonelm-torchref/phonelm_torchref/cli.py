"""``phonelm-export torchref``: the plugin's export command, built from the shared helpers."""
from __future__ import annotations

from phonelm_export.cli_options import export_options, model_command, run_export


def _describe(summary: dict, recipe) -> list[str]:
    return [f"wrote {summary['path']} ({summary['dtype']}, {summary['size_bytes'] / 1e6:.2f} MB)"]


@model_command("torchref")
@export_options(recipe_help="fp32 or bf16.", default_recipe="fp32", output_help="Output directory.",
                output_is_file=False)
def torchref(model, recipe, output, force, as_json, quiet, allow_pickle):
    """Export PhoneLM as a checkpoint directory that PyTorch runs (a test backend)."""
    run_export("torchref", model=model, recipe=recipe, output=output, force=force, as_json=as_json, quiet=quiet,
               allow_pickle=allow_pickle, describe=_describe, options={})


COMMANDS = [torchref]
