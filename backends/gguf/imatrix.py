"""Importance matrices computed with the PyTorch reference, saved in llama.cpp's imatrix format.

For every matrix ``W`` that multiplies an activation ``x`` (``y = W x``), llama.cpp's quantizer
weighs the rounding error of column ``j`` by ``E[x_j^2]``, the mean square of the activation
entering that column. llama.cpp's ``llama-imatrix`` tool measures it by running the model; the
pip build ships no tools, so we measure the same statistic with the reference model's forward
hooks and hand it to ``llama_model_quantize`` through ``params.imatrix``.

The file is a GGUF like ``llama-imatrix`` writes (``general.type = imatrix``, tensors
``<name>.in_sum2`` [n_mat, n_cols] and ``<name>.counts`` [n_mat, 1]), so it also works with
``llama-quantize --imatrix``. Names are the GGUF tensor names of the native encoding; the
compat encoding's ``*_exps`` names are translated on use. The tied head reads the final norm's
output through ``token_embd.weight``, which is where llama.cpp's own tool records it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from phonelm_export.errors import PhoneLMError

from .register import gguf_name, to_encoding_name

SUMS, COUNTS = ".in_sum2", ".counts"


CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


def builtin_calibration() -> list[str]:
    """The built-in calibration text: 64 ChatML conversations of the bundled model's kind (32
    intent calls, 32 chats), generated once by our synthetic-corpus code (seed 7) and frozen in
    calibration.json, so a quantized export depends only on the checkpoint and the recipe, not
    on how the training corpus evolves."""
    import json

    return json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))


def read_calibration(path: Path) -> list[str]:
    from phonelm_export.train.data import iter_documents

    docs = list(iter_documents([Path(path)]))
    if not docs:
        raise PhoneLMError(f"{path}: no calibration text in it")
    return docs


def compute_imatrix(checkpoint, texts: Iterable[str], *, chunk: int = 256, max_tokens: int = 32768, progress=None) -> dict[str, tuple[np.ndarray, int]]:
    """{native GGUF tensor name: (sum of squared inputs per column, number of rows)}."""
    import torch

    tok = checkpoint.tokenizer()
    ids: list[int] = []
    for t in texts:
        ids += tok.encode(t) + [0]
        if len(ids) >= max_tokens:
            break
    ids = ids[:max_tokens]
    if len(ids) < 2:
        raise PhoneLMError("calibration text is empty after tokenization")
    model = checkpoint.reference_model(torch.float32)
    stats: dict[str, list] = {}
    hooks = []

    def hook_for(names: list[str]):
        def hook(_mod, args):
            x = args[0].detach().reshape(-1, args[0].shape[-1]).to(torch.float64)
            s = (x * x).sum(0).numpy()
            for n in names:
                if n in stats:
                    stats[n][0] += s
                    stats[n][1] += x.shape[0]
                else:
                    stats[n] = [s.copy(), x.shape[0]]
        return hook

    for hf_name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        if hf_name == "lm_head":
            names = ["token_embd.weight"]  # tied: the head is the embedding matrix
        else:
            names = [gguf_name(hf_name + ".weight", "native")]
        hooks.append(module.register_forward_pre_hook(hook_for(names)))
    chunks = [ids[i: i + chunk] for i in range(0, len(ids), chunk)]
    it = progress.iter(chunks, desc="importance matrix", total=len(chunks), unit="chunk") if progress else chunks
    # small models' matmuls are too small to amortise OpenMP's fork/join; on a shared machine
    # the spinning threads made a 2-layer toy model take seconds per chunk instead of milliseconds
    threads = torch.get_num_threads()
    if checkpoint.dims.hidden_size < 1024:
        torch.set_num_threads(1)
    try:
        with torch.no_grad():
            for c in it:
                model(torch.tensor([c]), use_cache=False)
    finally:
        torch.set_num_threads(threads)
        for h in hooks:
            h.remove()
    del model
    return {n: (s.astype(np.float32), int(c)) for n, (s, c) in stats.items()}


def save_imatrix(stats: dict[str, tuple[np.ndarray, int]], path: Path, *, dataset: str, chunk_size: int, n_chunks: int) -> None:
    import gguf

    w = gguf.GGUFWriter(str(path), arch="imatrix")
    # llama-imatrix writes general.type rather than an architecture; keep both readable
    w.add_type("imatrix")
    w.add_array("imatrix.datasets", [dataset])
    w.add_uint32("imatrix.chunk_count", n_chunks)
    w.add_uint32("imatrix.chunk_size", chunk_size)
    for name in sorted(stats):
        s, c = stats[name]
        w.add_tensor(name + SUMS, s.reshape(1, -1).astype(np.float32))
        w.add_tensor(name + COUNTS, np.array([[float(c)]], dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def translate_imatrix(src: Path, dst: Path, encoding: str) -> int:
    """Copy an imatrix file with tensor names spelled for ``encoding``; return the entry count."""
    import gguf

    try:
        r = gguf.GGUFReader(str(src))
    except Exception as e:
        raise PhoneLMError(f"{src}: not an imatrix GGUF file ({e})") from None
    entries = {}
    for t in r.tensors:
        for suffix in (SUMS, COUNTS):
            if t.name.endswith(suffix):
                base = to_encoding_name(t.name[: -len(suffix)], encoding)
                entries.setdefault(base, {})[suffix] = np.array(t.data, dtype=np.float32)
    pairs = {k: v for k, v in entries.items() if SUMS in v and COUNTS in v}
    if not pairs:
        raise PhoneLMError(f"{src}: no '<tensor>.in_sum2' / '.counts' pairs; not an importance matrix")
    w = gguf.GGUFWriter(str(dst), arch="imatrix")
    w.add_type("imatrix")
    for base, v in sorted(pairs.items()):
        w.add_tensor(base + SUMS, v[SUMS].reshape(v[COUNTS].size, -1))
        w.add_tensor(base + COUNTS, v[COUNTS].reshape(-1, 1))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return len(pairs)
