"""Regenerate the measured table in quant_recipes/executorch/README.md.

    python quant_recipes/executorch/measure.py [MODEL] [--recipes ...] [--threads 2]

For each recipe: export MODEL (default: the bundled model) to a .pte in a temporary
directory, run it in ExecuTorch's runtime and measure file size, perplexity on the held-out
text that ``verify`` uses (generated conversations never trained on), top-1 agreement with
the fp32 .pte and with the PyTorch reference over every held-out position, and decode
tokens/s on ``--threads`` threads. The table between the README's markers is replaced.
"""
from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
from pathlib import Path

import numpy as np

README = Path(__file__).with_name("README.md")
START, END = "<!-- measured:start -->", "<!-- measured:end -->"


def measure(model: Path, recipes: list[str], threads: int, window: int, max_windows: int, max_seq_len: int) -> dict:
    from phonelm_export.registry import get_backend
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.metrics import perplexity, windows
    from phonelm_export.progress import Progress
    from phonelm_export.recipes import load_recipe
    from phonelm_export.reference import ReferenceRunner
    from phonelm_export.verify import heldout_text, measure_speed

    ckpt = open_checkpoint(model)
    backend = get_backend("executorch")
    backend.check()
    ref = ReferenceRunner.from_checkpoint(ckpt)
    text = heldout_text()
    ids = ref.tokenizer.encode(text)
    ws = windows(ids, window, max_windows)
    ref_logits = [ref.logits(w) for w in ws]
    ref_ppl = perplexity(ref.logits, ids, len(text.encode()), window, max_windows)
    speed_prompt = ws[0][:128]
    rows, fp32_logits = [], None
    tmp = Path(tempfile.mkdtemp(prefix="et-measure-"))
    for name in (["fp32"] + [r for r in recipes if r != "fp32"]):
        recipe = load_recipe("executorch", name)
        art = backend.export(ckpt, recipe, tmp / f"{name}.pte", max_seq_len=max_seq_len, force=True,
                             progress=Progress())
        runner = backend.load(art.path, threads=threads)
        logits = [runner.logits(w) for w in ws]
        if name == "fp32":
            fp32_logits = logits
        top1_fp32 = np.mean(np.concatenate([a.argmax(-1) == b.argmax(-1) for a, b in zip(logits, fp32_logits)]))
        top1_ref = np.mean(np.concatenate([a.argmax(-1) == b.argmax(-1) for a, b in zip(logits, ref_logits)]))
        ppl = perplexity(runner.logits, ids, len(text.encode()), window, max_windows)
        speed = measure_speed(runner, speed_prompt, decode_steps=64)
        rows.append({"recipe": name, "family": recipe.family, "size_bytes": art.path.stat().st_size,
                     "ppl": ppl.ppl, "top1_vs_fp32": float(top1_fp32), "top1_vs_reference": float(top1_ref),
                     "decode_tok_s": speed["decode_tok_s"], "prefill_tok_s": speed["prefill_tok_s"],
                     "export_seconds": art.meta["export_seconds"], "peak_rss_bytes": art.meta["peak_rss_bytes"]})
        print(rows[-1], file=sys.stderr, flush=True)
        del runner
        art.path.unlink()
    return {"model": ckpt.name, "dims": ckpt.dims.to_dict(), "reference_ppl": ref_ppl.ppl, "tokens": ref_ppl.tokens,
            "threads": threads, "rows": rows}


def table(result: dict) -> str:
    d = result["dims"]
    lines = [
        f"Measured {datetime.date.today().isoformat()} on `{result['model']}` (hidden {d['hidden_size']}, "
        f"{d['num_hidden_layers']} layers, vocab {d['vocab_size']}) by `python quant_recipes/executorch/measure.py`: "
        f"perplexity over {result['tokens']} held-out tokens (PyTorch reference: {result['reference_ppl']:.3f}), "
        f"top-1 agreement at every held-out position, speed through ExecuTorch's runtime on {result['threads']} "
        "threads of this shared 2-core machine (compare ratios, not absolute numbers).",
        "",
        "| recipe | family | .pte size | perplexity | Δppl | top-1 vs fp32 | top-1 vs reference | decode tok/s | prefill tok/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        dppl = (r["ppl"] - result["reference_ppl"]) / result["reference_ppl"]
        lines.append(
            f"| {r['recipe']} | {r['family']} | {r['size_bytes'] / 1e6:.2f} MB | {r['ppl']:.3f} | {dppl:+.2%} | "
            f"{r['top1_vs_fp32']:.1%} | {r['top1_vs_reference']:.1%} | {r['decode_tok_s']:.0f} | {r['prefill_tok_s']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", nargs="*", help="checkpoints, one table each (default: the bundled model)")
    p.add_argument("--recipes", nargs="+", default=["fp32", "8da8w", "8da4w-g32", "8da4w-g128"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--window", type=int, default=256)
    p.add_argument("--max-windows", type=int, default=8)
    p.add_argument("--max-seq-len", type=int, default=256)
    p.add_argument("--dry-run", action="store_true", help="print the table, do not edit the README")
    a = p.parse_args()
    from phonelm_export.cli_options import resolve_model

    block = "\n\n".join(table(measure(resolve_model(m), a.recipes, a.threads, a.window, a.max_windows, a.max_seq_len))
                        for m in (a.model or [None]))
    print(block)
    if not a.dry_run:
        text = README.read_text()
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        README.write_text(f"{head}{START}\n{block}\n{END}{tail}")


if __name__ == "__main__":
    main()
