"""The GGUF backend: export a PhoneLM checkpoint to a llama.cpp file, and run such files.

Recipe vocabulary (``quant_recipes/gguf/*.toml``, beside ``purpose`` and ``family``):

``base``          llama.cpp file type: f32, f16, bf16, q8_0 (written by gguf-py) or any other
                  llama.cpp type such as q4_0, q4_k_m, q5_k_m, q6_k, iq4_nl (through llama.cpp's
                  quantizer, ``llama_model_quantize``).
``[types]``       per-tensor ggml types by GGUF-name regex (first match wins, as in llama.cpp),
                  e.g. ``'^token_embd\\.weight$' = "q8_0"`` keeps the tied embedding/head finer.
``incompatible``  what a matrix whose rows are not a multiple of 256 gets when its type would be
                  a 256-block K/IQ type: ``"llama.cpp"`` (its fixed rule: Q4_K->Q5_0,
                  Q5_K->Q5_1, Q6_K->Q8_0, Q2_K/Q3_K->Q4_0, IQ*->IQ4_NL) or a type name applied
                  to exactly those tensors. PhoneLM-1.5B's ffn_down (6816 columns) is such a
                  tensor; at the bundled model's sizes, all are.
``imatrix``       true: quantize with an importance matrix from calibration text (``--calibration``
                  or built-in text), or a given ``--imatrix`` file.
``calibration_tokens``  tokens of calibration text for the importance matrix (default 16384).
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from phonelm_export.backends.base import Artifact, Backend
from phonelm_export.errors import PhoneLMError, RecipeError

RECIPE_KEYS = {"base", "types", "incompatible", "imatrix", "calibration_tokens", "notes"}
K_BLOCK = 256


class GGUFBackend(Backend):
    name = "gguf"
    extra = "gguf"
    description = "llama.cpp GGUF (compat: stock smallthinker arch; native: patched phonelm arch)"
    requires = ("gguf", "llama_cpp")

    # -- recipes -----------------------------------------------------------------------------
    def validate_recipe(self, recipe) -> None:
        from .qtypes import DIRECT, NEEDS_IMATRIX, check_ftype, check_tensor_type

        data = recipe.data
        unknown = sorted(set(data) - RECIPE_KEYS)
        if unknown:
            raise RecipeError(f"recipe {recipe.name}: unknown key {unknown[0]!r} (known: {', '.join(sorted(RECIPE_KEYS))})")
        base = data.get("base")
        if not isinstance(base, str):
            raise RecipeError(f"recipe {recipe.name}: needs base = a llama.cpp type (f16, q8_0, q4_k_m, ...)")
        check_ftype(base)
        types = data.get("types", {})
        if not isinstance(types, dict):
            raise RecipeError(f"recipe {recipe.name}: [types] must map tensor-name patterns to types")
        for pattern, t in types.items():
            try:
                re.compile(pattern)
            except re.error as e:
                raise RecipeError(f"recipe {recipe.name}: bad tensor pattern {pattern!r} ({e})") from None
            if not isinstance(t, str):
                raise RecipeError(f"recipe {recipe.name}: type for {pattern!r} must be a string")
            check_tensor_type(t)
        inc = data.get("incompatible", "llama.cpp")
        if inc != "llama.cpp":
            check_tensor_type(inc)
        if base.lower() in NEEDS_IMATRIX and not data.get("imatrix"):
            raise RecipeError(f"recipe {recipe.name}: {base} needs imatrix = true (llama.cpp refuses it without one)")
        if base.lower() in DIRECT and data.get("imatrix"):
            raise RecipeError(f"recipe {recipe.name}: {base} is written directly; an importance matrix would be ignored")

    # -- export --------------------------------------------------------------------------------
    def export(self, checkpoint, recipe, out: Path, *, force: bool = False, progress=None, **options) -> Artifact:
        """Options: ``encoding`` (compat|native), ``imatrix`` (file), ``calibration`` (text file),
        ``threads``, ``save_imatrix`` (path to keep a computed importance matrix)."""
        from phonelm_export.atomic import atomic_output, check_output

        from .arch import check_encoding
        from .inspect import read_header
        from .qtypes import DIRECT
        from .writer import direct_type_for, write_gguf

        self.check()
        self.validate_recipe(recipe)
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
                imatrix_info = self._quantize_via_llama(
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
        return Artifact(backend=self.name, path=out, recipe=recipe.name, files=[out], meta=meta)

    def _quantize_via_llama(self, checkpoint, recipe, tmp: Path, encoding, base, overrides, meta_keys, *,
                            wants_imatrix, progress, options: dict) -> dict | None:
        from .arch import tensor_plan
        from .imatrix import (builtin_calibration, compute_imatrix, read_calibration, save_imatrix,
                              translate_imatrix)
        from .qtypes import block_size, check_ftype, check_tensor_type
        from .runner import LlamaWorker
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
                    texts = read_calibration(Path(calib)) if calib else builtin_calibration()
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
            if inc != "llama.cpp" and _is_k_type(base):
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

    # -- run -------------------------------------------------------------------------------------
    def load(self, path: Path, **options):
        """A Runner for a .gguf file (options: ``n_ctx``, ``kv`` = f32|f16, ``threads``)."""
        from .runner import GGUFRunner

        self.check()
        return GGUFRunner(Path(path), n_ctx=options.get("n_ctx"), kv=options.get("kv", "f32"), threads=options.get("threads"))


# llama.cpp file types whose main tensor types quantize rows in blocks of 256
_K_FTYPES = ("q2_k", "q2_k_s", "q3_k_s", "q3_k_m", "q3_k_l", "q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m", "q6_k",
             "iq1_s", "iq1_m", "iq2_xxs", "iq2_xs", "iq2_s", "iq2_m", "iq3_xxs", "iq3_xs", "iq3_s", "iq3_m",
             "iq4_xs", "tq1_0", "tq2_0")


def _is_k_type(base: str) -> bool:
    return base in _K_FTYPES


def _k_fallbacks(header, base: str, overrides) -> list[dict]:
    """Matrices whose rows do not hold whole 256-blocks under a K/IQ recipe, and what they got."""
    if not _is_k_type(base):
        return []
    return [
        {"tensor": name, "row_size": header.tensor_shapes[name][0], "written": t}
        for name, t in header.tensor_types.items()
        if len(header.tensor_shapes[name]) >= 2 and not name.endswith("ffn_gate_inp.weight")
        and header.tensor_shapes[name][0] % K_BLOCK
    ]
