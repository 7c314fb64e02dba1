"""``phonelm-export train`` and ``phonelm-export synth-data``."""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import click

from ..cli_options import emit_json, force_option, json_option, resolve_model


@click.command("synth-data")
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True, help="Directory for the jsonl files.")
@click.option("--call-rows", "n_call", default=6000, show_default=True, help="Intent-calling training rows.")
@click.option("--multi-rows", "n_multi", default=0, show_default=True,
              help="Multi-intent training rows (two or more calls, later ones may use earlier results).")
@click.option("--chat", "n_chat", default=1500, show_default=True, help="Chat training rows.")
@click.option("--heldout", "n_heldout", default=200, show_default=True, help="Rows per held-out split.")
@click.option("--max-docs", type=int, help="Keep at most this many function docs per training prompt (needed ones always kept; held-out prompts keep all).")
@click.option("--randomize", default=0.0, show_default=True,
              help="Share of training call rows whose copied slot values become random stand-ins (teaches copying).")
@click.option("--copy-drills", "n_copy", default=0, show_default=True,
              help="Rows that ask to repeat random names/numbers (dense practice of copying from the query).")
@click.option("--copy-text", "n_copy_text", default=0, show_default=True,
              help="Lines of copy.txt: random values stated then repeated, pretraining text for copying.")
@click.option("--seed", default=0, show_default=True)
@force_option
def synth_data(out, n_call, n_multi, n_chat, n_heldout, max_docs, randomize, n_copy, n_copy_text, seed, force):
    """Generate the synthetic chat + intent-calling corpus (train, heldout, heldout_phrasing jsonl).

    Everything is produced by our own code from the DroidCall function schema and phrasing
    templates; no third-party text is involved.
    """
    from ..atomic import atomic_output
    from ..corpus import build_corpus

    with atomic_output(out, force=force, directory=True) as tmp:
        paths = build_corpus(tmp, n_call=n_call, n_chat=n_chat, n_heldout=n_heldout, seed=seed, max_docs=max_docs, randomize=randomize, n_copy=n_copy, n_copy_text=n_copy_text, n_multi=n_multi)
    for p in paths.values():
        click.echo(f"{out / p.name}")


@click.command()
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True, help="Output checkpoint directory (PhoneLM format).")
@click.option("--data", "pretrain_files", multiple=True, type=click.Path(path_type=Path), help="Pretraining text: .txt or .jsonl ('text' or 'messages'). Repeatable.")
@click.option("--sft", "sft_files", multiple=True, type=click.Path(path_type=Path), help="Fine-tuning chat/call jsonl ('messages'); loss on assistant replies only. Repeatable.")
@click.option("--init", "init_from", type=click.Path(path_type=Path), help="Start from this PhoneLM checkpoint (its tokenizer and dims) instead of random weights; "
              "a bundled model's name (phonelm-tiny-call) works too.")
@click.option("--grow-layers", type=int, help="With --init: deepen the model to N layers first (block expansion: each layer is followed by "
              "copies whose output projections start at zero, so training starts from exactly the --init model's outputs).")
