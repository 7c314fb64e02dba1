"""ExecuTorch export cost and run speed for a PhoneLM-shaped model, side by side with llama.cpp.

For one model shape (random weights: speed and memory do not depend on their values):

* each recipe is exported in a fresh process (``phonelm-export executorch --json``) so the
  child's own peak RSS and wall time belong to that recipe alone;
* every ``.pte`` is then run in ExecuTorch's runtime on ``--threads`` threads (default 2):
  prefill tokens/s over one prompt, decode tokens/s over forced single-token steps;
* when the GGUF backend is installed, the same checkpoint as llama.cpp ``q4_0`` is measured
  the same way in the same run, and every ratio is printed against it and against fp32.

``python bench/executorch_speed.py --shape tiny`` is a one-minute smoke run; ``--shape 0.5b``
exports a PhoneLM-0.5B-shaped model (fp32 lowering took ~22 min and 12.9 GB here), ``--shape
1.5b --recipes 8da4w-g32`` the 1.5B shape. ``run(args) -> dict`` is the entry for ``python -m bench``.
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

def export_in_child(ckpt: Path, recipe: str, out: Path, max_seq_len: int, logits: str) -> dict:
    cmd = [sys.executable, "-m", "phonelm_export", "executorch", str(ckpt), "--recipe", recipe,
           "--max-seq-len", str(max_seq_len), "--logits", logits, "-o", str(out), "--force", "--json"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        tail = [l for l in res.stderr.splitlines() if l.strip()][-3:]
        return {"recipe": recipe, "error": " | ".join(tail)}
    summary = json.loads(res.stdout)
    return {"recipe": recipe, "path": str(out), "size_bytes": summary["pte_bytes"], "export_wall_s": wall,
            "export_seconds": summary["export_seconds"], "peak_rss_bytes": summary["peak_rss_bytes"]}


def run(args) -> dict:
    from bench._machine import busy_warning
    from phonelm_export.verify import measure_speed

    busy_warning()
    from phonelm_export.backends.executorch.runner import ExecuTorchRunner

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-executorch-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ckpt = make_checkpoint(args.shape, workdir)
    rows = []
    for recipe in args.recipes:
        out = workdir / f"{ckpt.name}-{recipe}.pte"
        record = out.with_suffix(".export.json")
        if args.reuse and out.is_file() and record.is_file():
            # export cost measured by an earlier run (its record says when and under what load)
            rows.append({**json.loads(record.read_text()), "reused": True})
            continue
        load = os.getloadavg()[0]
        rows.append(export_in_child(ckpt, recipe, out, args.max_seq_len, args.logits))
        rows[-1]["load_average_before"] = load
        if "error" not in rows[-1]:
            record.write_text(json.dumps(rows[-1], indent=1))
        print(f"exported {recipe}: {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
    if args.export_only:
        print_table({"shape": args.shape, "dims": SHAPES[args.shape], "threads": args.threads, "prompt_len": 0,
                     "decode_steps": 0, "rows": rows})
        return {"shape": args.shape, "rows": rows}
    vocab = SHAPES[args.shape]["vocab_size"]
    prompt = [(17 + 31 * i) % (vocab - 20) + 17 for i in range(args.prompt_len)]
    for row in rows:
        if "error" in row:
            continue
        runner = ExecuTorchRunner(row["path"], threads=args.threads)
        row.update(measure_speed(runner, prompt, args.decode_steps, repeats=args.reps))
        del runner
    ref = None
    if not args.no_gguf:
        from bench._llama_cpp import q4_0_speed

        ref = q4_0_speed(ckpt, workdir, args.threads, len(prompt), args.decode_steps, args.reps)
    if ref:
        ref["recipe"] = "llama.cpp q4_0"
        rows.append(ref)
    baselines = {"fp32": next((r for r in rows if r["recipe"] == "fp32" and "error" not in r), None),
                 "q4_0": ref if ref and "error" not in ref else None}
    for row in rows:
        for name, base in baselines.items():
            if base is None or "error" in row or row is base:
                continue
            for k in ("prefill_tok_s", "decode_tok_s"):
                row[f"{k}_vs_{name}"] = row[k] / base[k]
    result = {"shape": args.shape, "dims": SHAPES[args.shape], "threads": args.threads, "prompt_len": args.prompt_len,
              "decode_steps": args.decode_steps, "max_seq_len": args.max_seq_len, "logits": args.logits,
              "checkpoint": str(ckpt), "rows": rows}
    print_table(result)
    return result


def print_table(result: dict) -> None:
    print(f"PhoneLM shape {result['shape']} {result['dims']}, {result['threads']} threads, "
          f"prompt {result['prompt_len']}, decode {result['decode_steps']} steps")
    cols = [("size MB", "size_bytes", 1e-6, ".1f"), ("export s", "export_wall_s", 1, ".0f"),
            ("peak GiB", "peak_rss_bytes", 2**-30, ".2f"), ("prefill t/s", "prefill_tok_s", 1, ".1f"),
            ("decode t/s", "decode_tok_s", 1, ".1f"), ("pre/q4_0", "prefill_tok_s_vs_q4_0", 1, ".2f"),
            ("dec/q4_0", "decode_tok_s_vs_q4_0", 1, ".2f"), ("pre/fp32", "prefill_tok_s_vs_fp32", 1, ".2f"),
            ("dec/fp32", "decode_tok_s_vs_fp32", 1, ".2f")]
    print(f"{'recipe':<16}" + "".join(f"{c[0]:>12}" for c in cols))
    for r in result["rows"]:
        if "error" in r:
            print(f"{r['recipe']:<16} error: {r['error']}")
            continue
        cells = [format(r[k] * scale, fmt) if k in r else "-" for _, k, scale, fmt in cols]
        print(f"{r['recipe']:<16}" + "".join(f"{c:>12}" for c in cells))
    if any(r.get("reused") for r in result["rows"]):
        print("export s / peak GiB of reused .pte files come from the run that exported them (its record in --workdir)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    p.add_argument("--recipes", nargs="+", default=["fp32", "8da4w-g32", "8da4w-g128"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--prompt-len", type=int, default=128)
    p.add_argument("--decode-steps", type=int, default=32)
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--max-seq-len", type=int, default=512)
    p.add_argument("--logits", choices=["all", "last"], default="last",
                   help="last = what an app ships (the runner needs only the last row)")
    p.add_argument("--workdir", help="Keep checkpoint and exports here (reused across runs).")
    p.add_argument("--reuse", action="store_true",
                   help="Reuse .pte files (and their export records) already in --workdir: measures speed only.")
    p.add_argument("--export-only", action="store_true", help="Export and record cost; skip the speed runs.")
    p.add_argument("--no-gguf", action="store_true", help="Skip the llama.cpp q4_0 comparison.")
    p.add_argument("--json", dest="json_out", help="Also write the result to this file.")
    return p


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    out = run(a)
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
