"""``phonelm-export chat``: talk to a checkpoint (PyTorch reference) or an exported artifact."""
from __future__ import annotations

import sys
import time

import click

from .cli_options import allow_pickle_option, resolve_model


def open_runner(target: str | None, allow_pickle: bool = False, **load_options):
    """A Runner for a checkpoint (reference) or an artifact (.gguf, .pte, MLC dir) -> (runner, label)."""
    from .registry import backends

    path = resolve_model(target)
    backend = next((b for b in backends() if b.recognizes(path)), None)
    if backend is not None:
        backend.check()
        backend.register()
        return backend.load(path, **load_options), backend.name
    from .checkpoint import open_checkpoint
    from .reference import ReferenceRunner

    ckpt = open_checkpoint(path, allow_pickle=allow_pickle)
    return ReferenceRunner.from_checkpoint(ckpt), "pytorch"


@click.command()
@click.argument("target", required=False, metavar="[MODEL|ARTIFACT]")
@click.option("-p", "--prompt", help="Ask one question and exit (otherwise: an interactive session on stdin).")
@click.option("--system", help="System prompt (default: the template's).")
@click.option("--raw", is_flag=True, help="No chat template: continue the text as a base model would.")
@click.option("--max-new-tokens", default=256, show_default=True)
@click.option("--temperature", default=0.0, show_default=True, help="0 = greedy (PhoneLM's published sampling: 0.7).")
@click.option("--top-p", default=1.0, show_default=True)
@click.option("--seed", default=0, show_default=True)
@allow_pickle_option
def chat(target, prompt, system, raw, max_new_tokens, temperature, top_p, seed, allow_pickle):
    """Chat with a model through its runtime, streaming tokens (ChatML; stops on <|im_end|> / <|endoftext|>).

    MODEL|ARTIFACT is a checkpoint or a bundled model's name (run by the PyTorch reference) or an
    exported artifact: a .gguf file
    (llama.cpp), a .pte file (ExecuTorch, tokenizer.json beside it) or an MLC model directory.
    Default: the bundled model.
    """
    from .backend import Sampling

    runner, label = open_runner(target, allow_pickle)
    tok = runner.tokenizer
    sampling = Sampling(temperature=temperature, top_p=top_p, seed=seed)
    history: list[dict] = [{"role": "system", "content": system}] if system else []
    interactive = prompt is None
    if interactive:
        click.echo(f"[{label}] chatting; an empty line or Ctrl-D ends the session", err=True)

    def turn(text: str) -> str:
        if raw:
            ids = tok.encode(text)
        else:
            history.append({"role": "user", "content": text})
            ids = tok.encode(tok.render_chat(history, add_generation_prompt=True))
        pieces: list[int] = []
        printed = ""
        t0 = time.perf_counter()

        def on_token(t: int) -> None:
            nonlocal printed
            pieces.append(t)
            text_now = tok.decode(pieces)
            if not text_now.endswith("\ufffd"):  # wait for a whole UTF-8 character
                sys.stdout.write(text_now[len(printed):])
                sys.stdout.flush()
                printed = text_now

        out = runner.generate(ids, max_new_tokens=max_new_tokens, sampling=sampling, on_token=on_token)
        dt = time.perf_counter() - t0
        reply = tok.decode(out)
        sys.stdout.write(reply[len(printed):] + "\n")
        click.echo(f"[{len(out)} tokens, {len(out) / dt if dt > 0 else 0:.1f} tok/s incl. prefill]", err=True)
        if not raw:
            history.append({"role": "assistant", "content": reply})
        return reply

    try:
        if not interactive:
            turn(prompt)
            return
        while True:
            try:
                line = input("> " if sys.stdin.isatty() else "")
            except EOFError:
                break
            if not line.strip():
                break
            turn(line)
    finally:
        runner.close()


COMMANDS = [chat]
