"""``phonelm-export hf-llama``: a PhoneLM checkpoint rewritten as a plain transformers Llama.

PhoneLM *is* transformers' ``LlamaForCausalLM`` with ``hidden_act="relu"`` (``ACT2FN["relu"]``
makes Llama's MLP ``down(relu(gate(x)) * up(x))``, PhoneLM's gated-ReLU FFN) and a tied head.
Only the ``model_type`` differs: ``phonelm`` is unknown to stock transformers and a real
PhoneLM ``config.json`` points at remote code through ``auto_map``. Tools built on stock
transformers (optimum-executorch's ``optimum-cli export executorch``, anything calling
``AutoModelForCausalLM.from_pretrained`` without our registration) therefore refuse a PhoneLM
directory but load this one and compute PhoneLM exactly.

What is written (atomically: a failed run leaves nothing at ``-o``):

* ``config.json``: ``model_type: llama``, every size from the validated checkpoint's tensors
  (:class:`~phonelm_export.checkpoint.Dims`), RoPE in both dialects, ``rope_theta`` (what 4.x
  reads) and ``rope_parameters`` (5.x), so transformers 4.x, 5.0.0rc1 (optimum-executorch's
  pin) and 5.2x all read the same model; no ``auto_map``, so no code is ever imported.
* ``model.safetensors``: the same tensors, names and dtypes (no ``lm_head.weight``: tied),
  streamed one tensor at a time into a safetensors file written here (``save_file`` would need
  every tensor in memory at once: a second full copy of the model).
* the tokenizer files, the chat template, ``generation_config.json`` and the model card as
  they are (a default generation config when the checkpoint has none).
"""
from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import click

from .cli_options import (
    allow_pickle_option,
    emit_json,
    force_option,
    json_option,
    model_argument,
    model_command,
    output_option,
    quiet_option,
    resolve_model,
)

# files that travel with the weights unchanged (tokenizer, template, generation defaults, licence)
COMPANION_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    "chat_template.jinja",
    "generation_config.json",
    "README.md",
    "LICENSE",
)
# safetensors dtype names -> bytes per element (the only dtypes open_checkpoint accepts)
ITEMSIZE = {"F32": 4, "F16": 2, "BF16": 2}
TORCH_DTYPE = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


def llama_config(ckpt) -> dict:
    """The ``LlamaForCausalLM`` config computing this checkpoint, readable by transformers 4.x and 5.x."""
    d = ckpt.dims
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_act": "relu",  # the gated-ReLU FFN; Llama's default is silu
        "vocab_size": d.vocab_size,
        "hidden_size": d.hidden_size,
        "intermediate_size": d.intermediate_size,
        "num_hidden_layers": d.num_hidden_layers,
        "num_attention_heads": d.num_attention_heads,
        "num_key_value_heads": d.num_key_value_heads,
        "head_dim": d.head_dim,
        "max_position_embeddings": d.max_position_embeddings,
        "rms_norm_eps": d.rms_norm_eps,
        "rope_theta": d.rope_theta,
        "rope_scaling": None,
        "rope_parameters": {"rope_type": "default", "rope_theta": d.rope_theta},
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "pretraining_tp": 1,
        "tie_word_embeddings": True,
        "bos_token_id": d.bos_token_id,
        "eos_token_id": d.eos_token_id,
        "initializer_range": 0.02,
        "use_cache": True,
        "torch_dtype": ckpt.dtype,
        "dtype": ckpt.dtype,
    }


def _stored_dtype(ckpt, name: str) -> str:
    # the checkpoint reader knows each tensor's stored dtype without reading its data
    return ckpt._source.dtype(name)