@click.option("--tokenizer", type=click.Path(path_type=Path), help="tokenizer.json to use; default: train a PhoneLM-pipeline BPE on the data.")
@click.option("--vocab-size", default=2048, show_default=True, help="Size of the trained tokenizer (and the embedding).")
@click.option("--hidden-size", default=256, show_default=True)
@click.option("--intermediate-size", default=768, show_default=True)
@click.option("--layers", default=4, show_default=True)
@click.option("--heads", default=4, show_default=True)
@click.option("--kv-heads", type=int, help="Default: --heads (PhoneLM uses MHA).")
@click.option("--context", default=2048, show_default=True, help="max_position_embeddings written to config.json.")
@click.option("--seq-len", default=512, show_default=True, help="Pretraining block length.")
@click.option("--max-len", default=1024, show_default=True, help="SFT examples are cut to this many tokens.")
@click.option("--pretrain-steps", default=0, show_default=True)
@click.option("--sft-steps", default=0, show_default=True)
@click.option("--batch-size", default=16, show_default=True, help="Per process.")
@click.option("--lr", default=2e-3, show_default=True, help="Peak learning rate (pretraining).")
@click.option("--sft-lr", default=1e-3, show_default=True)
@click.option("--warmup", default=50, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--save-every", default=0, show_default=True, help="Write a resumable checkpoint every N steps (in OUT.checkpoints/).")
@click.option("--resume", is_flag=True, help="Continue from the latest checkpoint in OUT.checkpoints/.")
@click.option("--threads", type=int, help="torch threads per process.")
@click.option("--save-dtype", type=click.Choice(["float32", "bfloat16", "float16"]), default="float32", show_default=True,
              help="dtype of model.safetensors (real PhoneLM ships bfloat16).")
@click.option("-q", "--quiet", is_flag=True)
@force_option
@json_option
def train(out, pretrain_files, sft_files, init_from, grow_layers, tokenizer, vocab_size, hidden_size, intermediate_size, layers,
          heads, kv_heads, context, seq_len, max_len, pretrain_steps, sft_steps, batch_size, lr, sft_lr, warmup, seed,
          save_every, resume, threads, save_dtype, quiet, force, as_json):
    """Train a PhoneLM-architecture model on CPU and write a real PhoneLM checkpoint.

    \b
    Stages: --pretrain-steps on --data (loss on every token), then --sft-steps on --sft
    (loss on assistant replies). Without --tokenizer/--init a byte-level BPE with PhoneLM's
    pre-tokenizer and special ids 0-16 is trained on the data first.
    Multi-process: torchrun --standalone --nproc_per_node 2 -m phonelm_export.cli train ...
    (DDP over gloo; rank 0 writes).
    """
    import torch

    from ..atomic import atomic_output
    from ..tokenizer import PhoneLMTokenizer
    from .loop import TrainConfig, dist_info, latest_checkpoint, train as run_training

    rank, world = dist_info()
    init_from = resolve_model(str(init_from)) if init_from else None
    base = _check_arguments(out, force, resume, pretrain_files, pretrain_steps, sft_files, sft_steps, init_from, grow_layers)
    ckpt_dir = out.with_name(out.name + ".checkpoints")
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    tok_file, dims = _tokenizer_and_dims(base, grow_layers, tokenizer, ckpt_dir, resume, rank, world,
                                         list(pretrain_files) + list(sft_files), vocab_size, hidden_size,
                                         intermediate_size, layers, heads, kv_heads, context)
    datasets, stages = _datasets(PhoneLMTokenizer.from_file(tok_file), pretrain_files, pretrain_steps, sft_files, sft_steps,
                                 seq_len, max_len, lr, sft_lr, batch_size, warmup)
    cfg = TrainConfig(out=ckpt_dir, dims=dims, stages=stages, seed=seed, save_every=save_every, threads=threads)
    resume_from = latest_checkpoint(ckpt_dir) if resume else None
    if resume and resume_from is None:
        from ..errors import PhoneLMError

        raise PhoneLMError(f"--resume: no checkpoint in {ckpt_dir}")

    log: list[dict] = []
    t0 = time.perf_counter()
    model = run_training(cfg, datasets, init_from=init_from, resume=resume_from, on_log=log.append, quiet=quiet)
    if rank != 0:
        return
    from ..hf_writer import save_phonelm

    with atomic_output(out, force=True, directory=True) as tmp:
        save_phonelm(tmp, model.state_dict(), dims, tok_file, dtype=getattr(torch, save_dtype))
        (tmp / "training_log.json").write_text(json.dumps({
            "stages": [s.__dict__ for s in stages], "seed": seed, "world_size": world,
            "examples": {k: len(v) for k, v in datasets.items()}, "log": log,
        }, indent=1) + "\n")
    _report(out, dims, log, time.perf_counter() - t0, as_json)


def _report(out, dims, log, seconds, as_json):
    summary = {"out": str(out), "parameters": dims.param_count(), "seconds": round(seconds, 1),
               "final_loss": log[-1]["loss"] if log else None, "tokens_per_s": log[-1]["tokens_per_s"] if log else None}
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"wrote {out} ({summary['parameters']:,} parameters, {summary['seconds']} s, final loss {summary['final_loss']:.3f})")


