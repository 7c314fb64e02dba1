"""Checkpoint -> MLC's on-disk weights: ``tensor-cache.json`` + ``params_shard_*.bin``.

Tensors are streamed: one MLC parameter is built from the checkpoint tensors it needs (three
for the fused ``qkv_proj``, two for ``gate_up_proj``), quantized, handed to TVM's tensor-cache
writer (``tvm.contrib.tvmjs.dump_tensor_cache``, the writer MLC's ``convert_weight`` uses, so the
records, shard sizes and md5 sums are the ones MLC's loader expects) and dropped before the next.
"""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Iterator

import numpy as np

from .model import PhoneLMConfig, param_layout
from .quantization import QuantScheme, group_quantize

TENSOR_CACHE = "tensor-cache.json"
SHARD_MB = 32  # MLC's default shard cap


def _source_names(mlc_name: str) -> list[str]:
    """Checkpoint tensors (concatenated along dim 0) that make one MLC weight."""
    base = mlc_name.rsplit(".", 1)[0]  # drop .weight / .q_weight / .q_scale
    if base.endswith("self_attn.qkv_proj"):
        p = base[: -len("qkv_proj")]
        return [p + "q_proj.weight", p + "k_proj.weight", p + "v_proj.weight"]
    if base.endswith("mlp.gate_up_proj"):
        p = base[: -len("gate_up_proj")]
        return [p + "gate_proj.weight", p + "up_proj.weight"]
    return [base + ".weight"]


def mlc_params(ckpt, cfg: PhoneLMConfig, s: QuantScheme) -> Iterator[tuple[str, np.ndarray]]:
    """(MLC name, array in its stored dtype) in the library's parameter order, one at a time."""
    layout = param_layout(cfg, s)
    expected = {n: (shape, dt) for n, shape, dt in layout}
    pending: dict[str, np.ndarray] = {}  # the q_scale computed with its q_weight
    for name, shape, dtype in layout:
        if name in pending:
            arr = pending.pop(name)
        else:
            import torch

            parts = [ckpt.tensor(n).to(torch.float32) for n in _source_names(name)]
            w = (parts[0] if len(parts) == 1 else torch.cat(parts, dim=0)).numpy()
            del parts
            if name.endswith(".q_weight"):
                arr, scale = group_quantize(w, s)
                pending[name[: -len("q_weight")] + "q_scale"] = scale
            else:
                arr = w.astype(s.model_dtype)
            del w
        if tuple(arr.shape) != tuple(shape) or str(arr.dtype) != dtype:
            raise AssertionError(f"{name}: built {arr.shape} {arr.dtype}, the library expects {shape} {dtype}")
        yield name, np.ascontiguousarray(arr)
    assert not pending and len(expected) == len(layout)


def write_tensor_cache(ckpt, cfg: PhoneLMConfig, s: QuantScheme, out_dir: Path, progress=None) -> dict:
    """Write the weights into ``out_dir``; return the ``metadata`` block of tensor-cache.json."""
    from tvm.contrib.tvmjs import dump_tensor_cache

    layout = param_layout(cfg, s)
    stored_bytes = sum(int(np.prod(shape)) * np.dtype(dt).itemsize for _, shape, dt in layout)
    n_weights = ckpt.dims.param_count()
    meta = {
        "ParamSize": len(layout),
        "ParamBytes": stored_bytes,
        "BitsPerParam": stored_bytes * 8.0 / n_weights,
    }
    items = mlc_params(ckpt, cfg, s)
    if progress is not None:
        items = progress.iter(items, desc=f"weights {s.name}", total=len(layout), unit="tensor")
    # the writer prints its own progress on stdout, which belongs to --json output: keep it quiet
    with contextlib.redirect_stdout(io.StringIO()):
        dump_tensor_cache(items, str(out_dir), encode_format="f32-to-bf16", meta_data=meta,
                          shard_cap_mb=SHARD_MB, show_progress=False)
    # MLC's runtime reads tensor-cache.json only; the writer's bf16 twin is for WebLLM
    (out_dir / "tensor-cache-b16.json").unlink(missing_ok=True)
    return meta


def read_records(model_dir: Path) -> list[dict]:
    """Every parameter record of a tensor cache (name, shape, dtype, format, nbytes, byteOffset, shard)."""
    cache = json.loads((model_dir / TENSOR_CACHE).read_text())
    out = []
    for shard in cache["records"]:
        for rec in shard["records"]:
            out.append({**rec, "dataPath": shard["dataPath"]})
    return out
