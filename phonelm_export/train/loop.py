"""The training loop: plain PyTorch, fp32 on CPU, DDP under ``torchrun``.

fp32 because bf16 autocast is ~10x slower on CPUs without native bf16. Determinism: one
seed drives initialisation, data order and dropout-free training, so two runs with the same
seed and world size produce the same weights. Checkpoints every ``save_every`` steps hold
model, optimizer, scheduler, RNG state and the data cursor, so ``resume`` continues the
exact run.
"""
from __future__ import annotations

import math
import os
import random
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from ..checkpoint import Dims
from ..errors import PhoneLMError
from .data import IGNORE, collate_sft


@dataclass
class Stage:
    """One phase of training: 'pretrain' (blocks, loss on all tokens) or 'sft' (assistant tokens)."""

    kind: str
    steps: int
    lr: float = 1e-3
    batch_size: int = 16
    warmup: int = 50


@dataclass
class TrainConfig:
    out: Path
    dims: Dims
    stages: list[Stage]
    seed: int = 0
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    save_every: int = 0  # steps; 0 = only at the end
    log_every: int = 10
    threads: int | None = None
    extra: dict = field(default_factory=dict)


def set_seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def dist_info() -> tuple[int, int]:
    """(rank, world size) under torchrun, (0, 1) otherwise."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def lr_at(step: int, stage: Stage) -> float:
    """Linear warmup, then cosine decay to 10 % of the peak."""
    if step < stage.warmup:
        return stage.lr * (step + 1) / stage.warmup
    progress = (step - stage.warmup) / max(1, stage.steps - stage.warmup)
    return stage.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def build_model(dims: Dims, init_from: Path | None = None):
    """Random weights for ``dims``, or the ``init_from`` checkpoint (deepened when ``dims`` has more layers)."""
    from ..checkpoint import open_checkpoint
    from ..model import PhoneLMForCausalLM

    base = open_checkpoint(init_from) if init_from is not None else None
    if base is not None and base.dims == dims:
        return base.reference_model(torch.float32).train()
    cfg = dims.to_hf_config()
    cfg._attn_implementation = "sdpa"
    model = PhoneLMForCausalLM(cfg)
    if base is not None:
        old = base.dims.num_hidden_layers
        if replace(base.dims, num_hidden_layers=dims.num_hidden_layers) != dims or dims.num_hidden_layers < old:
            raise PhoneLMError(f"{init_from}: can only add layers to an --init checkpoint, not change its other sizes")
        missing, unexpected = model.load_state_dict(expand_layers(dict(base.tensors()), old, dims.num_hidden_layers),
                                                    strict=False)
        if unexpected or set(missing) - {"lm_head.weight"}:  # lm_head is tied to the embedding
            raise PhoneLMError(f"{init_from}: layer expansion left tensors unmatched: {sorted(unexpected or missing)[:3]}")
        model.tie_weights()
    return model.train()


def expand_layers(tensors: dict[str, torch.Tensor], old: int, new: int) -> dict[str, torch.Tensor]:
    """Block expansion: map an ``old``-layer state dict onto ``new`` layers without changing its function.

    Each original layer keeps its place in order and is followed by copies of itself whose
    attention output and FFN down projections are zero: a zeroed block adds nothing to the
    residual stream, so the deeper model computes exactly what the original did, and training
    grows the new blocks from there (their other weights start as trained ones, not noise).
    """
    out = {k: v.float() for k, v in tensors.items() if not k.startswith("model.layers.")}
    for j in range(new):
        src = j * old // new
        fresh = j == 0 or (j - 1) * old // new != src
        for k, v in tensors.items():
            prefix = f"model.layers.{src}."
            if not k.startswith(prefix):
                continue
            name = f"model.layers.{j}." + k[len(prefix):]
            zero = not fresh and (name.endswith("self_attn.o_proj.weight") or name.endswith("mlp.down_proj.weight"))
            out[name] = torch.zeros_like(v, dtype=torch.float32) if zero else v.float().clone()
    return out


class Batches:
    """Deterministic, resumable batch order for one stage, sharded by rank."""

    def __init__(self, kind: str, data, batch_size: int, seed: int, rank: int, world: int):
        self.kind, self.data, self.bs = kind, data, batch_size
        self.seed, self.rank, self.world = seed, rank, world
        self.epoch, self.pos = 0, 0
        self._order = self._shuffle()

    def _shuffle(self) -> list[int]:
        g = random.Random(self.seed * 1000 + self.epoch)
        n = len(self.data)
        order = list(range(n))
        g.shuffle(order)
        if self.kind == "sft":
            # group similar lengths inside windows of 50 batches: less padding, still shuffled
            w = self.bs * self.world * 50
            for s in range(0, n, w):
                order[s : s + w] = sorted(order[s : s + w], key=lambda i: len(self.data[i].ids))
            chunks = [order[s : s + self.bs * self.world] for s in range(0, n, self.bs * self.world)]
            g.shuffle(chunks)
            order = [i for c in chunks for i in c]
        return order

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        step_size = self.bs * self.world
        if self.pos + step_size > len(self._order):
            self.epoch, self.pos = self.epoch + 1, 0
            self._order = self._shuffle()
            if step_size > len(self._order):
                raise PhoneLMError(f"batch size {self.bs} x {self.world} processes exceeds the {len(self._order)} examples")
        idx = self._order[self.pos + self.rank * self.bs : self.pos + (self.rank + 1) * self.bs]
        self.pos += step_size
        if self.kind == "pretrain":
            blocks = self.data[idx]
            return blocks[:, :-1], blocks[:, 1:]
        ids, labels = collate_sft([self.data[i] for i in idx])
        # causal LM: label t is the token at t+1
        return ids[:, :-1], labels[:, 1:]

    def state(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state(self, s: dict) -> None:
        self.epoch, self.pos = s["epoch"], s["pos"]
        self._order = self._shuffle()


def train(cfg: TrainConfig, datasets: dict[str, object], *, init_from: Path | None = None,
          resume: Path | None = None, on_log=None, quiet: bool = False):
    """Run every stage; return the trained model (rank 0 saves checkpoints)."""
    rank, world = dist_info()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    ddp = world > 1
    if ddp:
        import torch.distributed as dist

        dist.init_process_group("gloo")
    set_seed(cfg.seed)
    model = build_model(cfg.dims, init_from)
    wrapped = model
    if ddp:
        from torch.nn.parallel import DistributedDataParallel

        wrapped = DistributedDataParallel(model)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.stages[0].lr, betas=(0.9, 0.95),
    )
    start_stage, start_step = 0, 0
    batches = [Batches(s.kind, datasets[s.kind], s.batch_size, cfg.seed + k, rank, world) for k, s in enumerate(cfg.stages)]
    if resume is not None:
        state = torch.load(resume / "trainer_state.pt", map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start_stage, start_step = state["stage"], state["step"]
        for b, s in zip(batches, state["batches"]):
            b.load_state(s)
        torch.set_rng_state(state["torch_rng"])
        random.setstate(state["py_rng"])

    from tqdm import tqdm

    total = sum(s.steps for s in cfg.stages)
    done_before = sum(s.steps for s in cfg.stages[:start_stage]) + start_step
    bar = tqdm(total=total, initial=done_before, desc="train", unit="step", file=sys.stderr,
               disable=quiet or rank != 0, dynamic_ncols=True)
    global_step = done_before
    t0, tokens = time.perf_counter(), 0
    for si in range(start_stage, len(cfg.stages)):
        stage = cfg.stages[si]
        for step in range(start_step if si == start_stage else 0, stage.steps):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, stage)
            x, y = batches[si].next()
            logits = wrapped(input_ids=x).logits
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            tokens += x.numel() * world
            global_step += 1
            bar.update(1)
            if global_step % cfg.log_every == 0 or step == stage.steps - 1:
                rate = tokens / (time.perf_counter() - t0)
                bar.set_postfix(stage=stage.kind, loss=f"{loss.item():.3f}", tok_s=f"{rate:.0f}")
                if on_log and rank == 0:
                    on_log({"step": global_step, "stage": stage.kind, "loss": loss.item(), "tokens_per_s": rate})
            if cfg.save_every and global_step % cfg.save_every == 0 and rank == 0:
                save_trainer_state(cfg.out / f"checkpoint-{global_step}", model, opt, si, step + 1, batches)
    bar.close()
    if ddp:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return model.eval()


def save_trainer_state(path: Path, model, opt, stage: int, step: int, batches: list[Batches]) -> None:
    """A resumable snapshot (weights, optimizer, data cursor, RNG), written atomically."""
    from ..atomic import atomic_output

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, force=True, directory=True) as tmp:
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "stage": stage,
                "step": step,
                "batches": [b.state() for b in batches],
                "torch_rng": torch.get_rng_state(),
                "py_rng": random.getstate(),
            },
            tmp / "trainer_state.pt",
        )


def latest_checkpoint(out: Path) -> Path | None:
    cands = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]) if p.name.split("-")[1].isdigit() else -1)
    return cands[-1] if cands else None
