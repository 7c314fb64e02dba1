"""``phonelm-export executorch``: export a PhoneLM checkpoint to an ExecuTorch ``.pte``.

Only click and the shared option helpers are imported here; ExecuTorch is imported when the
command runs, so ``--help`` is fast and a missing extra is the one-line install hint.
"""
from __future__ import annotations

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


@click.command("executorch")
@model_argument
@click.option("--recipe", default="8da4w-g32", show_default=True,
              help="A recipe from quant_recipes/executorch (fp32, 8da8w, 8da4w-g32, 8da4w-g128) or a .toml path.")
@click.option("--max-seq-len", type=int, default=None,
              help="KV-cache size = longest prompt + reply, and the longest chunk one call takes "
                   "(default: the model's max_position_embeddings).")
@click.option("--rope", type=click.Choice(["float", "int8"]), default="float", show_default=True,
              help="float: exact RoPE, what other runtimes compute. int8: PhoneLM's own rounded tables (mllm numerics).")
@click.option("--logits", type=click.Choice(["all", "last"]), default="all", show_default=True,
              help="all: a prefill call returns every position's logits (parity, perplexity). "
                   "last: only the last one, skipping the head for the rest of the prompt (faster prefill).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Output .pte file; tokenizer.json is written beside it.")
@force_option
@json_option
@quiet_option
@allow_pickle_option
def executorch(model, recipe, max_seq_len, rope, logits, output, force, as_json, quiet, allow_pickle):
    """Export PhoneLM to an ExecuTorch program for the XNNPACK CPU backend.

    The program has a static KV cache: forward(tokens[1, T], input_pos[1]) takes a prompt
    chunk or one decode token at an explicit position. It carries the metadata ExecuTorch's
    LLM runner reads (max sequence length, eos ids 2 and 0, KV cache, dynamic shapes), so
    Android's LlmModule and ExecuTorch's llama runner load OUT.pte with the tokenizer.json
    written beside it. Lowering takes minutes for real model sizes. Run the result with
    `phonelm-export chat OUT.pte`.
    """
    from pathlib import Path

    from phonelm_export.backends import get_backend
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.progress import Progress
    from phonelm_export.recipes import load_recipe

    backend = get_backend("executorch")
    backend.check()
    r = load_recipe("executorch", recipe)
    backend.validate_recipe(r)
    ckpt = open_checkpoint(resolve_model(model), allow_pickle=allow_pickle)
    n = max_seq_len if max_seq_len is not None else ckpt.dims.max_position_embeddings
    art = backend.export(ckpt, r, Path(output), force=force, progress=Progress(quiet=quiet or as_json),
                         max_seq_len=n, rope=rope, logits=logits)
    summary = art.summary()
    if as_json:
        emit_json(summary)
        return
    q = summary["quantization"]
    click.echo(f"wrote {summary['path']} ({summary['pte_bytes'] / 1e6:.2f} MB) and {summary['tokenizer']}")
    click.echo(f"  recipe        {r.name}: {r.purpose}")
    click.echo(f"  quantization  linear {q['linear']}, lm_head {q['lm_head']}, embedding {q['embedding']}, group {q['group_size'] or 'per-channel'}")
    click.echo(f"  context       {n} tokens, rope {rope}, logits {logits}")
    click.echo(f"  took          {summary['export_seconds']} s, peak RSS {summary['peak_rss_bytes'] / 2**30:.2f} GiB")


executorch.help = (executorch.help or "") + "\n\n" + MODEL_HELP

COMMANDS = [executorch]
