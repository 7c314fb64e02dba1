"""Search per-tensor quantization types for the smallest KL divergence under a size budget.

Tensors are grouped (embedding, attention q/k/v, attention output, FFN gate/up, FFN down);
every group starts at the cheapest type of the ladder. Each round tries moving each group one
rung up, measures the real export (the backend's own quantizer and runtime) on calibration
text, and accepts the move with the largest KL reduction per added bit that still fits the
budget in bits per weight. The winner is written as a recipe TOML, with its measurements.
Greedy marginal-gain search is the standard answer to this knapsack-like problem: each step is
measured, not predicted, so interactions between groups are seen as they happen.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from phonelm_export.errors import PhoneLMError
from phonelm_export.metrics import log_softmax
from phonelm_export.progress import QUIET, Progress
from phonelm_export.recipes import Recipe

GGUF_GROUPS = {
    "token_embd": r"^token_embd\.weight$",
    "attn_qkv": r"\.attn_(q|k|v)\.weight$",
    "attn_output": r"\.attn_output\.weight$",
    "ffn_gate_up": r"\.ffn_(gate|up)(_exps)?\.weight$",
    "ffn_down": r"\.ffn_down(_exps)?\.weight$",
}
# 32-element-block types: valid for every PhoneLM matrix (all dims are multiples of 32)
DEFAULT_LADDER = ("q4_0", "q5_0", "q8_0", "f16")


@dataclass
class Trial:
    assignment: dict[str, str]
    bits_per_weight: float
    kl: float
    top1: float
    size_bytes: int


@dataclass
class TuneResult:
    best: Trial
    history: list[Trial] = field(default_factory=list)


def recipe_for(assignment: dict[str, str], name: str = "tuned", purpose: str | None = None) -> Recipe:
    base = min(assignment.values(), key=lambda t: DEFAULT_LADDER.index(t) if t in DEFAULT_LADDER else 0)
    data = {"base": base, "types": {GGUF_GROUPS[g]: t for g, t in assignment.items()}}
    return Recipe(name=name, backend="gguf", purpose=purpose or "found by phonelm-export tune", family="experimental", data=data)


def recipe_toml(trial: Trial, budget: float, ladder: Sequence[str]) -> str:
    lines = [
        f'purpose = "Tuned by phonelm-export tune: min KL under {budget:g} bits/weight (measured {trial.bits_per_weight:.3f} bpw, KL {trial.kl:.3g}, top-1 {trial.top1:.2%})"',
        'family = "experimental"',
        f'base = "{min(trial.assignment.values(), key=list(ladder).index)}"',
        "",
        "[types]",
    ]
    lines += [f"'{GGUF_GROUPS[g]}' = \"{t}\"" for g, t in trial.assignment.items()]
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # what we write must parse
    return text


def tune_gguf(ckpt, budget_bpw: float, calib_windows: list[list[int]], work: Path, *,
              ladder: Sequence[str] = DEFAULT_LADDER, progress: Progress = QUIET) -> TuneResult:
    from phonelm_export.reference import ReferenceRunner

    from .backend import BACKEND as backend

    backend.check()
    ref = ReferenceRunner(ckpt.reference_model())
    ref_lp = [log_softmax(ref.logits(w)) for w in calib_windows]
    cache: dict[tuple, Trial] = {}

    def measure(assignment: dict[str, str]) -> Trial:
        key = tuple(sorted(assignment.items()))
        if key in cache:
            return cache[key]
        out = work / f"trial-{len(cache)}.gguf"
        art = backend.export(ckpt, recipe_for(assignment), out, force=True)
        size = art.size_bytes()
        runner = backend.load(out)
        try:
            kl = agree = n = 0
            for w, lp in zip(calib_windows, ref_lp):
                lq = log_softmax(runner.logits(w))
                kl += float((np.exp(lp) * (lp - lq)).sum())
                agree += int((lp.argmax(-1) == lq.argmax(-1)).sum())
                n += len(w)
        finally:
            runner.close()
            out.unlink(missing_ok=True)
        t = Trial(dict(assignment), art.meta["bits_per_weight"], kl / n, agree / n, size)
        cache[key] = t
        progress.step(f"{' '.join(f'{g}={v}' for g, v in assignment.items())}: {t.bits_per_weight:.3f} bpw, KL {t.kl:.4g}")
        return t

    current = measure({g: ladder[0] for g in GGUF_GROUPS})
    if current.bits_per_weight > budget_bpw:
        raise PhoneLMError(f"even all-{ladder[0]} needs {current.bits_per_weight:.3f} bits/weight, over the {budget_bpw:g} budget")
    history = [current]
    while True:
        best, best_gain = None, 0.0
        for g, t in current.assignment.items():
            i = list(ladder).index(t)
            if i + 1 >= len(ladder):
                continue
            trial = measure({**current.assignment, g: ladder[i + 1]})
            history.append(trial)
            if trial.bits_per_weight > budget_bpw:
                continue
            gain = (current.kl - trial.kl) / max(1e-9, trial.bits_per_weight - current.bits_per_weight)
            if gain > best_gain:
                best, best_gain = trial, gain
        if best is None:
            return TuneResult(current, history)
        current = best