def _check_arguments(out, force, resume, pretrain_files, pretrain_steps, sft_files, sft_steps, init_from, grow_layers):
    """Refuse inconsistent options before anything is written; the --init checkpoint (or None)."""
    from ..atomic import check_output
    from ..checkpoint import open_checkpoint
    from ..errors import PhoneLMError

    if not resume:
        check_output(out, force)
    if pretrain_steps and not pretrain_files:
        raise PhoneLMError("--pretrain-steps needs --data files")
    if sft_steps and not sft_files:
        raise PhoneLMError("--sft-steps needs --sft files")
    if not pretrain_steps and not sft_steps:
        raise PhoneLMError("nothing to do: give --pretrain-steps and/or --sft-steps")
    if grow_layers is not None and not init_from:
        raise PhoneLMError("--grow-layers needs --init (the checkpoint to deepen)")
    base = open_checkpoint(init_from) if init_from else None
    if base is not None and grow_layers is not None and grow_layers < base.dims.num_hidden_layers:
        raise PhoneLMError(f"--grow-layers {grow_layers}: {init_from} already has {base.dims.num_hidden_layers} layers")
    return base


def _tokenizer_and_dims(base, grow_layers, tokenizer, ckpt_dir, resume, rank, world, files, vocab_size, hidden_size,
                        intermediate_size, layers, heads, kv_heads, context):
    """The tokenizer file and model dims: the --init checkpoint's (deepened by --grow-layers), or
    new ones (a BPE trained on the data by rank 0 unless --tokenizer names one)."""
    from ..checkpoint import Dims
    from ..tokenizer import PhoneLMTokenizer
    from .bpe import train_bpe
    from .data import iter_documents

    if base is not None:
        return base.tokenizer_file, base.dims if grow_layers is None else replace(base.dims, num_hidden_layers=grow_layers)
    tok_file = ckpt_dir / "tokenizer.json"
    if tokenizer:
        tok_file = Path(tokenizer)
    elif not (resume and tok_file.is_file()):
        if rank == 0:
            train_bpe(list(iter_documents(files)), vocab_size).save(str(tok_file))
        if world > 1:
            _wait_for(tok_file)
    ntok = PhoneLMTokenizer.from_file(tok_file).vocab_size
    return tok_file, Dims(vocab_size=ntok, hidden_size=hidden_size, intermediate_size=intermediate_size,
                          num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads or heads,
                          head_dim=hidden_size // heads, max_position_embeddings=context)


def _datasets(tok, pretrain_files, pretrain_steps, sft_files, sft_steps, seq_len, max_len, lr, sft_lr, batch_size, warmup):
    """The tokenized data and the stages that train on it (pretraining first)."""
    from .data import iter_documents, load_sft, pack_blocks
    from .loop import Stage

    datasets, stages = {}, []
    if pretrain_steps:
        datasets["pretrain"] = pack_blocks(iter_documents(pretrain_files), tok.encode, seq_len)
        stages.append(Stage("pretrain", pretrain_steps, lr, batch_size, warmup))
    if sft_steps:
        datasets["sft"] = load_sft(sft_files, tok.encode, max_len)
        stages.append(Stage("sft", sft_steps, sft_lr, batch_size, warmup))
    return datasets, stages


def _wait_for(path: Path, timeout: float = 600) -> None:
    t0 = time.time()
    while not path.is_file():
        if time.time() - t0 > timeout:
            raise RuntimeError(f"rank 0 did not write {path}")
        time.sleep(0.5)


COMMANDS = [train, synth_data]
