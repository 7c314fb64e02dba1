"""``export``: checkpoint + recipe -> an MLC model directory (weights, chat config, libraries).

The directory is what MLC's apps consume::

    tensor-cache.json, params_shard_*.bin   weights (MLC's format and quantization layouts)
    mlc-chat-config.json, tokenizer files    model/chat config with PhoneLM's template
    phonelm_<q>-cpu.so                       model library for this CPU (tests, chat, verify)
    phonelm_<q>-android.tar                  system-library archive for mlc4j (--device android)

It is written into a temporary sibling and renamed into place only when everything succeeded.
"""
from __future__ import annotations

from pathlib import Path

from phonelm_export.atomic import atomic_output
from phonelm_export.backend import Artifact
from phonelm_export.errors import PhoneLMError
from phonelm_export.progress import QUIET
from phonelm_export.rope import ROPE_MODES

from .quantization import scheme
from .recipes import recipe_settings



def _check_shapes(dims, s) -> None:
    if not s.quantized:
        return
    for what, n in (("hidden_size", dims.hidden_size), ("intermediate_size", dims.intermediate_size),
                    ("attention width", dims.q_dim)):
        if n % s.group_size:
            raise PhoneLMError(
                f"{s.name} groups {s.group_size} weights along the input dimension, but {what} {n} is not a multiple of it"
            )


def package_entry(lib_name: str, out: Path) -> dict:
    """The ``model_list`` entry of mlc-package-config.json that bundles this export into an APK."""
    return {
        "model": str(out),
        "model_id": out.name,
        "model_lib": lib_name,
        "estimated_vram_bytes": 0,
        "bundle_weight": True,
    }


def export(ckpt, recipe, out: Path, *, force: bool = False, progress=None, devices=("cpu",), rope: str = "float",
           context_window_size: int | None = None, prefill_chunk_size: int | None = None) -> Artifact:
    from .chat_config import write_chat_config
    from .compile import DEVICES, compile_library, model_lib_name
    from .model import PhoneLMConfig
    from .weights import write_tensor_cache

    progress = progress or QUIET
    settings = recipe_settings(recipe)
    s = scheme(settings["quantization"])
    if rope not in ROPE_MODES:
        raise PhoneLMError(f"unknown RoPE mode {rope!r} (choose float or int8)")
    devices = tuple(dict.fromkeys(devices)) or ("cpu",)
    for dev in devices:
        if dev not in DEVICES:
            raise PhoneLMError(f"unknown MLC device {dev!r} (choose {' or '.join(DEVICES)})")
    _check_shapes(ckpt.dims, s)
    if ckpt.tokenizer_file is None:
        raise PhoneLMError(f"{ckpt.path}: no tokenizer.json; MLC's runtime needs one beside the weights")
    ckpt.tokenizer()  # validate it now rather than in the app
    ctx = context_window_size or settings.get("context_window_size") or ckpt.dims.max_position_embeddings
    if ctx > ckpt.dims.max_position_embeddings:
        raise PhoneLMError(
            f"context window {ctx} exceeds the model's max_position_embeddings {ckpt.dims.max_position_embeddings}"
        )
    if ctx <= 0 or (prefill_chunk_size is not None and prefill_chunk_size <= 0):
        raise PhoneLMError("context window and prefill chunk must be positive")
    chunk = prefill_chunk_size or settings.get("prefill_chunk_size") or min(ctx, 2048)
    cfg = PhoneLMConfig.from_dims(ckpt.dims, context_window_size=ctx, prefill_chunk_size=chunk, rope_mode=rope)
    sampling = {k: settings[k] for k in ("temperature", "top_p") if k in settings}

    out = Path(out).expanduser().absolute()
    libs = {}
    with atomic_output(out, force=force, directory=True) as tmp:
        progress.step(f"writing {s.name} weights")
        write_tensor_cache(ckpt, cfg, s, tmp, progress)
        write_chat_config(ckpt, cfg, s, tmp, **sampling)
        for dev in devices:
            path, _meta = compile_library(cfg, s, dev, tmp, progress)
            libs[dev] = path.name
    files = sorted(p for p in out.iterdir() if p.is_file())
    weights_bytes = sum(f.stat().st_size for f in files if f.name.startswith("params_shard_"))
    lib_name = model_lib_name(s, rope)
    meta = {
        "quantization": s.name,
        # on disk, scales included (MLC's own BitsPerParam counts f32 as 32 although it stores bf16)
        "bits_per_weight": round(weights_bytes * 8 / ckpt.dims.param_count(), 3),
        "weights_bytes": weights_bytes,
        "parameters": ckpt.dims.param_count(),
        "rope": rope,
        "context_window_size": ctx,
        "prefill_chunk_size": cfg.prefill_chunk_size,
        "libraries": {dev: str(out / name) for dev, name in libs.items()},
        "model_lib": lib_name,
    }
    if "android" in libs:
        meta["mlc_package_entry"] = package_entry(lib_name, out)
    return Artifact(backend="mlc", path=out, recipe=recipe.name, files=files, meta=meta)
