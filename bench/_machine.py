"""What the benchmarks need to know about the machine they run on."""
from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def memory_bandwidth(threads: int = 2, nbytes: int = 1 << 30, repeats: int = 5) -> float:
    """Bytes per second that ``threads`` cores read together, each summing its own share of a
    float32 buffer much larger than the caches (best of ``repeats``). numpy releases the GIL in
    the reduction, so the threads really run in parallel: the roofline of a 2-thread decode must
    be the bandwidth 2 cores can draw, not one."""
    parts = [np.ones(nbytes // 4 // threads, dtype=np.float32) for _ in range(threads)]
    best = float("inf")
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(repeats):
            t0 = time.perf_counter()
            list(pool.map(np.sum, parts))
            best = min(best, time.perf_counter() - t0)
    return sum(p.nbytes for p in parts) / best


def cpu_busy(seconds: float = 1.0) -> float:
    """Share of all cores' time other processes used over ``seconds`` (this one sleeps meanwhile)."""
    def sample():
        with open("/proc/stat") as fh:
            v = [int(x) for x in fh.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait

    t0, i0 = sample()
    time.sleep(seconds)
    t1, i1 = sample()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def busy_warning(threshold: float = 0.1) -> str | None:
    """A warning line when other work is running: llama.cpp's threads spin at every graph barrier,
    so one busy core slows a 2-thread llama.cpp run by 10-1000x (measured here: a 1.8 M-parameter
    GGUF decoded 3 tok/s next to a training job, 3,300 tok/s on the idle machine). Numbers taken on
    a busy machine are not comparable."""
    try:
        busy = cpu_busy()
    except OSError:
        return None
    if busy <= threshold:
        return None
    msg = f"WARNING: other processes used {busy:.0%} of the CPU at start: speeds are not trustworthy"
    print(msg)
    print(msg, file=sys.stderr)
    return msg
