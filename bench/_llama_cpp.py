"""llama.cpp timing for the benchmarks, and ``q4_0`` of a checkpoint as the common yardstick every
backend's speed is printed against (llama.cpp is what mobile apps already ship)."""
from __future__ import annotations

from pathlib import Path


def worker_speed(path: Path, *, threads: int = 2, n_prompt: int, n_decode: int, repeats: int,
                 native: bool = False) -> dict:
    """``{prefill_tok_s, decode_tok_s}`` of a GGUF, timed inside the llama.cpp worker process (the GGUF
    runner's per-call IPC would dominate a Python-side loop; the other runtimes are timed through
    in-process bindings)."""
    from phonelm_export.backends.gguf.llama_worker import LlamaWorker

    with LlamaWorker(native=native) as w:
        w.call({"op": "load", "path": str(path), "n_ctx": n_prompt + n_decode + 16, "n_threads": threads,
                "logits_all": False, "kv": "f16"}, "loading")
        head, _ = w.call({"op": "bench", "n_prompt": n_prompt, "n_decode": n_decode, "repeats": repeats}, "benchmarking")
    return {"prefill_tok_s": head["prefill_tok_s"], "decode_tok_s": head["decode_tok_s"]}


def q4_0_speed(ckpt: Path, workdir: Path, threads: int, prompt_len: int, decode_steps: int, reps: int) -> dict | None:
    """``{prefill_tok_s, decode_tok_s, size_bytes}`` of the compat q4_0 GGUF of ``ckpt``; None when
    the GGUF backend is not installed, ``{"error": ...}`` when it failed."""
    from phonelm_export.registry import get_backend, names as present

    if "gguf" not in present() or not get_backend("gguf").available():
        return None
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.recipes import load_recipe

    backend = get_backend("gguf")
    recipe_file = Path(workdir) / "q4_0.toml"
    recipe_file.write_text('purpose = "llama.cpp q4_0 yardstick for the benchmarks"\nfamily = "experimental"\nbase = "q4_0"\n')
    out = Path(workdir) / f"{Path(ckpt).name}-q4_0.gguf"
    try:
        art = backend.export(open_checkpoint(ckpt), load_recipe("gguf", str(recipe_file)), out, force=True)
        speed = worker_speed(out, threads=threads, n_prompt=prompt_len, n_decode=decode_steps, repeats=reps)
    except Exception as e:  # the comparison is optional; say why it is missing
        return {"error": str(e).splitlines()[0]}
    return {"size_bytes": art.size_bytes(), **speed}
