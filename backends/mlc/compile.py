"""Compile the PhoneLM Relax model into a model library MLC's runtime loads.

Two devices:

* ``cpu``: a shared library for this machine (LLVM, host triple), loaded by our runner and by
  ``MLCEngine(device="cpu")``. TVM's CPU schedules are simple, so this is a parity vehicle, not a
  fast path.
* ``android``: what MLC's Android packaging (mlc4j) links: an OpenCL kernel module with an
  aarch64 Android host module, built as a *system library* (symbols prefixed with
  ``system_lib_prefix``) and exported as a ``.tar`` of object files. No NDK is needed to emit it;
  linking it into ``libtvm4j_runtime_packed.so`` happens on the user's workstation.

Targets are given as JSON dicts: TVM 0.27 rejects the string form for these combinations.
"""
from __future__ import annotations

import contextlib
import os
import platform
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .model import PhoneLMConfig, PhoneLMForCausalLM, metadata, metadata_json, param_layout
from .quantization import QuantScheme

DEVICES = ("cpu", "android")


@dataclass(frozen=True)
class LibraryPlan:
    device: str
    filename: str
    system_lib_prefix: str | None


def model_lib_name(s: QuantScheme, rope_mode: str) -> str:
    """The ``model_lib`` name MLC's packaging and engine use for a system library."""
    return f"phonelm_{s.name}" + ("_int8rope" if rope_mode == "int8" else "")


def plan(device: str, s: QuantScheme, rope_mode: str) -> LibraryPlan:
    name = model_lib_name(s, rope_mode)
    if device == "cpu":
        return LibraryPlan("cpu", f"{name}-cpu.so", None)
    if device == "android":
        return LibraryPlan("android", f"{name}-android.tar", name + "_")
    raise ValueError(device)


def _host_target():
    """LLVM for this machine's CPU. Naming the CPU matters for float16 models: without it LLVM
    targets baseline x86-64 and converts every half value through a library call (~30x slower)."""
    import tvm
    from tvm.target import codegen

    spec = {"kind": "llvm", "mtriple": codegen.llvm_get_system_triple()}
    cpu = codegen.llvm_get_system_cpu()
    if cpu and cpu != "generic" and codegen.llvm_is_valid_cpu(cpu, spec["mtriple"]):
        spec["mcpu"] = cpu
    return tvm.target.Target(spec)


def target_for(device: str):
    import tvm

    if device == "cpu":
        return _host_target()
    # MLC's "android" device: OpenCL kernels, host code for 64-bit ARM Android
    host = {"kind": "llvm", "mtriple": "aarch64-linux-android"}
    return tvm.target.Target(
        {"kind": "opencl", "max_threads_per_block": 256, "max_shared_memory_per_block": 16384,
         "thread_warp_size": 1, "texture_spatial_limit": 16384, "max_num_threads": 256},
        host=host,
    )


def memory_estimate(cfg: PhoneLMConfig, s: QuantScheme) -> dict[str, int]:
    """Temporary bytes a forward needs, per function (MLC sizes its KV cache from this).

    A coarse upper bound from the widest activations at ``prefill_chunk_size`` tokens; MLC
    computes it from TVM's memory plan, which is smaller, so the engine only reserves a little
    more than it must.
    """
    import numpy as np

    item = np.dtype(s.model_dtype).itemsize
    widest = cfg.hidden_size * 4 + cfg.intermediate_size * 3 + (cfg.num_attention_heads + 2 * cfg.num_key_value_heads) * cfg.head_dim
    prefill = cfg.prefill_chunk_size * (widest * item + cfg.vocab_size * 4)
    decode = cfg.max_batch_size * (widest * item + cfg.vocab_size * 4)
    return {"prefill": int(prefill), "batch_prefill": int(prefill), "decode": int(decode), "batch_decode": int(decode)}


