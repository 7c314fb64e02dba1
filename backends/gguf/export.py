"""``export``: a validated checkpoint + GGUF recipe -> one .gguf file, written atomically.

f32/f16/bf16/q8_0 recipes are written by gguf-py (:mod:`.writer`); every other type goes through
llama.cpp's own quantizer (``llama_model_quantize`` in the :mod:`.llama_worker` process) from a
full-precision intermediate file, optionally with an importance matrix (:mod:`.imatrix`).
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from phonelm_export.backend import Artifact
from phonelm_export.errors import PhoneLMError

from .recipes import K_BLOCK, is_k_type

EXPORT_OPTIONS = {"encoding", "imatrix", "calibration", "threads", "save_imatrix"}

def export(backend, checkpoint, recipe, out: Path, *, force: bool = False, progress=None, **options) -> Artifact:
    """Options: ``encoding`` (compat|native), ``imatrix`` (file), ``calibration`` (text file),
    ``threads``, ``save_imatrix`` (path to keep a computed importance matrix)."""
    from phonelm_export.atomic import atomic_output, check_output
    from phonelm_export.recipes import validated

    from .register import check_encoding
    from .inspect import read_header
    from .qtypes import DIRECT
    from .writer import direct_type_for, write_gguf

    unknown = sorted(set(options) - EXPORT_OPTIONS)
    if unknown:
        raise PhoneLMError(f"unknown GGUF export option {unknown[0]!r} (known: {', '.join(sorted(EXPORT_OPTIONS))})")
    recipe = validated(backend, recipe)
    encoding = check_encoding(options.get("encoding") or "compat")
    out = Path(out)
    check_output(out, force)
    if checkpoint.tokenizer_file is None:
        raise PhoneLMError(f"{checkpoint.path}: a GGUF needs the tokenizer; no tokenizer.json beside the weights")
    base = recipe.data["base"].lower()
    overrides = [(re.compile(p), t.lower()) for p, t in recipe.data.get("types", {}).items()]
    direct = base in DIRECT and all(t in DIRECT for _, t in overrides)
    wants_imatrix = bool(options.get("imatrix") or options.get("calibration") or recipe.data.get("imatrix"))
    if direct and (options.get("imatrix") or options.get("calibration")):
        raise PhoneLMError(f"recipe {recipe.name} writes {base} directly; an importance matrix only matters for llama.cpp's quantizer")
    if options.get("calibration") and not direct:
        from .imatrix import read_calibration

        # read (and check) the user's text before minutes of work, not after
        options = {**options, "calibration_texts": read_calibration(Path(options["calibration"]))}
    meta_keys = {"encoding": encoding, "recipe": recipe.name, "source": checkpoint.name}
    imatrix_info = None
    with atomic_output(out, force=force) as tmp:
        if direct:
            report = write_gguf(
                checkpoint, tmp, encoding=encoding, file_type=base, metadata=meta_keys, progress=progress,
                type_for=lambda p: direct_type_for(p, base, overrides),
            )
            fallbacks = report.fallbacks()
        else:
            imatrix_info = _quantize_via_llama(
                checkpoint, recipe, tmp, encoding, base, overrides, meta_keys,
                wants_imatrix=wants_imatrix, progress=progress, options=options,
            )
            fallbacks = None
        header = read_header(tmp)
        if fallbacks is None:
            fallbacks = _k_fallbacks(header, base, overrides)
    header.path = out
    meta = {
        "format": "gguf",
        "encoding": encoding,
        "architecture": header.arch,
        "base_type": base,
        "bits_per_weight": round(header.bits_per_weight, 4),
        "n_params": header.n_params,
        "type_counts": header.type_counts(),
        "tensor_types": header.tensor_types,
        "fallbacks": fallbacks,
        "imatrix": imatrix_info,
        "runs_on": "stock llama.cpp" if encoding == "compat" else "llama.cpp with the phonelm patch (phonelm-export backends build-llama-cpp)",
    }
    return Artifact(backend=backend.name, path=out, recipe=recipe.name, files=[out], meta=meta)

def _quantize_via_llama(checkpoint, recipe, tmp: Path, encoding, base, overrides, meta_keys, *,
                        wants_imatrix, progress, options: dict) -> dict | None:
    from .register import tensor_plan
    from .imatrix import (builtin_calibration, compute_imatrix, save_imatrix,
                          translate_imatrix)
    from .qtypes import block_size, check_ftype, check_tensor_type
    from .llama_worker import LlamaWorker
    from .writer import write_gguf

    step = progress.step if progress else (lambda m: None)
    # the quantizer reads a full-precision GGUF; keep the checkpoint's precision
    inter_type = {"bfloat16": "bf16", "float16": "f16"}.get(checkpoint.dtype, "f32")
    workdir = Path(tempfile.mkdtemp(prefix=".gguf-work-", dir=tmp.parent))
    try:
        inter = workdir / "full.gguf"
        write_gguf(checkpoint, inter, encoding=encoding, file_type=inter_type, metadata=meta_keys, progress=progress,
                   type_for=lambda p: inter_type if (p.is_matrix and p.source is not None) else "f32")
        imatrix_path, info = None, None
        if wants_imatrix:
            if options.get("imatrix"):
                src = Path(options["imatrix"])
                if not src.is_file():
                    raise PhoneLMError(f"{src}: no such importance-matrix file")
                dataset = str(src)
            else:
                calib = options.get("calibration")
                texts = options["calibration_texts"] if calib else builtin_calibration()
                dataset = str(calib) if calib else "builtin"
                n_tokens = int(recipe.data.get("calibration_tokens", 16384))
                step(f"computing the importance matrix with the PyTorch reference ({dataset}, up to {n_tokens} tokens)")
                stats = compute_imatrix(checkpoint, texts, max_tokens=n_tokens, progress=progress)
                src = workdir / "computed.imatrix.gguf"
                save_imatrix(stats, src, dataset=dataset, chunk_size=256, n_chunks=-(-max(c for _, c in stats.values()) // 256))
                keep = options.get("save_imatrix")
                if keep:
                    from phonelm_export.atomic import atomic_output

                    with atomic_output(Path(keep), force=True) as kt:
                        os.replace(src, kt)
                    src = Path(keep)
            imatrix_path = workdir / "imatrix.gguf"
            n = translate_imatrix(src, imatrix_path, encoding)
            info = {"source": dataset, "entries": n, **({"file": str(options["save_imatrix"])} if options.get("save_imatrix") else {})}
        # explicit per-tensor rules first (first match wins in llama.cpp)
        tt: list[tuple[str, int]] = []
        inc = recipe.data.get("incompatible", "llama.cpp")
        if inc != "llama.cpp" and is_k_type(base):
            for p in tensor_plan(checkpoint, encoding):
                if p.is_matrix and p.source is not None and p.row_size % K_BLOCK:
                    explicit = next((t for pat, t in overrides if pat.search(p.name)), None)
                    if explicit is None or p.row_size % block_size(explicit):
                        tt.append((f"^{re.escape(p.name)}$", check_tensor_type(inc)))
        tt += [(pat.pattern, check_tensor_type(t)) for pat, t in overrides]
        step(f"quantizing to {base} with llama.cpp ({'native' if encoding == 'native' else 'stock'} build)")
        with LlamaWorker(native=encoding == "native", threads=options.get("threads")) as w:
            w.call({"op": "quantize", "src": str(inter), "dst": str(tmp), "ftype": check_ftype(base),
                    "overrides": tt, "imatrix": str(imatrix_path) if imatrix_path else None,
                    "n_threads": options.get("threads") or 2},
                   f"quantizing to {base}")
        return info
    finally:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


def _k_fallbacks(header, base: str, overrides) -> list[dict]:
    """Matrices whose rows do not hold whole 256-blocks under a K/IQ recipe, and what they got."""
    if not is_k_type(base):
        return []
    return [
        {"tensor": name, "row_size": header.tensor_shapes[name][0], "written": t}
        for name, t in header.tensor_types.items()
        if len(header.tensor_shapes[name]) >= 2 and not name.endswith("ffn_gate_inp.weight")
        and header.tensor_shapes[name][0] % K_BLOCK
    ]
