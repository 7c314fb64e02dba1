"""The ``phonelm-export`` command line: one thin command per verb.

Commands only parse options and call library code; every user error is a
:class:`~phonelm_export.errors.PhoneLMError`, printed as one ``error:`` line with exit status 2.
"""
from __future__ import annotations

import importlib
import sys

import click

from . import __version__
from .cli_options import (
    MODEL_HELP,
    allow_pickle_option,
    emit_json,
    json_option,
    model_argument,
    resolve_model,
)
from .errors import PhoneLMError


class PhoneLMGroup(click.Group):
    """Turns PhoneLMError into one line on stderr instead of a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PhoneLMError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=PhoneLMGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="phonelm-export")
def main():
    """Convert PhoneLM checkpoints for on-device runtimes and prove the results compute PhoneLM.

    PhoneLM is Llama with a gated-ReLU FFN; stock runtimes compute gated SiLU. Each export
    command writes a file the runtime loads *and computes correctly*:

    \b
      gguf        llama.cpp / llama-cpp-python / apps built on them
      executorch  ExecuTorch .pte for the XNNPACK CPU backend (Android LlmModule)
      mlc         MLC-LLM weights, chat config and compiled model library
    \b
    verify checks parity of exported files against the PyTorch reference;
    every command defaults to the bundled tiny PhoneLM-Call model.
    """


@main.command()
@model_argument
@allow_pickle_option
@json_option
def info(model, allow_pickle, as_json):
    """Validate a checkpoint and describe it: architecture, parameters, dtype, tokenizer, template.

    \b
    """
    from .checkpoint import open_checkpoint

    ckpt = open_checkpoint(resolve_model(model), allow_pickle=allow_pickle)
    tok = ckpt.tokenizer().summary() if ckpt.tokenizer_file else None
    report = {
        "path": str(ckpt.path),
        "architecture": "phonelm (llama with gated-ReLU FFN, tied head)",
        "model_type": ckpt.config.get("model_type"),
        "dims": ckpt.dims.to_dict(),
        "parameters": ckpt.param_count(),
        "dtype": ckpt.dtype,
        "weights_bytes": ckpt.nbytes(),
        "lm_head": ckpt.lm_head,
        "tokenizer": tok,
        "chat_template": "present" if ckpt.chat_template else "absent (built-in ChatML is used)",
        "notes": ckpt.notes,
    }
    if as_json:
        emit_json(report)
        return
    d = ckpt.dims
    click.echo(f"{ckpt.path}")
    click.echo(f"  architecture   {report['architecture']}")
    click.echo(f"  parameters     {report['parameters']:,} ({ckpt.dtype}, {ckpt.nbytes() / 1e6:.1f} MB on disk)")
    click.echo(
        f"  dims           layers {d.num_hidden_layers}, hidden {d.hidden_size}, ffn {d.intermediate_size}, "
        f"heads {d.num_attention_heads}/{d.num_key_value_heads} x {d.head_dim}, vocab {d.vocab_size}"
    )
    click.echo(f"  rope / norm    theta {d.rope_theta:g}, rms eps {d.rms_norm_eps:g}, context {d.max_position_embeddings}")
    if tok:
        click.echo(f"  tokenizer      {tok['type']} {tok['vocab_size']} tokens, {tok['merges']} merges, specials 0-16 {'ok' if tok['specials_ok'] else 'WRONG'}")
    else:
        click.echo("  tokenizer      none (tokenizer.json missing)")
    click.echo(f"  chat template  {report['chat_template']}")
    for n in ckpt.notes:
        click.echo(f"  note           {n}")


info.help = (info.help or "") + MODEL_HELP


# Commands that live with what they drive: the trainer, chat, each backend's export command.
_COMMAND_MODULES = (
    "phonelm_export.chat_cli",
    "phonelm_export.train.cli",
    "phonelm_export.backends_cli",
    "phonelm_export.backends.gguf.cli",
    "phonelm_export.backends.executorch.cli",
    "phonelm_export.backends.mlc.cli",
    "phonelm_export.verify_cli",
    "phonelm_export.all_cli",
    "phonelm_export.tune_cli",
    "phonelm_export.intents.cli",
    "phonelm_export.android",
)


def _add_commands() -> None:
    for mod in _COMMAND_MODULES:
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name and mod.startswith(e.name):
                continue  # that part is not part of this installation yet
            raise
        for cmd in getattr(m, "COMMANDS", ()):
            main.add_command(cmd)


_add_commands()


if __name__ == "__main__":
    main()
