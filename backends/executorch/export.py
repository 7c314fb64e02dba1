"""Checkpoint + recipe -> ``OUT.pte`` and ``tokenizer.json`` beside it, written atomically."""
from __future__ import annotations

import gc
import resource
import time
from pathlib import Path

from phonelm_export.atomic import atomic_output, check_output
from phonelm_export.backend import Artifact
from phonelm_export.errors import CheckpointError, PhoneLMError
from phonelm_export.progress import QUIET

from phonelm_export.rope import ROPE_MODES
from .quantize import check_shapes, head_quantizer, layer_quantizer
from .recipes import plan_from_recipe
from .register import OWN_PREFIX, runner_metadata
from .runner import tokenizer_path_for

LOGITS_MODES = ("all", "last")


def validate_options(checkpoint, max_seq_len: int, rope: str, logits: str) -> None:
    limit = checkpoint.dims.max_position_embeddings
    if not isinstance(max_seq_len, int) or max_seq_len < 2:
        raise PhoneLMError(f"--max-seq-len must be an integer of at least 2, not {max_seq_len!r}")
    if max_seq_len > limit:
        raise PhoneLMError(f"--max-seq-len {max_seq_len} exceeds the model's max_position_embeddings {limit}")
    if rope not in ROPE_MODES:
        raise PhoneLMError(f"--rope must be one of {', '.join(ROPE_MODES)}, not {rope!r}")
    if logits not in LOGITS_MODES:
        raise PhoneLMError(f"--logits must be one of {', '.join(LOGITS_MODES)}, not {logits!r}")


def _tokenizer_bytes(checkpoint) -> bytes:
    if checkpoint.tokenizer_file is None:
        raise CheckpointError(
            f"{checkpoint.path}: no tokenizer.json; ExecuTorch's LLM runner needs it beside the .pte"
        )
    tok = checkpoint.tokenizer()
    if tok.vocab_size != checkpoint.dims.vocab_size:
        # the runner takes the vocabulary size from the tokenizer and the logits width from the model
        raise CheckpointError(
            f"tokenizer.json has {tok.vocab_size} tokens but the model {checkpoint.dims.vocab_size}; "
            "ExecuTorch's LLM runner needs them equal"
        )
    return checkpoint.tokenizer_file.read_bytes()


def export_pte(checkpoint, recipe, out: Path, *, max_seq_len: int, rope: str = "float", logits: str = "all",
               force: bool = False, progress=None) -> Artifact:
    progress = progress or QUIET
    out = Path(out).expanduser().absolute()
    if out.suffix != ".pte":
        raise PhoneLMError(f"{out}: the output of an ExecuTorch export must end in .pte")
    validate_options(checkpoint, max_seq_len, rope, logits)
    plan = plan_from_recipe(recipe)
    check_shapes(plan, checkpoint.dims)
    tok_bytes = _tokenizer_bytes(checkpoint)
    tok_out = tokenizer_path_for(out)
    # a different tokenizer.json already beside the output is someone else's: same --force rule
    write_tok = not (tok_out.is_file() and tok_out.read_bytes() == tok_bytes)
    check_output(out, force)
    if write_tok:
        check_output(tok_out, force)

    from . import lower
    from .model import build_model

    t0 = time.perf_counter()
    full = logits == "all"
    progress.step(f"building PhoneLM ({checkpoint.dims.num_hidden_layers} layers) with recipe {recipe.name}")
    model = build_model(
        checkpoint,
        max_seq_len,
        rope=rope,
        full_logits=full,
        on_layer=layer_quantizer(plan),
        on_head=head_quantizer(plan),
        progress=progress,
    )
    meta = runner_metadata(checkpoint.dims, max_seq_len, full, rope, recipe.name)
    template = checkpoint.chat_template
    if template:
        meta[OWN_PREFIX + "chat_template"] = template
    progress.step("torch.export")
    # The float weights live in the model and the exported program that shares them. Passed on
    # without a name here, they are freed as soon as lowering has serialized them for XNNPACK,
    # instead of staying alive through emission and writing (a third copy of the weights).
    holder = [lower.export_program(model, max_seq_len)]
    del model
    gc.collect()
    program = lower.lower_to_executorch(holder, meta, plan.quantized, progress)

    with atomic_output(out, force=force) as tmp:
        with open(tmp, "wb") as fh:
            program.write_to_file(fh)
        del program
        if write_tok:
            with atomic_output(tok_out, force=True) as tmp_tok:
                tmp_tok.write_bytes(tok_bytes)
    seconds = time.perf_counter() - t0
    size = out.stat().st_size
    return Artifact(
        backend="executorch",
        path=out,
        recipe=recipe.name,
        files=[out, tok_out],
        meta={
            "recipe_purpose": recipe.purpose,
            "recipe_family": recipe.family,
            "quantization": plan.to_dict(),
            "pte_bytes": size,
            "max_seq_len": max_seq_len,
            "rope": rope,
            "logits": logits,
            "tokenizer": str(tok_out),
            "export_seconds": round(seconds, 1),
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        },
    )
