"""Run every benchmark under bench/ and write bench/RESULTS.md with the machine it ran on.

Usage: ``python -m bench [--only gguf,executorch,mlc] [--quick]``. Each ``bench/<part>_*.py`` is run
as its own process (so one runtime's threads and memory cannot skew another's) with
``python -m bench.<module>``; what it prints — ratios measured side by side in that one run —
goes into RESULTS.md verbatim, under a description of this machine. Benchmarks never run in the
test suite: tests check correctness, never timing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: random PhoneLM-shaped checkpoints (GBs) and exports shared by the runs and kept for reruns
WORKDIR = Path(os.environ.get("PHONELM_BENCH_DIR", "~/.cache/phonelm-export/bench")).expanduser()
# per module: the runs of a full benchmark (one argument list per run; default: one run, no arguments)
FULL = {
    "executorch_speed": [
        # fp32 vs 8da4w vs llama.cpp q4_0 on a 31 M-parameter shape (quick to export)
        ["--shape", "small", "--recipes", "fp32", "8da4w-g32", "--workdir", str(WORKDIR), "--reuse"],
        # PhoneLM-0.5B and -1.5B shapes: export cost (peak RSS: what fits a 24 GB machine) and speed.
        # Export records are kept in the work directory and reused by reruns (the fp32 0.5B export
        # alone takes ~15-20 min and ~13 GB); fp32 1.5B does not fit 24 GB and is not attempted
        ["--shape", "0.5b", "--recipes", "fp32", "8da4w-g32", "--workdir", str(WORKDIR), "--reuse"],
        ["--shape", "1.5b", "--recipes", "8da4w-g32", "--workdir", str(WORKDIR), "--reuse"],
    ],
    "gguf_scale": [["--workdir", str(WORKDIR)]],
    # issue 15: conversion peak RSS vs llama.cpp's converter at the real shapes (bf16, as shipped)
    "gguf_convert": [[], ["--shape", "0.5b", "--workdir", str(WORKDIR)], ["--shape", "1.5b", "--workdir", str(WORKDIR)]],
    # ExecuTorch export memory per recipe; a 1.5B run is attempted only with 21 GiB available
    "executorch_memory": [["--shape", "0.5b", "--workdir", str(WORKDIR)],
                          ["--shape", "1.5b", "--workdir", str(WORKDIR), "--need-gib", "21"]],
    # default `phonelm-export verify` wall time at the real shapes (goal: 15 min for 0.5B)
    "verify_scale": [["--shape", "0.5b", "--workdir", str(WORKDIR)], ["--shape", "1.5b", "--workdir", str(WORKDIR)]],
    "mlc_speed": [["--shape", "small"]],
    # issue 14: decode speed with vs without the request's call grammar (goal: cost <= 15 %)
    "constrained_decode": [[], ["--shape", "0.5b", "--n", "12"]],
}
# per module: the runs of --quick (tiny shapes, a smoke run of the harness)
QUICK = {
    "gguf_speed": [["--hidden", "256", "--ffn", "768", "--layers", "2", "--heads", "4", "--prompt", "64", "--decode", "16", "--repeats", "1"]],
    "gguf_scale": [["--shapes", "tiny", "small", "--repeats", "1"]],
    "gguf_convert": [["--hidden", "256", "--ffn", "768", "--layers", "2", "--heads", "4"]],
    "gguf_compat_prefill": [["--hidden", "256", "--ffn", "768", "--layers", "2", "--heads", "4", "--prompt", "64",
                             "--decode", "8", "--repeats", "1", "--rounds", "1"]],
    "executorch_speed": [["--shape", "tiny", "--reps", "1"]],
    "executorch_memory": [["--shape", "tiny", "--recipes", "fp32", "8da4w-g32"]],
    "verify_scale": [["--shape", "tiny"]],
    "mlc_speed": [["--shape", "tiny"]],
    "constrained_decode": [["--quick"]],
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def modules(only: list[str] | None) -> list[str]:
    names = sorted(p.stem for p in HERE.glob("*_*.py") if not p.stem.startswith("_"))
    return [n for n in names if not only or n in only or n.split("_")[0] in only]


def read_sections(path: Path) -> dict[str, str]:
    """``## module`` sections of an earlier RESULTS.md (several runs of one module stay together)."""
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    for chunk in path.read_text().split("\n## ")[1:]:
        mod = chunk.split("\n", 1)[0].strip()
        out[mod] = out.get(mod, "") + "## " + chunk.rstrip("\n") + "\n\n"
    return out


def run_one(mod: str, extra: list[str]) -> str:
    """One benchmark process; its output as a RESULTS.md section."""
    cmd = " ".join(["python -m bench." + mod, *extra])
    print(f"== {cmd}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    when = dt.datetime.now(dt.timezone.utc)
    load = os.getloadavg()[0]
    p = subprocess.run([sys.executable, "-m", f"bench.{mod}", *extra], cwd=HERE.parent, capture_output=True, text=True)
    took = time.perf_counter() - t0
    body = p.stdout.strip() or "(no output)"
    if p.returncode:
        body += f"\n\nexit status {p.returncode}:\n" + "\n".join(p.stderr.strip().splitlines()[-15:])
    print(body, flush=True)
    return (f"## {mod}\n\n`{cmd}` ({when:%Y-%m-%d %H:%M} UTC, {took:.0f} s, load average {load:.1f} at start)"
            f"\n\n```\n{body}\n```\n\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated parts (gguf, executorch, mlc, verify) or modules (gguf_convert)")
    ap.add_argument("--quick", action="store_true", help="tiny shapes: check the harness, not the machine")
    ap.add_argument("--out", type=Path, help="default: bench/RESULTS.md (quick mode: bench/RESULTS-quick.md, "
                    "so a harness check never overwrites measured results)")
    args = ap.parse_args(argv)
    args.out = args.out or HERE / ("RESULTS-quick.md" if args.quick else "RESULTS.md")
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    mods = modules(only)
    # --only regenerates those parts and keeps the other parts' sections of an earlier run
    kept = {m: sec for m, sec in read_sections(args.out).items() if m not in mods} if only and not args.quick else {}
    sections = dict(kept)
    header = (
        f"# Benchmark results\n\nMachine: {machine()}\n\n"
        f"{'Quick mode: a harness check on tiny shapes, not a measurement. ' if args.quick else ''}"
        "Regenerate with `python -m bench` (or one part: `--only gguf`). Each section is one process and says "
        "when it ran and the load average at its start; ratios inside a section were measured side by side "
        "in that run.\n\n"
    )
    for mod in mods:
        sections[mod] = ""
        for extra in (QUICK if args.quick else FULL).get(mod, [[]]):
            sections[mod] += run_one(mod, extra)
            # after every run: a long suite stopped halfway keeps what it measured
            args.out.write_text(header + "\n".join(sections[m] for m in sorted(sections) if sections[m]))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
