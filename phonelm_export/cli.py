"""The ``phonelm-export`` command line: one thin command per verb.

Commands only parse options and call library code; every user error is a
:class:`~phonelm_export.errors.PhoneLMError`, printed as one ``error:`` line with exit status 2.
"""
from __future__ import annotations

import codecs
import contextlib
import importlib
import io
import logging
import os
import signal
import sys
import threading
import traceback
import warnings

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
from .errors import InputTextError, Interrupted, explain


DEBUG_ENV = "PHONELM_EXPORT_DEBUG"
VERBOSE_ENV = "PHONELM_EXPORT_VERBOSE"
_GLOBAL_FLAGS = ("--debug", "--verbose")


class PhoneLMGroup(click.Group):
    """The error boundary: whatever escapes a command ends as one ``error:`` line on stderr.

    Exit statuses: 0 success, 1 a failed verify gate (the command exits 1 itself), 2 any error
    (ours, click's usage errors, the operating system's, and "internal error, please report"
    for the rest), 130 SIGINT, 143 SIGTERM (129 SIGHUP). ``--debug`` (anywhere on the command
    line) or PHONELM_EXPORT_DEBUG=1 also prints the traceback; ``--verbose`` or
    PHONELM_EXPORT_VERBOSE=1 lets third-party warnings through.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = list(sys.argv[1:] if args is None else args)
        flags, args = _split_global_flags(args)
        debug = "--debug" in flags or os.environ.get(DEBUG_ENV, "") not in ("", "0")
        verbose = "--verbose" in flags or os.environ.get(VERBOSE_ENV, "") not in ("", "0")
        if not standalone_mode:  # a caller that handles exceptions itself gets click's behaviour
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        restore = [_quiet_third_party(verbose), _raise_on_termination(), _strict_stdin()]
        try:
            _check_utf8_arguments(args)
            rv = super().main(args, prog_name or "phonelm-export", complete_var, False, **extra)
            code = rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
            if _RECEIVED:  # a library swallowed the signal's exception: the user still asked us to stop
                code = _report(KeyboardInterrupt() if _RECEIVED[0] == signal.SIGINT else Interrupted(_RECEIVED[0]), False)
        except SystemExit:
            raise
        except click.exceptions.Exit as e:
            code = e.exit_code
        except BaseException as e:  # noqa: BLE001 -- this is the boundary
            if isinstance(e, (GeneratorExit,)):
                raise
            code = _report(e, debug)
        finally:
            for undo in reversed(restore):
                undo()
        sys.exit(code)


def _split_global_flags(args: list[str]) -> tuple[set[str], list[str]]:
    """--debug / --verbose are accepted anywhere before a ``--`` (users add them to the end)."""
    flags, rest = set(), []
    for i, a in enumerate(args):
        if a == "--":
            rest.extend(args[i:])
            break
        if a in _GLOBAL_FLAGS:
            flags.add(a)
        else:
            rest.append(a)
    return flags, rest


def _check_utf8_arguments(args: list[str]) -> None:
    """Python keeps undecodable argv bytes as lone surrogates; refuse them here, with the
    argument's position, instead of failing later inside a tokenizer."""
    for n, a in enumerate(args, 1):
        for i, ch in enumerate(a):
            if 0xDC80 <= ord(ch) <= 0xDCFF:
                raise InputTextError(
                    f"command-line argument {n} is not valid UTF-8 text (byte 0x{ord(ch) - 0xDC00:02x} at character {i})"
                )


def _stdin_not_utf8(e: UnicodeError):
    bad = e.object[e.start:e.start + 1]
    raise InputTextError(f"standard input is not valid UTF-8 text (byte 0x{bytes(bad).hex()} at offset {e.start})")


codecs.register_error("phonelm-export-stdin", _stdin_not_utf8)


def _strict_stdin():
    """In a C/POSIX locale Python reads stdin with surrogateescape: invalid bytes would flow
    into prompts as lone surrogates (and on into URLs). Decode strictly, with a clear error."""
    stdin = sys.stdin
    if not isinstance(stdin, io.TextIOWrapper):
        return lambda: None
    errors, encoding = stdin.errors, stdin.encoding
    try:
        stdin.reconfigure(encoding="utf-8", errors="phonelm-export-stdin")
    except (ValueError, io.UnsupportedOperation):  # already read from: leave it alone
        return lambda: None

    def restore():
        with contextlib.suppress(ValueError, io.UnsupportedOperation):
            stdin.reconfigure(encoding=encoding, errors=errors)
    return restore


