"""What the benchmarks need to know about the machine they run on."""
from __future__ import annotations

import os
import sys
import time

import numpy as np


def memory_bandwidth(nbytes: int = 512 << 20, repeats: int = 5) -> float:
    """Bytes per second read by one core summing a large float32 buffer (best of ``repeats``)."""
    a = np.ones(nbytes // 4, dtype=np.float32)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a.sum()
        best = min(best, time.perf_counter() - t0)
    return nbytes / best


def busy_warning(threshold: float = 0.5) -> str | None:
    """A warning line when other work is running: llama.cpp's OpenMP threads spin at every graph
    barrier, so one busy core slows a 2-thread llama.cpp run by 10-1000x (measured here: a
    1.8 M-parameter GGUF decoded 3 tok/s next to a training job, 3,300 tok/s on the idle machine).
    Numbers taken on a busy machine are not comparable."""
    load = os.getloadavg()[0]
    if load <= threshold:
        return None
    msg = f"WARNING: load average {load:.1f} at start: other processes compete for the CPU, speeds are not trustworthy"
    print(msg)
    print(msg, file=sys.stderr)
    return msg
