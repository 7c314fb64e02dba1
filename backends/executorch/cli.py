"""``phonelm-export executorch``: export a PhoneLM checkpoint to an ExecuTorch ``.pte``.

Only click and the shared option helpers are imported here; ExecuTorch is imported when the
command runs, so ``--help`` is fast and a missing extra is the one-line install hint.
"""
from __future__ import annotations

import click

from phonelm_export.cli_options import export_options, model_command, run_export


def _describe(summary: dict, recipe) -> list[str]:
    q = summary["quantization"]
    return [
        f"wrote {summary['path']} ({summary['pte_bytes'] / 1e6:.2f} MB) and {summary['tokenizer']}",
        f"  recipe        {recipe.name}: {recipe.purpose}",
        f"  quantization  linear {q['linear']}, lm_head {q['lm_head']}, embedding {q['embedding']}, group {q['group_size'] or 'per-channel'}",
        f"  context       {summary['max_seq_len']} tokens, rope {summary['rope']}, logits {summary['logits']}",
        f"  took          {summary['export_seconds']} s, peak RSS {summary['peak_rss_bytes'] / 2**30:.2f} GiB",
    ]


@model_command("executorch")
@export_options(recipe_help="A recipe from quant_recipes/executorch (fp32, 8da8w, 8da4w-g32, 8da4w-g128) or a .toml path.",
                default_recipe="8da4w-g32", output_help="Output .pte file; tokenizer.json is written beside it.")
@click.option("--max-seq-len", type=click.IntRange(min=2), default=None,
              help="KV-cache size = longest prompt + reply, and the longest chunk one call takes "
                   "(default: the model's max_position_embeddings).")
@click.option("--rope", type=click.Choice(["float", "int8"]), default="float", show_default=True,
              help="float: exact RoPE, what other runtimes compute. int8: PhoneLM's own rounded tables (mllm numerics).")
@click.option("--logits", type=click.Choice(["all", "last"]), default="all", show_default=True,
              help="all: a prefill call returns every position's logits (parity, perplexity). "
                   "last: only the last one, skipping the head for the rest of the prompt (faster prefill).")
def executorch(model, recipe, output, force, as_json, quiet, allow_pickle, max_seq_len, rope, logits):
    """Export PhoneLM to an ExecuTorch program for the XNNPACK CPU backend.

    The program has a static KV cache: forward(tokens[1, T], input_pos[1]) takes a prompt
    chunk or one decode token at an explicit position. It carries the metadata ExecuTorch's
    LLM runner reads (max sequence length, eos ids 2 and 0, KV cache, dynamic shapes), so
    Android's LlmModule and ExecuTorch's llama runner load OUT.pte with the tokenizer.json
    written beside it. Lowering takes minutes for real model sizes. Run the result with
    `phonelm-export chat OUT.pte`.
    """
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.cli_options import resolve_model

    if max_seq_len is None:
        max_seq_len = open_checkpoint(resolve_model(model), allow_pickle=allow_pickle).dims.max_position_embeddings
    run_export("executorch", model=model, recipe=recipe, output=output, force=force, as_json=as_json, quiet=quiet,
               allow_pickle=allow_pickle, describe=_describe,
               options=dict(max_seq_len=max_seq_len, rope=rope, logits=logits))


COMMANDS = [executorch]