def write_safetensors_streamed(ckpt, path: Path, progress=None) -> int:
    """Copy every tensor of ``ckpt`` (lm_head excluded) into ``path``; return the bytes written.

    safetensors' layout is an 8-byte little-endian header length, a JSON header of
    ``{name: {dtype, shape, data_offsets}}`` and the raw little-endian data in that order, so
    the header can be built from shapes alone and each tensor written as soon as it is read.
    """
    import torch

    names = ckpt.tensor_names
    header: dict = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name in names:
        dt = _stored_dtype(ckpt, name)
        shape = list(ckpt.shape(name))
        n = ITEMSIZE[dt]
        for s in shape:
            n *= s
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # the data starts 8-byte aligned, as safetensors writes it
    items = progress.iter(names, desc="hf-llama", unit="tensor") if progress else names
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(blob)))
        fh.write(blob)
        for name in items:
            t = ckpt.tensor(name).contiguous()
            if t.numel():
                fh.write(t.reshape(-1).view(dtype=torch.uint8).numpy().data)
            expected = header[name]["data_offsets"][1]
            if fh.tell() != 8 + len(blob) + expected:
                raise RuntimeError(f"{name}: wrote {fh.tell()} bytes, expected {8 + len(blob) + expected}")
            del t
    return 8 + len(blob) + offset


def write_hf_llama(model: str | Path | None, output: str | Path, *, force: bool = False,
                   allow_pickle: bool = False, progress=None) -> dict:
    """Write the Llama-format copy of a PhoneLM checkpoint to ``output`` (a new directory)."""
    from .atomic import atomic_output, make_shareable
    from .checkpoint import open_checkpoint
    from .hf_writer import generation_config

    ckpt = open_checkpoint(resolve_model(str(model) if model else None), allow_pickle=allow_pickle)
    out = Path(output).expanduser().absolute()
    with atomic_output(out, force=force, directory=True) as tmp:
        nbytes = write_safetensors_streamed(ckpt, tmp / "model.safetensors", progress)
        make_shareable(tmp / "model.safetensors")
        (tmp / "config.json").write_text(json.dumps(llama_config(ckpt), indent=2) + "\n")
        copied = []
        for name in COMPANION_FILES:
            src = ckpt.path / name
            if src.is_file():
                shutil.copyfile(src, tmp / name)
                copied.append(name)
        if "generation_config.json" not in copied:
            (tmp / "generation_config.json").write_text(json.dumps(generation_config(ckpt.dims), indent=2) + "\n")
    return {
        "path": str(out),
        "source": str(ckpt.path),
        "architecture": "LlamaForCausalLM (model_type llama, hidden_act relu, tied head)",
        "tensors": len(ckpt.tensor_names),
        "weights_bytes": nbytes,
        "dtype": ckpt.dtype,
        "copied": copied,
        "notes": ckpt.notes,
    }


@model_command("hf-llama")
@model_argument
@output_option("Output directory (must not exist unless --force).", required=True, file=False)
@force_option
@json_option
@quiet_option
@allow_pickle_option
def command(model, output, force, as_json, quiet, allow_pickle):
    """Write PhoneLM as a stock transformers LlamaForCausalLM checkpoint (hidden_act relu).

    The copy computes exactly what the PhoneLM checkpoint computes, and loads in tools that
    only know stock transformers architectures, for example optimum-executorch:

    \b
      phonelm-export hf-llama -o phonelm-llama
      optimum-cli export executorch -m phonelm-llama --recipe xnnpack -o phonelm-pte

    Weights are copied tensor by tensor with their dtypes; tokenizer files, chat template,
    generation config and model card are copied as they are.
    """
    from .progress import Progress

    summary = write_hf_llama(model, output, force=force, allow_pickle=allow_pickle,
                             progress=Progress(quiet=quiet or as_json))
    if as_json:
        emit_json(summary)
        return
    click.echo(f"wrote {summary['path']} ({summary['weights_bytes'] / 1e6:.1f} MB)")
    click.echo(f"  architecture  {summary['architecture']}")
    click.echo(f"  tensors       {summary['tensors']} ({summary['dtype']}), copied {', '.join(summary['copied']) or 'no companion files'}")
    for n in summary["notes"]:
        click.echo(f"  note          {n}")


COMMANDS = (command,)
