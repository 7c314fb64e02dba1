"""MLC backend speed on this CPU, side by side with the PyTorch reference, measured in one run.

For one PhoneLM shape (random weights: speed does not depend on their values) every MLC
quantization is exported and compiled for this CPU, then run through TVM's runtime the way
MLC's engine drives it: prefill tokens/s over one prompt, decode tokens/s over forced
single-token steps through the paged KV cache. The PyTorch reference (float32, same threads)
is measured the same way in the same process, and every number is printed as a ratio to it.

TVM's generic CPU schedules are simple (no tuning here), so expect MLC on this CPU to be a
parity vehicle rather than a fast path; on phones MLC runs the OpenCL library instead.

``python bench/mlc_speed.py --shape tiny`` takes a few minutes on 2 cores. ``run(args) -> dict``
is the entry for ``python -m bench``.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench._models import SHAPES

QUANTS = ("q0f32", "q0f16", "q4f16_1", "q4f32_1")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", choices=["tiny", "small"], default="tiny")
    p.add_argument("--quantizations", nargs="+", default=list(QUANTS), choices=QUANTS)
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--decode-steps", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="torch threads for the reference (TVM uses its own pool)")
    p.add_argument("--json", action="store_true")
    return p


def run(args) -> dict:
    from bench._machine import busy_warning

    busy_warning()
    import numpy as np
    import torch

    from phonelm_export.registry import get_backend
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.progress import Progress
    from phonelm_export.random_model import make_random_checkpoint
    from phonelm_export.recipes import load_recipe
    from phonelm_export.reference import ReferenceRunner
    from phonelm_export.verify import measure_speed

    torch.set_num_threads(args.threads)
    backend = get_backend("mlc")
    backend.check()
    shape = SHAPES[args.shape]
    out: dict = {"shape": args.shape, **shape, "prompt_tokens": args.prompt_tokens, "decode_steps": args.decode_steps}
    with tempfile.TemporaryDirectory(prefix="mlc-bench-") as tmp:
        tmp = Path(tmp)
        ckpt_path = make_random_checkpoint(tmp / "ckpt", seed=0, **shape)
        ckpt = open_checkpoint(ckpt_path)
        ctx = args.prompt_tokens + 2 * args.decode_steps + 8
        prompt = [int(x) for x in np.random.default_rng(0).integers(3, shape["vocab_size"], args.prompt_tokens)]
        ref = ReferenceRunner.from_checkpoint(ckpt)
        out["pytorch_fp32"] = measure_speed(ref, prompt, args.decode_steps, repeats=2)
        rows = {}
        for q in args.quantizations:
            t0 = time.perf_counter()
            art = backend.export(ckpt, load_recipe("mlc", q), tmp / q, progress=Progress(quiet=True),
                                 devices=("cpu",), context_window_size=ctx)
            export_s = time.perf_counter() - t0
            runner = backend.load(art.path)
            try:
                sp = measure_speed(runner, prompt, args.decode_steps, repeats=2)
            finally:
                runner.close()
            rows[q] = {
                "export_and_compile_s": export_s,
                "size_bytes": art.size_bytes(),
                "bits_per_weight": art.meta["bits_per_weight"],
                **sp,
                "prefill_vs_pytorch": sp["prefill_tok_s"] / out["pytorch_fp32"]["prefill_tok_s"],
                "decode_vs_pytorch": sp["decode_tok_s"] / out["pytorch_fp32"]["decode_tok_s"],
            }
        out["mlc"] = rows
        from bench._llama_cpp import q4_0_speed

        q4 = q4_0_speed(ckpt_path, tmp, args.threads, args.prompt_tokens, args.decode_steps, 2)
        if q4 and "error" not in q4:
            for r in rows.values():
                r["decode_vs_llama_cpp_q4_0"] = r["decode_tok_s"] / q4["decode_tok_s"]
        out["llama_cpp_q4_0"] = q4
    return out


def render(res: dict) -> str:
    ref = res["pytorch_fp32"]
    lines = [
        f"shape {res['shape']}: hidden {res['hidden_size']}, ffn {res['intermediate_size']}, layers "
        f"{res['num_hidden_layers']}, vocab {res['vocab_size']}; prompt {res['prompt_tokens']} tokens, "
        f"{res['decode_steps']} decode steps",
        f"{'runtime':22s} {'size':>10s} {'bits/w':>7s} {'prefill tok/s':>14s} {'decode tok/s':>13s} "
        f"{'prefill x':>10s} {'decode x':>9s} {'export s':>9s} {'dec/q4_0':>9s}",
        f"{'pytorch fp32 (ref)':22s} {'':>10s} {'':>7s} {ref['prefill_tok_s']:14.0f} {ref['decode_tok_s']:13.1f} "
        f"{1.0:10.2f} {1.0:9.2f} {'':>9s}",
    ]
    for q, r in res["mlc"].items():
        lines.append(
            f"{'mlc ' + q:22s} {r['size_bytes'] / 1e6:9.2f}M {r['bits_per_weight']:7.2f} {r['prefill_tok_s']:14.0f} "
            f"{r['decode_tok_s']:13.1f} {r['prefill_vs_pytorch']:10.2f} {r['decode_vs_pytorch']:9.2f} "
            f"{r['export_and_compile_s']:9.0f} {r.get('decode_vs_llama_cpp_q4_0', float('nan')):9.2f}"
        )
    q4 = res.get("llama_cpp_q4_0")
    if q4 and "error" not in q4:
        lines.append(
            f"{'llama.cpp q4_0':22s} {q4['size_bytes'] / 1e6:9.2f}M {'':>7s} {q4['prefill_tok_s']:14.0f} "
            f"{q4['decode_tok_s']:13.1f} {q4['prefill_tok_s'] / ref['prefill_tok_s']:10.2f} "
            f"{q4['decode_tok_s'] / ref['decode_tok_s']:9.2f}")
    elif q4:
        lines.append(f"llama.cpp q4_0: {q4['error']}")
    else:
        lines.append("llama.cpp q4_0: GGUF backend not installed, no comparison")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    res = run(args)
    print(json.dumps(res, indent=2) if args.json else render(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