def build_module(cfg: PhoneLMConfig, s: QuantScheme, target):
    """The Relax IRModule with every engine function and ``_metadata``; and the parameter layout."""
    import tvm
    from tvm import relax

    model = PhoneLMForCausalLM(cfg, s)
    with target:
        mod, named_params = model.export_tvm(spec=model.get_default_spec())
    params = [(n, tuple(int(x) for x in p.shape), str(p.dtype)) for n, p in named_params]
    assert params == param_layout(cfg, s), "parameter order drifted from param_layout"
    meta = metadata(cfg, s, params, memory_estimate(cfg, s))
    fmeta = relax.Function([], tvm.ir.StringImm(metadata_json(meta)), is_pure=True)
    mod["_metadata"] = fmeta.with_attr("global_symbol", "_metadata")
    return mod, params, meta


def _schedule_passes(target, s: QuantScheme):
    """dlight schedules: GPU ones for OpenCL (required: unscheduled kernels have no thread binding),
    the CPU GEMV for non-fp32 decode matmuls on CPU."""
    from tvm.s_tir import dlight as dl

    if target.kind.name == "opencl":
        return [dl.ApplyDefaultSchedule(dl.gpu.Matmul(), dl.gpu.GEMV(), dl.gpu.Reduction(),
                                        dl.gpu.GeneralReduction(), dl.gpu.Fallback())]
    if s.model_dtype == "float32":
        # dl.cpu.GEMV on fp32 matmuls fused with a transpose hangs TVM 0.27's compiler
        return []
    return [dl.ApplyDefaultSchedule(dl.cpu.GEMV())]


def pipeline(target, s: QuantScheme):
    import tvm
    from tvm import relax

    @tvm.transform.module_pass(opt_level=0)
    def _pipeline(mod, _ctx):
        passes = [
            relax.backend.DispatchSampling(),
            relax.backend.DispatchSortScan(),
            relax.transform.LegalizeOps(),
            relax.transform.AnnotateTIROpPattern(),
            relax.transform.FoldConstant(),
            relax.transform.FuseOps(),
            relax.transform.FuseTIR(),
            relax.transform.DeadCodeElimination(),
            *_schedule_passes(target, s),
            relax.transform.RewriteDataflowReshape(),
            relax.transform.ToNonDataflow(),
            relax.transform.RemovePurityChecking(),
            relax.transform.CallTIRRewrite(),
            relax.transform.StaticPlanBlockMemory(),
            relax.transform.LowerAllocTensor(),
            relax.transform.KillAfterLastUse(),
            relax.transform.LowerRuntimeBuiltin(),
            relax.transform.ComputePrimValue(),
            relax.transform.VMShapeLower(),
            relax.transform.AttachGlobalSymbol(),
        ]
        with target:
            return tvm.transform.Sequential(passes)(mod)

    return _pipeline


@contextlib.contextmanager
def _quiet_native_stderr():
    """TVM's C++ code warns on file descriptor 2 (LLVM target notes, schedule fallbacks) where no
    Python filter reaches; a user cannot act on those, so unless PHONELM_EXPORT_VERBOSE is set
    they go to a scratch file for the duration of the compile."""
    if os.environ.get("PHONELM_EXPORT_VERBOSE", "") not in ("", "0"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def compile_library(cfg: PhoneLMConfig, s: QuantScheme, device: str, out_dir: Path, progress=None) -> tuple[Path, dict]:
    """Compile and write the model library into ``out_dir``; return (path, metadata)."""
    import tvm
    from tvm import relax

    p = plan(device, s, cfg.rope_mode)
    target = target_for(device)
    mod, _params, meta = build_module(cfg, s, target)
    if p.system_lib_prefix:
        mod = mod.with_attr("system_lib_prefix", p.system_lib_prefix)
    if progress:
        progress.step(f"compiling {p.filename} for {device} ({target.kind.name}; this takes a few minutes on 2 cores)")
    out = out_dir / p.filename
    with _quiet_native_stderr(), tvm.transform.PassContext(opt_level=3):
        ex = relax.build(mod, target=target, relax_pipeline=pipeline(target, s))
        if device == "android":
            from tvm.support import tar

            ex.export_library(str(out), fcompile=tar.tar)
        else:
            ex.export_library(str(out))
    return out, meta


def host_arch() -> str:
    return platform.machine()
