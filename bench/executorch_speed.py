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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHAPES = {
    # hidden, ffn, layers, heads, vocab  (phonelm-facts.md §1 for 0.5b / 1.5b)
    "tiny": dict(hidden_size=128, intermediate_size=384, num_hidden_layers=2, num_attention_heads=4, vocab_size=2048),
    "small": dict(hidden_size=512, intermediate_size=1536, num_hidden_layers=8, num_attention_heads=8, vocab_size=8192),
    "0.5b": dict(hidden_size=1024, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=16, vocab_size=49152),
    "1.5b": dict(hidden_size=2560, intermediate_size=6816, num_hidden_layers=19, num_attention_heads=16, vocab_size=49152),
}


def padded_tokenizer(path: Path, vocab_size: int) -> Path:
    """A PhoneLM-pipeline toy tokenizer padded with added tokens to exactly ``vocab_size`` entries,
    because ExecuTorch's LLM runner takes the vocabulary size from the tokenizer."""
    from tokenizers import AddedToken, Tokenizer

    from phonelm_export.random_model import toy_tokenizer

    toy_tokenizer(path, 384)
    tok = Tokenizer.from_file(str(path))
    n = tok.get_vocab_size(with_added_tokens=True)
    tok.add_tokens([AddedToken(f"<|bench_pad_{i}|>", special=False) for i in range(n, vocab_size)])
    assert tok.get_vocab_size(with_added_tokens=True) == vocab_size
    tok.save(str(path))
    return path


def make_checkpoint(shape: str, workdir: Path) -> Path:
    import torch

    from phonelm_export.random_model import make_random_checkpoint

    out = workdir / f"phonelm-{shape}-random"
    if (out / "model.safetensors").is_file():
        return out
    dims = SHAPES[shape]
    tok = padded_tokenizer(workdir / f"tokenizer-{shape}.json", dims["vocab_size"])
    # bf16 on disk, as PhoneLM ships
    return make_random_checkpoint(out, tokenizer_json=tok, max_position_embeddings=2048, dtype=torch.bfloat16,
                                  seed=0, **dims)


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


def measure(runner, prompt: list[int], decode_steps: int, reps: int) -> dict:
    """Best of ``reps``: prefill tokens/s over ``prompt``, decode tokens/s over forced steps."""
    import numpy as np

    best_p = best_d = 0.0
    for _ in range(reps):
        runner.reset()
        t0 = time.perf_counter()
        row = runner.prefill(prompt)
        t1 = time.perf_counter()
        for _ in range(decode_steps):
            row = runner.prefill([int(np.argmax(row))])
        t2 = time.perf_counter()
        best_p = max(best_p, len(prompt) / (t1 - t0))
        best_d = max(best_d, decode_steps / (t2 - t1))
    return {"prefill_tok_s": best_p, "decode_tok_s": best_d}


def gguf_q4_0(ckpt: Path, workdir: Path, threads: int, prompt, decode_steps, reps) -> dict | None:
    from phonelm_export.backends import get_backend, present

    if "gguf" not in present() or not get_backend("gguf").available():
        return None
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.recipes import load_recipe

    backend = get_backend("gguf")
    recipe_file = workdir / "q4_0.toml"
    recipe_file.write_text('purpose = "llama.cpp q4_0 for the ExecuTorch benchmark"\nfamily = "experimental"\nbase = "q4_0"\n')
    out = workdir / f"{ckpt.name}-q4_0.gguf"
    try:
        art = backend.export(open_checkpoint(ckpt), load_recipe("gguf", str(recipe_file)), out, force=True)
        # timed inside the llama.cpp worker process (the GGUF runner's per-call IPC would dominate
        # a Python-side loop); ExecuTorch is timed through in-process bindings, a few µs per call
        from phonelm_export.backends.gguf.runner import LlamaWorker

        with LlamaWorker(native=False) as w:
            w.call({"op": "load", "path": str(out), "n_ctx": len(prompt) + decode_steps + 16, "n_threads": threads,
                    "logits_all": False, "kv": "f16"}, "loading")
            head, _ = w.call({"op": "bench", "n_prompt": len(prompt), "n_decode": decode_steps, "repeats": reps},
                             "benchmarking")
    except Exception as e:  # the comparison is optional; say why it is missing
        return {"recipe": "llama.cpp q4_0", "error": str(e).splitlines()[0]}
    return {"recipe": "llama.cpp q4_0", "path": str(out), "size_bytes": art.size_bytes(),
            "prefill_tok_s": head["prefill_tok_s"], "decode_tok_s": head["decode_tok_s"]}


def run(args) -> dict:
    from phonelm_export.backends.executorch.runtime import ExecuTorchRunner

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-executorch-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ckpt = make_checkpoint(args.shape, workdir)
    rows = []
    for recipe in args.recipes:
        out = workdir / f"{ckpt.name}-{recipe}.pte"
        if args.reuse and out.is_file():  # speed only: export cost was measured by an earlier run
            rows.append({"recipe": recipe, "path": str(out), "size_bytes": out.stat().st_size})
            continue
        rows.append(export_in_child(ckpt, recipe, out, args.max_seq_len, args.logits))
        print(f"exported {recipe}: {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
    vocab = SHAPES[args.shape]["vocab_size"]
    prompt = [(17 + 31 * i) % (vocab - 20) + 17 for i in range(args.prompt_len)]
    for row in rows:
        if "error" in row:
            continue
        runner = ExecuTorchRunner(row["path"], threads=args.threads)
        row.update(measure(runner, prompt, args.decode_steps, args.reps))
        del runner
    ref = None if args.no_gguf else gguf_q4_0(ckpt, workdir, args.threads, prompt, args.decode_steps, args.reps)
    if ref:
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
    p.add_argument("--reuse", action="store_true", help="Reuse .pte files already in --workdir (measures speed only).")
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