def _report(e: BaseException, debug: bool) -> int:
    if _RECEIVED and not isinstance(e, (KeyboardInterrupt, Interrupted)):
        # whatever surfaced, a signal is why: report the signal (the cleanup already ran)
        if debug:
            traceback.print_exception(e, file=sys.stderr)
        e = KeyboardInterrupt() if _RECEIVED[0] == signal.SIGINT else Interrupted(_RECEIVED[0])
        debug = False
    if isinstance(e, click.exceptions.Abort) and isinstance(e.__context__ or e.__cause__, KeyboardInterrupt):
        e = e.__cause__ or e.__context__
    no_args = getattr(click.exceptions, "NoArgsIsHelpError", None)
    if no_args is not None and isinstance(e, no_args):  # `phonelm-export` alone: the help, as click shows it
        e.show()
        return e.exit_code
    if isinstance(e, click.exceptions.UsageError):
        hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
        msg, code = e.format_message() + hint, 2
        msg = "; ".join(line.strip() for line in msg.splitlines() if line.strip())
    elif isinstance(e, click.exceptions.Abort):
        msg, code = "interrupted (SIGINT)", 130
    elif isinstance(e, click.ClickException):
        msg, code = "; ".join(ln.strip() for ln in e.format_message().splitlines() if ln.strip()), 2
    else:
        msg, code = explain(e)
    _end_progress_line()
    if debug:
        traceback.print_exception(e, file=sys.stderr)
    click.echo(f"error: {msg}", err=True)
    return code


def _end_progress_line() -> None:
    """Close live progress bars so the error does not land on the bar's line."""
    tqdm_mod = sys.modules.get("tqdm")
    bars = list(getattr(getattr(tqdm_mod, "tqdm", None), "_instances", ()) or ())
    for bar in bars:
        try:
            bar.close()
        except Exception:  # noqa: BLE001 -- best effort while already failing
            pass
    try:
        if sys.stderr.isatty():
            sys.stderr.write("\r\x1b[K")
        elif bars:
            sys.stderr.write("\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


_RECEIVED: list[int] = []  # signals received during this command, first first


def _raise_on_termination():
    """SIGINT, SIGTERM (timeout, CI cancellation, docker stop) and SIGHUP raise (KeyboardInterrupt
    for SIGINT, :class:`Interrupted` otherwise), so every context manager and ``finally`` cleans
    up. The signal is also recorded: native code (safetensors, torch) that a signal interrupts
    inside a Python callback re-raises its own error type, and the boundary must still report the
    signal and exit 128 + its number."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    _RECEIVED.clear()

    def handler(signum, frame):
        _RECEIVED.append(signum)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Interrupted(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

    def restore():
        for s, h in old.items():
            signal.signal(s, h)
    return restore


def _quiet_third_party(verbose: bool):
    """Warnings a user cannot act on (transformers deprecations, ExecuTorch/torchao UserWarnings)
    stay off the terminal unless --verbose. Returns the undo (tests invoke main in-process)."""
    if verbose:
        os.environ.setdefault(VERBOSE_ENV, "1")  # native code's own chatter too (backends read it)
        return lambda: None
    saved_filters = warnings.filters[:]
    saved_disable = logging.root.manager.disable
    env = {"TRANSFORMERS_VERBOSITY": "error", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1", "PYTHONWARNINGS": "ignore"}
    saved_env = {k: os.environ.get(k) for k in env}
    for k, v in env.items():
        os.environ.setdefault(k, v)  # subprocesses (the llama.cpp worker) inherit these
    warnings.simplefilter("ignore")
    # ours are meant for the user (e.g. "phonelm could not be registered with mlc_llm"): keep them
    warnings.filterwarnings("default", module=r"phonelm_export(\.|$)")
    logging.disable(logging.WARNING)
    if "transformers" in sys.modules:
        with contextlib.suppress(Exception):
            sys.modules["transformers"].logging.set_verbosity_error()

    def restore():
        warnings.filters[:] = saved_filters
        logging.disable(saved_disable)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return restore


@click.group(cls=PhoneLMGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="phonelm-export")
@click.option("--debug", is_flag=True, expose_value=False,
              help=f"On an error, also print the traceback (or set {DEBUG_ENV}=1). Accepted anywhere on the line.")
@click.option("--verbose", is_flag=True, expose_value=False,
              help=f"Show third-party warnings (or set {VERBOSE_ENV}=1). Accepted anywhere on the line.")
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


@main.command(epilog=MODEL_HELP)
@model_argument
@allow_pickle_option
@json_option
def info(model, allow_pickle, as_json):
    """Validate a checkpoint and describe it: architecture, parameters, dtype, tokenizer, template."""
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



# Commands that live with what they drive: the trainer, chat, verify, ...; each backend found by
# the registry adds its own (its export command, and sub-commands of `backends`).
_COMMAND_MODULES = (
    "phonelm_export.chat_cli",
    "phonelm_export.train.cli",
    "phonelm_export.backends_cli",
    "phonelm_export.verify_cli",
    "phonelm_export.all_cli",
    "phonelm_export.intents.cli",
    "phonelm_export.android",
    "phonelm_export.hf_llama",
)


def _add_commands() -> None:
    from .backends_cli import backends as backends_group
    from .registry import backends

    for mod in _COMMAND_MODULES:
        for cmd in getattr(importlib.import_module(mod), "COMMANDS", ()):
            main.add_command(cmd)
    for backend in backends():
        for cmd in backend.commands():
            main.add_command(cmd)
        for cmd in backend.backends_commands():
            backends_group.add_command(cmd)


_add_commands()


if __name__ == "__main__":
    main()
