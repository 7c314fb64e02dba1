"""GGUF speed: compat (smallthinker, one expert) vs native (patched phonelm) vs a dense llama graph.

    python bench/gguf_speed.py [--hidden 1024 --ffn 2816 --layers 8 --heads 16] [--types q4_0 q8_0]

One random PhoneLM checkpoint is exported three ways per quantization type, and each file's
prompt-processing and decode speed is measured by llama.cpp (2 threads) in the same run, so the
printed ratios compare like with like. The ``llama`` file has the same tensors labelled as
llama.cpp's ``llama`` architecture: a graph of identical cost that computes gated SiLU (not
PhoneLM) — the dense speed PhoneLM would get if llama.cpp knew it.

Decode is also compared with the memory-bandwidth roofline: every weight byte is read once per
generated token, so tokens/s cannot exceed bandwidth / weight bytes. The bandwidth is measured
in the same run (2 threads of numpy summing a buffer much larger than the caches).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from bench._llama_cpp import worker_speed
from bench._machine import busy_warning, memory_bandwidth


def make_checkpoint(d: Path, args) -> Path:
    from phonelm_export.random_model import make_random_checkpoint

    return make_random_checkpoint(
        d / "ckpt", hidden_size=args.hidden, intermediate_size=args.ffn, num_hidden_layers=args.layers,
        num_attention_heads=args.heads, vocab_size=args.vocab, max_position_embeddings=2048, seed=5,
    )


def export_three(ckpt, qtype: str, d: Path) -> dict[str, Path]:
    """compat, native and llama files of one quantization type."""
    from phonelm_export.backends.gguf import BACKEND
    from phonelm_export.backends.gguf.qtypes import check_ftype
    from phonelm_export.backends.gguf.llama_worker import LlamaWorker
    from phonelm_export.backends.gguf.writer import write_gguf
    from phonelm_export.progress import Progress
    from phonelm_export.recipes import parse_recipe

    recipe = parse_recipe(f'purpose = "bench"\nfamily = "experimental"\nbase = "{qtype}"\n', qtype, "gguf")
    out = {}
    for enc in ("compat", "native"):
        out[enc] = BACKEND.export(ckpt, recipe, d / f"{qtype}-{enc}.gguf", progress=Progress(quiet=True), encoding=enc, force=True).path
    full = d / "llama-f32.gguf"
    if not full.exists():
        write_gguf(ckpt, full, encoding="native", arch_name="llama", file_type="f32",
                   type_for=lambda p: "f32")
    out["llama"] = d / f"{qtype}-llama.gguf"
    with LlamaWorker() as w:
        w.call({"op": "quantize", "src": str(full), "dst": str(out["llama"]), "ftype": check_ftype(qtype), "overrides": []}, "quantizing")
    return out


def run(args) -> dict:
    from phonelm_export.backends.gguf.inspect import read_header
    from phonelm_export.backends.gguf.native import native_site
    from phonelm_export.checkpoint import open_checkpoint

    have_native = native_site() is not None
    if not have_native:
        print("native build missing (phonelm-export backends build-llama-cpp): native rows skipped", file=sys.stderr)
    result = {"load_average": os.getloadavg(), "rows": {}}
    busy_warning()
    with tempfile.TemporaryDirectory(prefix="gguf-bench-") as tmp:
        d = Path(tmp)
        ckpt = open_checkpoint(make_checkpoint(d, args))
        result["params"] = ckpt.param_count()
        result["bandwidth_GBps"] = memory_bandwidth() / 1e9
        for q in args.types:
            files = export_three(ckpt, q, d)
            for label, path in files.items():
                if label == "native" and not have_native:
                    continue
                h = read_header(path) if label != "llama" else None
                s = worker_speed(path, native=label == "native", n_prompt=args.prompt, n_decode=args.decode,
                                 repeats=args.repeats)
                weight_bytes = (h.n_bytes if h else path.stat().st_size)
                s["weight_MB"] = weight_bytes / 1e6
                s["roofline_tok_s"] = result["bandwidth_GBps"] * 1e9 / weight_bytes
                s["decode_vs_roofline"] = s["decode_tok_s"] / s["roofline_tok_s"]
                result["rows"][f"{q}/{label}"] = s
                print(f"{q:5s} {label:6s} prefill {s['prefill_tok_s']:8.1f} tok/s  decode {s['decode_tok_s']:7.1f} tok/s  "
                      f"({100 * s['decode_vs_roofline']:.0f}% of the {s['roofline_tok_s']:.0f} tok/s roofline)", flush=True)
    ratios = {}
    for q in args.types:
        base = result["rows"][f"{q}/llama"]
        for label in ("compat", "native"):
            r = result["rows"].get(f"{q}/{label}")
            if r:
                ratios[f"{q} {label}/llama prefill"] = r["prefill_tok_s"] / base["prefill_tok_s"]
                ratios[f"{q} {label}/llama decode"] = r["decode_tok_s"] / base["decode_tok_s"]
    result["ratios"] = ratios
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--ffn", type=int, default=2816)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--vocab", type=int, default=384)
    ap.add_argument("--types", nargs="+", default=["q4_0", "q8_0"])
    ap.add_argument("--prompt", type=int, default=256)
    ap.add_argument("--decode", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", dest="json_out")
    a = ap.parse_args(argv)
    result = run(a)
    print(f"{result['params']:,} parameters; memory bandwidth {result['bandwidth_GBps']:.1f} GB/s (2 threads); "
          f"load average {result['load_average'][0]:.1f}")
    for k, v in result["ratios"].items():
        print(f"{k:30s} {v:.2f}x")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
