"""Cost growth from a PhoneLM-0.5B-shaped to a PhoneLM-1.5B-shaped model in llama.cpp.

    python -m bench.gguf_scale [--shapes 0.5b 1.5b] [--type q4_0] [--workdir DIR]

For each shape (random bf16 weights, the real 49,152-entry vocabulary size) the compat GGUF of
one quantization type is exported by ``phonelm-export gguf`` in a child process (its wall time
and peak RSS belong to that export alone), then llama.cpp measures prefill and decode speed on
2 threads. Decode is set against the memory-bandwidth roofline measured in the same run, and
the 1.5B/0.5B ratios are printed next to the ratio of parameters and of weight bytes: decode
should scale with bytes read per token, prefill with arithmetic.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._models import SHAPES, make_checkpoint
from bench._llama_cpp import worker_speed
from bench._machine import busy_warning, memory_bandwidth

MEASURE = (
    "import resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stderr.write(r.stderr[-2000:]); print(r.stdout.strip()); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)\n"
    "sys.exit(r.returncode)\n"
)


def export(ckpt: Path, qtype: str, out: Path) -> dict:
    recipe = out.with_suffix(".toml")
    recipe.write_text(f'purpose = "benchmark"\nfamily = "experimental"\nbase = "{qtype}"\n')
    cmd = [sys.executable, "-c", MEASURE, sys.executable, "-m", "phonelm_export", "gguf", str(ckpt),
           "--recipe", str(recipe), "-o", str(out), "--force", "--json"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode:
        raise SystemExit(f"export of {ckpt.name} failed: {r.stderr.strip().splitlines()[-1:]}")
    *summary, rss = r.stdout.strip().splitlines()
    info = json.loads("\n".join(summary))
    return {"export_s": wall, "peak_rss_bytes": int(rss), "size_bytes": info.get("size_bytes", out.stat().st_size),
            "bits_per_weight": info.get("bits_per_weight")}


def run(args) -> dict:
    from phonelm_export.backends.gguf.inspect import read_header
    from phonelm_export.checkpoint import open_checkpoint

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-gguf-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    busy_warning()
    bandwidth = memory_bandwidth()
    rows = {}
    for shape in args.shapes:
        ckpt = make_checkpoint(shape, workdir)
        out = workdir / f"{ckpt.name}-{args.type}.gguf"
        row = {"params": open_checkpoint(ckpt).param_count(), "load_average_before": os.getloadavg()[0]}
        row.update(export(ckpt, args.type, out))
        h = read_header(out)
        row["weight_bytes"] = h.n_bytes
        row.update(worker_speed(out, threads=args.threads, n_prompt=args.prompt, n_decode=args.decode,
                                repeats=args.repeats))
        row["roofline_tok_s"] = bandwidth / h.n_bytes
        rows[shape] = row
        print(f"{shape}: {json.dumps(row)}", file=sys.stderr, flush=True)
        out.unlink()
    result = {"type": args.type, "threads": args.threads, "bandwidth_GBps": bandwidth / 1e9, "rows": rows}
    print_table(result)
    return result


def print_table(result: dict) -> None:
    rows = result["rows"]
    print(f"llama.cpp compat GGUF {result['type']}, {result['threads']} threads; memory bandwidth "
          f"{result['bandwidth_GBps']:.1f} GB/s (2 threads, measured in this run)")
    print(f"{'shape':<8}{'params':>15}{'file MB':>10}{'export s':>10}{'peak GiB':>10}{'prefill t/s':>13}"
          f"{'decode t/s':>12}{'roofline':>10}{'of roofline':>13}")
    for shape, r in rows.items():
        print(f"{shape:<8}{r['params']:>15,}{r['size_bytes'] / 1e6:>10.0f}{r['export_s']:>10.0f}"
              f"{r['peak_rss_bytes'] / 2**30:>10.2f}{r['prefill_tok_s']:>13.1f}{r['decode_tok_s']:>12.2f}"
              f"{r['roofline_tok_s']:>10.1f}{100 * r['decode_tok_s'] / r['roofline_tok_s']:>12.0f}%")
    if len(rows) == 2:
        (sa, a), (sb, b) = rows.items()
        print(f"{sb}/{sa}: parameters {b['params'] / a['params']:.2f}x, weight bytes {b['weight_bytes'] / a['weight_bytes']:.2f}x, "
              f"export time {b['export_s'] / a['export_s']:.2f}x, export peak RSS {b['peak_rss_bytes'] / a['peak_rss_bytes']:.2f}x, "
              f"prefill time/token {a['prefill_tok_s'] / b['prefill_tok_s']:.2f}x, "
              f"decode time/token {a['decode_tok_s'] / b['decode_tok_s']:.2f}x")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", nargs="+", default=["0.5b", "1.5b"], choices=sorted(SHAPES))
    ap.add_argument("--type", default="q4_0")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--decode", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--workdir", help="Cache the random checkpoints here (reused across runs and benchmarks).")
    ap.add_argument("--json", dest="json_out")
    a = ap.parse_args(argv)
    result = run(a)
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
