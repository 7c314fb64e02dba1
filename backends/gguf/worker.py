"""The process that runs llama.cpp: ``python -m phonelm_export.backends.gguf.worker``.

llama.cpp reports some malformed files with GGML_ABORT, which kills the process (a smallthinker
file without ``expert_gating_func`` does so on the first decode). So no GGUF is ever loaded in
the caller's process: this worker loads it, and the caller sees a dead worker as an error.
The worker is also how ``native`` files run: the parent puts the patched llama-cpp-python's
directory first on ``PYTHONPATH``, and this module imports whichever ``llama_cpp`` that gives.

Protocol: one JSON request per line; the answer is one JSON line, followed by ``nbytes`` raw
bytes when the answer carries an array (little-endian float32 logits). The parent passes two pipe
file descriptors for them (``worker.py REQUESTS_FD RESULTS_FD PARENT_PID``), so that llama.cpp's
own output on stdout/stderr (a log file) never mixes with the results; without arguments the
worker speaks on stdin/stdout (for trying it by hand).
This module imports only numpy and llama_cpp (plus gguf-py to read an importance matrix).
"""
from __future__ import annotations

import ctypes
import json
import os
import sys

import numpy as np


class _State:
    llm = None
    path = None


def _send(out, header: dict, payload: bytes = b"") -> None:
    header = {**header, "nbytes": len(payload)}
    out.write((json.dumps(header) + "\n").encode())
    if payload:
        out.write(payload)
    out.flush()


def _model_params_without_extra_buffers(llama_cpp) -> None:
    """Make llama-cpp-python load models with ``use_extra_bufts = false``.

    Extra buffer types are llama.cpp's weight-repacking paths, among them the Intel AMX
    kernels. On the VMs this project runs on, the CPU reports AMX through cpuid, a
    -march=native build enables those kernels, and the first batched matmul on a quantized
    tensor dies with SIGILL on ``tilezero`` (the hypervisor does not enable tile state).
    Llama() offers no argument for this field, so its default-params factory is wrapped.
    """
    raw = llama_cpp.llama_cpp
    if getattr(raw.llama_model_default_params, "_phonelm_wrapped", False):
        return
    original = raw.llama_model_default_params

    def params():
        p = original()
        p.use_extra_bufts = False
        return p

    params._phonelm_wrapped = True
    raw.llama_model_default_params = params


def _load(req: dict) -> dict:
    import llama_cpp

    extra = req.get("extra_buffers", os.environ.get("PHONELM_GGUF_EXTRA_BUFFERS", "0") == "1")
    if not extra:
        _model_params_without_extra_buffers(llama_cpp)

    if _State.llm is not None:
        _State.llm.close()
        _State.llm = None
    kv = llama_cpp.GGML_TYPE_F32 if req.get("kv", "f32") == "f32" else llama_cpp.GGML_TYPE_F16
    n_ctx = int(req.get("n_ctx", 512))
    llm = llama_cpp.Llama(
        model_path=req["path"],
        n_ctx=n_ctx,
        n_batch=min(n_ctx, 512),
        n_ubatch=min(n_ctx, 512),
        n_threads=int(req.get("n_threads") or 2),
        n_threads_batch=int(req.get("n_threads") or 2),
        logits_all=bool(req.get("logits_all", True)),
        type_k=kv,
        type_v=kv,
        verbose=bool(req.get("verbose", False)),
    )
    _State.llm, _State.path = llm, req["path"]
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    n_vocab = llm.n_vocab()
    eog = [i for i in range(min(n_vocab, 64)) if llama_cpp.llama_vocab_is_eog(vocab, i)]
    return {
        "n_vocab": n_vocab,
        "n_ctx": llm.n_ctx(),
        "eog_ids": eog,
        "metadata": dict(llm.metadata),
        "llama_cpp": os.path.dirname(llama_cpp.__file__),
        "extra_buffers": bool(extra),
    }


def _eval(ids: list[int], reset: bool) -> np.ndarray:
    llm = _State.llm
    if reset:
        llm.reset()  # eval() drops every cached position from n_tokens (now 0) on
    start = llm.n_tokens
    if start + len(ids) > llm.n_ctx():
        raise ValueError(f"{start + len(ids)} tokens exceed the context of {llm.n_ctx()}")
    llm.eval(list(ids))
    return np.asarray(llm.scores[start: llm.n_tokens], dtype=np.float32)


def _read_imatrix(path: str) -> dict[str, np.ndarray]:
    """Mean squared activations per tensor from an imatrix GGUF (``<name>.in_sum2`` / ``.counts``)."""
    from gguf import GGUFReader

    r = GGUFReader(path)
    sums, counts = {}, {}
    for t in r.tensors:
        if t.name.endswith(".in_sum2"):
            sums[t.name[: -len(".in_sum2")]] = np.array(t.data, dtype=np.float32).reshape(-1)
        elif t.name.endswith(".counts"):
            counts[t.name[: -len(".counts")]] = np.array(t.data, dtype=np.float32).reshape(-1)
    out = {}
    for name, s in sums.items():
        c = counts.get(name)
        if c is None or c.size == 0 or (c <= 0).any():
            continue
        per = s.reshape(c.size, -1) / c[:, None]
        out[name] = np.ascontiguousarray(per.reshape(-1), dtype=np.float32)
    return out


