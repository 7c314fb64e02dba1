"""Parity and quality metrics, computed the same way for every backend.

* Logit parity: max and mean |Δlogit|, top-1 agreement and mean KL(reference || backend) over
  every position of a fixed prompt set.
* Perplexity: fixed held-out text, tokenized once, cut into non-overlapping windows, each
  window scored from an empty cache; cross-entropies summed in float64. Bits per byte
  (``sum CE / ln 2 / bytes``) compares across tokenizers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


@dataclass
class LogitParity:
    positions: int
    top1: float
    kl: float
    max_abs: float
    mean_abs: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def logit_parity(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> LogitParity:
    """Compare (reference, test) logit matrices of the same prompts, all positions pooled."""
    n, agree, kl, mx, total_abs, count = 0, 0, 0.0, 0.0, 0.0, 0
    for ref, test in pairs:
        if ref.shape != test.shape:
            raise ValueError(f"logit shapes differ: {ref.shape} vs {test.shape}")
        d = np.abs(ref.astype(np.float64) - test.astype(np.float64))
        mx = max(mx, float(d.max()))
        total_abs += float(d.sum())
        count += d.size
        agree += int((ref.argmax(-1) == test.argmax(-1)).sum())
        lp, lq = log_softmax(ref), log_softmax(test)
        kl += float((np.exp(lp) * (lp - lq)).sum())
        n += ref.shape[0]
    return LogitParity(positions=n, top1=agree / n, kl=kl / n, max_abs=mx, mean_abs=total_abs / count)


@dataclass
class Perplexity:
    tokens: int
    bytes: int
    nll: float  # summed, nats

    @property
    def ppl(self) -> float:
        return math.exp(self.nll / self.tokens)

    @property
    def bits_per_byte(self) -> float:
        return self.nll / math.log(2) / self.bytes

    def to_dict(self) -> dict:
        return {"tokens": self.tokens, "bytes": self.bytes, "ppl": self.ppl, "bits_per_byte": self.bits_per_byte}


def windows(ids: Sequence[int], size: int, max_windows: int | None = None) -> list[list[int]]:
    out = [list(ids[i : i + size]) for i in range(0, len(ids) - 1, size)]
    out = [w for w in out if len(w) >= 2]
    return out[:max_windows] if max_windows else out


def perplexity(logits_fn: Callable[[Sequence[int]], np.ndarray], ids: Sequence[int], text_bytes: int,
               window: int = 256, max_windows: int | None = None) -> Perplexity:
    """Perplexity of ``logits_fn`` over non-overlapping windows of ``ids``.

    ``text_bytes`` is scaled to the scored share of the text when windows are capped.
    """
    ws = windows(ids, window, max_windows)
    nll, tokens = 0.0, 0
    for w in ws:
        lp = log_softmax(logits_fn(w)[:-1])
        nll += float(-lp[np.arange(len(w) - 1), w[1:]].sum())
        tokens += len(w) - 1
    scored = sum(len(w) for w in ws)
    return Perplexity(tokens=tokens, bytes=max(1, round(text_bytes * scored / max(1, len(ids)))), nll=nll)


def greedy_match_length(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading generated tokens two greedy decodes share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
