"""Read a GGUF file's header without llama.cpp: encoding, metadata, per-tensor types, bits/weight.

Reading with gguf-py (memory-mapped) is safe in-process, so files are checked here before a
worker loads them: a truncated file, another architecture, or a compat file lacking
``expert_gating_func`` (which would abort llama.cpp) gets a one-line error instead.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from phonelm_export.errors import PhoneLMError

from .register import ARCH_NAMES

_ENCODING_OF = {v: k for k, v in ARCH_NAMES.items()}


@dataclass
class GGUFHeader:
    path: Path
    arch: str
    encoding: str
    context_length: int
    chat_template: str | None
    tensor_types: dict[str, str]  # name -> ggml type name (lower case)
    tensor_shapes: dict[str, tuple[int, ...]]  # name -> ggml ne order (row size first)
    n_params: int  # PhoneLM parameters (the compat router is not one)
    n_bytes: int  # bytes of those tensors' data
    metadata: dict = field(default_factory=dict)

    @property
    def bits_per_weight(self) -> float:
        return 8.0 * self.n_bytes / self.n_params if self.n_params else 0.0

    def type_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(self.tensor_types.values()).items()))


def _field_value(f):
    from gguf import GGUFValueType

    if not f.types:
        return None
    if f.types[0] == GGUFValueType.ARRAY:
        if len(f.types) > 1 and f.types[1] == GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode("utf-8", "replace") for i in f.data]
        return [f.parts[i][0].item() for i in f.data]
    if f.types[0] == GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode("utf-8", "replace")
    return f.parts[f.data[0]][0].item()


def read_header(path: str | Path, *, with_tokens: bool = False) -> GGUFHeader:
    from gguf import GGUFReader

    path = Path(path)
    if not path.is_file():
        raise PhoneLMError(f"{path}: no such file")
    try:
        r = GGUFReader(str(path))
    except Exception as e:
        raise PhoneLMError(f"{path}: not a readable GGUF file ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    meta = {}
    for name, f in r.fields.items():
        if name.startswith("GGUF."):
            continue
        if not with_tokens and name.startswith("tokenizer.ggml.") and name not in ("tokenizer.ggml.model", "tokenizer.ggml.pre"):
            continue
        meta[name] = _field_value(f)
    arch = meta.get("general.architecture")
    if arch not in _ENCODING_OF:
        raise PhoneLMError(f"{path}: architecture {arch!r} is not a PhoneLM encoding (expected smallthinker or phonelm)")
    if arch == "smallthinker":
        missing = [k for k in ("expert_count", "expert_used_count", "expert_gating_func") if f"{arch}.{k}" not in meta]
        if missing:
            raise PhoneLMError(f"{path}: smallthinker file without {', '.join(missing)}; llama.cpp would abort on it (re-export it)")
        if f"{arch}.attention.sliding_window" in meta:
            raise PhoneLMError(f"{path}: has attention.sliding_window, which turns smallthinker into a different model")
    types, shapes, n_params, n_bytes = {}, {}, 0, 0
    for t in r.tensors:
        types[t.name] = t.tensor_type.name.lower()
        shapes[t.name] = tuple(int(x) for x in t.shape)
        if not t.name.endswith("ffn_gate_inp.weight"):
            n_params += int(t.n_elements)
            n_bytes += int(t.n_bytes)
    return GGUFHeader(
        path=path,
        arch=arch,
        encoding=_ENCODING_OF[arch],
        context_length=int(meta.get(f"{arch}.context_length", 2048)),
        chat_template=meta.get("tokenizer.chat_template"),
        tensor_types=types,
        tensor_shapes=shapes,
        n_params=n_params,
        n_bytes=n_bytes,
        metadata=meta,
    )