def _quantize(req: dict) -> dict:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = int(req["ftype"])
    params.nthread = int(req.get("n_threads") or 2)
    keep = []  # ctypes buffers must outlive the call
    overrides = req.get("overrides") or []
    if overrides:
        arr = (llama_cpp.llama_model_tensor_override * (len(overrides) + 1))()
        for i, (pattern, type_id) in enumerate(overrides):
            b = pattern.encode()
            keep.append(b)
            arr[i].pattern = b
            arr[i].type = int(type_id)
        arr[len(overrides)].pattern = None
        params.tt_overrides = ctypes.cast(arr, ctypes.POINTER(llama_cpp.llama_model_tensor_override))
        keep.append(arr)
    if req.get("imatrix"):
        data = _read_imatrix(req["imatrix"])
        imat = (llama_cpp.llama_model_imatrix_data * (len(data) + 1))()
        for i, (name, values) in enumerate(sorted(data.items())):
            b = name.encode()
            keep += [b, values]
            imat[i].name = b
            imat[i].data = values.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            imat[i].size = values.size
        imat[len(data)].name = None
        params.imatrix = ctypes.cast(imat, ctypes.POINTER(llama_cpp.llama_model_imatrix_data))
        keep.append(imat)
    rc = llama_cpp.llama_model_quantize(req["src"].encode(), req["dst"].encode(), ctypes.byref(params))
    if rc != 0:
        raise RuntimeError(f"llama_model_quantize returned {rc}")
    return {"imatrix_entries": len(data) if req.get("imatrix") else 0}


def _bench(req: dict) -> dict:
    """Prompt processing and decode speed of the loaded model (load it with logits_all=false).

    Prefill evaluates ``n_prompt`` tokens in one batch from an empty cache; decode then feeds
    ``n_decode`` tokens one at a time. Each is repeated and the fastest run is kept (the machine
    is shared; the minimum is the least disturbed measurement).
    """
    import time

    llm = _State.llm
    n_prompt, n_decode, reps = int(req["n_prompt"]), int(req["n_decode"]), int(req.get("repeats", 3))
    vocab = llm.n_vocab()
    prompt = [(17 + 31 * i) % (vocab - 20) + 17 for i in range(n_prompt)]
    best_p, best_d = float("inf"), float("inf")
    for _ in range(reps):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        best_p = min(best_p, time.perf_counter() - t0)
        t0 = time.perf_counter()
        for i in range(n_decode):
            llm.eval([(5 + 7 * i) % (vocab - 20) + 17])
        best_d = min(best_d, time.perf_counter() - t0)
    return {"prefill_tok_s": n_prompt / best_p, "decode_tok_s": n_decode / best_d}


def serve(inp=None, out=None) -> None:
    inp = inp or sys.stdin.buffer
    out = out or sys.stdout.buffer
    # llama.cpp logs to stderr, which the parent keeps in a file for error messages
    for line in inp:
        if not line.strip():
            continue
        req = json.loads(line)
        op = req.get("op")
        try:
            if op == "quit":
                _send(out, {"ok": True})
                return
            if op == "ping":
                import llama_cpp

                _send(out, {"ok": True, "llama_cpp": os.path.dirname(llama_cpp.__file__), "pid": os.getpid()})
            elif op == "load":
                _send(out, {"ok": True, **_load(req)})
            elif op == "logits":
                a = _eval(req["ids"], reset=True)
                _send(out, {"ok": True, "shape": list(a.shape)}, a.astype("<f4").tobytes())
            elif op == "prefill":
                a = _eval(req["ids"], reset=False)[-1:]
                _send(out, {"ok": True, "shape": list(a.shape)}, a.astype("<f4").tobytes())
            elif op == "reset":
                _State.llm.reset()
                _send(out, {"ok": True})
            elif op == "tokenize":
                ids = _State.llm.tokenize(req["text"].encode("utf-8"), add_bos=False, special=bool(req.get("special", True)))
                _send(out, {"ok": True, "ids": list(ids)})
            elif op == "detokenize":
                b = _State.llm.detokenize(req["ids"], special=bool(req.get("special", True)))
                _send(out, {"ok": True, "hex": b.hex()})
            elif op == "bench":
                _send(out, {"ok": True, **_bench(req)})
            elif op == "quantize":
                _send(out, {"ok": True, **_quantize(req)})
            else:
                _send(out, {"ok": False, "error": f"unknown op {op!r}"})
        except Exception as e:  # reported to the parent, which raises a PhoneLMError
            _send(out, {"ok": False, "error": f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"})


def _die_with_parent(parent_pid: int) -> None:
    """If the CLI is killed outright (SIGKILL), take the worker down with it (Linux prctl)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def main(argv: list[str]) -> None:
    if len(argv) == 3:
        requests_fd, results_fd, parent = (int(a) for a in argv)
        _die_with_parent(parent)
        with os.fdopen(requests_fd, "rb") as inp, os.fdopen(results_fd, "wb") as out:
            serve(inp, out)
    else:
        serve()


if __name__ == "__main__":
    main(sys.argv[1:])
