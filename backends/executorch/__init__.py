"""ExecuTorch backend: PhoneLM as a ``.pte`` for the XNNPACK CPU delegate (Android ``LlmModule``).

Importable without ExecuTorch installed; :meth:`ExecuTorchBackend.check` names the extra.
Modules: :mod:`.model` (the exportable PhoneLM with a static KV cache), :mod:`.quantize`
(recipe vocabulary -> torchao), :mod:`.lower` (export, XNNPACK lowering, runner metadata),
:mod:`.export` (checkpoint -> files, atomically), :mod:`.runtime` (runners), :mod:`.cli`.
"""
from __future__ import annotations

from pathlib import Path

from phonelm_export.backends.base import Artifact, Backend, Runner


class ExecuTorchBackend(Backend):
    name = "executorch"
    extra = "executorch"
    description = "ExecuTorch .pte for the XNNPACK CPU backend (Android LlmModule), fp32 or 8-bit-activation/4-bit-weight"
    requires = ("executorch.exir", "torchao")

    def validate_recipe(self, recipe) -> None:
        from .quantize import plan_from_recipe

        plan_from_recipe(recipe)

    def export(self, checkpoint, recipe, out: Path, *, force: bool = False, progress=None,
               max_seq_len: int = 512, rope: str = "float", logits: str = "all", **options) -> Artifact:
        """Write ``out`` (.pte) and ``tokenizer.json`` beside it.

        ``max_seq_len`` is both the KV-cache size and the longest chunk one call takes;
        ``rope="int8"`` reproduces PhoneLM's rounded RoPE tables; ``logits="last"`` returns only
        the last position's logits (smaller, faster prefill; parity then goes token by token).
        """
        if options:
            raise TypeError(f"unknown ExecuTorch export option {sorted(options)[0]!r}")
        self.check()
        from .export import export_pte

        return export_pte(checkpoint, recipe, out, max_seq_len=max_seq_len, rope=rope, logits=logits,
                          force=force, progress=progress)

    def load(self, path: Path, *, tokenizer=None, threads: int | None = None, **options) -> Runner:
        self.check()
        from .runtime import ExecuTorchRunner

        return ExecuTorchRunner(path, tokenizer=tokenizer, threads=threads)


BACKEND = ExecuTorchBackend()
