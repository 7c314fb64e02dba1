"""Stream a PhoneLM checkpoint into a GGUF file with gguf-py, one tensor in memory at a time.

gguf-py's usual ``add_tensor`` keeps every array until the end; instead every tensor's name,
shape and type is declared up front (shapes come from the checkpoint header), the header is
written, and then each tensor is read, converted and written in the declared order.

Memory: the peak is the interpreter plus one converted tensor plus one small chunk. Weights are
read from the safetensors files with ``pread`` (:mod:`phonelm_export.pread_tensors`), not through the
memory map ``safe_open`` makes: every page read through a map stays mapped, and counted in
this process's RSS, until the file is closed — so a streaming writer's peak used to grow by the
whole checkpoint (1.44x llama.cpp's converter on bench/gguf_convert.py). A tensor is converted
in chunks of rows straight into its output array (f32, f16, or the quantized blocks, which
never cross a row), so no float32 copy of a whole bf16 tensor exists either. The bytes written
are the same: bf16 and f16 widen to f32 exactly, and the f32 -> f16 rounding and the Q8_0
blocks are computed by the same numpy/gguf-py code, row by row.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .register import ARCH_NAMES, TensorPlan, tensor_plan, write_arch_metadata
from phonelm_export.pread_tensors import SafetensorsReader, open_reader

from .qtypes import DIRECT, FTYPES, block_size, nbytes
from .vocab import read_vocab

METADATA_PREFIX = "phonelm_export"  # our provenance keys; llama.cpp ignores unknown keys


@dataclass
class WrittenTensor:
    name: str
    shape: tuple[int, ...]
    type: str
    requested: str


@dataclass
class WriteReport:
    tensors: list[WrittenTensor] = field(default_factory=list)

    def fallbacks(self) -> list[dict]:
        return [
            {"tensor": t.name, "requested": t.requested, "written": t.type, "row_size": t.shape[-1]}
            for t in self.tensors if t.type != t.requested
        ]


def direct_type_for(plan: TensorPlan, base: str, overrides: list[tuple[re.Pattern, str]]) -> str:
    """The type gguf-py writes for this tensor: 1-D tensors and the router stay F32."""
    if not plan.is_matrix or plan.source is None:
        return "f32"
    for pattern, t in overrides:
        if pattern.search(plan.name):
            return t
    return base


CHUNK_BYTES = 32 << 20  # float32 bytes of one conversion chunk


def _converted(read_rows, n_rows: int, row_size: int, type_name: str) -> np.ndarray:
    """The tensor in ``type_name``, built chunk of rows by chunk of rows (``read_rows(a, b)``
    -> float32 ``[b - a, row_size]``)."""
    import gguf

    if type_name in ("f32", "f16"):
        out = np.empty((n_rows, row_size), dtype=np.float32 if type_name == "f32" else np.float16)
        qtype = None
    else:
        qtype = gguf.GGMLQuantizationType[type_name.upper()]
        block, type_bytes = gguf.GGML_QUANT_SIZES[qtype]
        out = np.empty((n_rows, row_size // block * type_bytes), dtype=np.uint8)
    step = max(1, CHUNK_BYTES // (4 * row_size))
    for a in range(0, n_rows, step):
        b = min(n_rows, a + step)
        chunk = read_rows(a, b)
        out[a:b] = chunk if qtype is None else gguf.quants.quantize(chunk, qtype)
        del chunk
    return out


def _tensor_data(checkpoint, plan: TensorPlan, type_name: str, reader: SafetensorsReader | None) -> np.ndarray:
    if plan.source is None:  # compat router: zero logits -> softmax over one expert = 1.0
        return _converted(lambda a, b: np.zeros((b - a, plan.row_size), np.float32),
                          int(np.prod(plan.shape[:-1])), plan.row_size, type_name)
    n_rows = int(np.prod(plan.shape[:-1]))
    if reader is not None and plan.source in reader:
        return _converted(lambda a, b: reader.rows_f32(plan.source, a, b, plan.row_size), n_rows, plan.row_size,
                          type_name)
    import torch  # a pickled checkpoint (memory-mapped by torch.load)

    t = checkpoint.tensor(plan.source)
    arr = t.to(torch.float32).numpy().reshape(n_rows, plan.row_size)
    return _converted(lambda a, b: arr[a:b], n_rows, plan.row_size, type_name)


def write_gguf(
    checkpoint,
    path: Path,
    *,
    encoding: str,
    type_for: Callable[[TensorPlan], str],
    file_type: str,
    metadata: dict[str, str] | None = None,
    progress=None,
    name: str | None = None,
    arch_name: str | None = None,
) -> WriteReport:
    """Write ``checkpoint`` to ``path`` (which the caller made atomic); every type must be in DIRECT.

    ``arch_name`` relabels the native (dense) layout, for benchmarks only: as ``llama`` it is a
    graph of identical cost that computes gated SiLU, i.e. not PhoneLM.
    """
    import gguf

    arch = arch_name or ARCH_NAMES[encoding]
    plans = list(tensor_plan(checkpoint, encoding))
    chosen: list[tuple[TensorPlan, str, str]] = []
    for p in plans:
        requested = type_for(p)
        if requested not in DIRECT:
            raise ValueError(f"gguf-py cannot write {requested}")
        actual = requested
        # quant blocks run along rows; a row that is not a whole number of blocks stays F16,
        # as llama.cpp's quantizer does for such shapes
        if requested not in ("f32", "f16", "bf16") and p.row_size % block_size(requested):
            actual = "f16"
        chosen.append((p, actual, requested))

    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(name or checkpoint.name)
    w.add_file_type(FTYPES[file_type] if file_type in FTYPES else FTYPES["f32"])
    if any(t not in ("f32", "f16", "bf16") for _, t, _ in chosen):
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    write_arch_metadata(w, checkpoint.dims, encoding)
    vocab = read_vocab(checkpoint.tokenizer_file, checkpoint.dims.vocab_size, checkpoint.chat_template,
                       eos_id=checkpoint.dims.eos_token_id, bos_id=checkpoint.dims.bos_token_id)
    vocab.write(w)
    for k, v in (metadata or {}).items():
        w.add_string(f"{METADATA_PREFIX}.{k}", str(v))

    for p, t, _ in chosen:
        w.add_tensor_info(p.name, p.shape, np.dtype(np.float32), nbytes(t, p.shape),
                          raw_dtype=gguf.GGMLQuantizationType[t.upper()])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    report = WriteReport()
    items = progress.iter(chosen, desc="writing GGUF", total=len(chosen), unit="tensor") if progress else chosen
    reader = open_reader(checkpoint)
    try:
        for p, t, requested in items:
            data = _tensor_data(checkpoint, p, t, reader)
            w.write_tensor_data(data)
            report.tensors.append(WrittenTensor(p.name, p.shape, t, requested))
            del data
    finally:
        if reader is not None:
            reader.close()
    w.close()
    return report
