"""torch.export -> XNNPACK lowering -> ExecuTorch program (the metadata it carries: :mod:`.register`)."""
from __future__ import annotations

import gc

import torch


def export_program(model: torch.nn.Module, max_seq_len: int):
    """``torch.export`` with a dynamic token dimension (1..max_seq_len) and a static ``input_pos``."""
    from torch.export import Dim, export

    tokens = torch.zeros((1, 2), dtype=torch.long)
    pos = torch.zeros((1,), dtype=torch.long)
    seq = Dim("seq", min=1, max=max_seq_len)
    with torch.no_grad():
        ep = export(model, (tokens, pos), dynamic_shapes=({1: seq}, {0: 1}), strict=True)
        # functionalise and decompose torchao's quantized tensor subclasses into plain ops
        return ep.run_decompositions({})


def lower_to_executorch(exported, metadata: dict, quantized: bool, progress=None):
    """XNNPACK-delegate what it can, keep the custom SDPA/cache ops, emit the program bytes.

    ``exported`` may be a one-element list holding the program, which is then emptied: with no
    other reference left, its float weights are freed right after lowering."""
    if isinstance(exported, list):
        exported = exported.pop()
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import (
        XnnpackDynamicallyQuantizedPartitioner,
        XnnpackPartitioner,
    )
    from executorch.exir import EdgeCompileConfig, ExecutorchBackendConfig, to_edge_transform_and_lower
    from executorch.exir.passes import MemoryPlanningPass
    from executorch.exir.passes.sym_shape_eval_pass import ConstraintBasedSymShapeEvalPass

    partitioners = [XnnpackPartitioner()]
    if quantized:
        # the dynamically-quantized linears first, as ExecuTorch's own LLM export orders them
        partitioners.insert(0, XnnpackDynamicallyQuantizedPartitioner())
    if progress:
        progress.step("lowering to XNNPACK (slow: minutes for large models)")
    edge = to_edge_transform_and_lower(
        exported,
        partitioner=partitioners,
        # custom llama:: ops are not core ATen: the IR validity check would refuse them
        compile_config=EdgeCompileConfig(_check_ir_validity=False, _skip_dim_order=True),
        constant_methods=metadata,
    )
    del exported
    gc.collect()
    if progress:
        progress.step("emitting the ExecuTorch program")
    program = edge.to_executorch(
        ExecutorchBackendConfig(
            extract_delegate_segments=True,
            do_quant_fusion_and_const_prop=True,
            # inputs are provided by the caller, the KV-cache buffers are planned in
            memory_planning_pass=MemoryPlanningPass(alloc_graph_input=False),
            sym_shape_eval_pass=ConstraintBasedSymShapeEvalPass(),
        )
    )
    del edge
    gc.collect()
    return program
