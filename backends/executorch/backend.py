"""The ExecuTorch backend: PhoneLM as a ``.pte`` for the XNNPACK CPU delegate (Android ``LlmModule``).

Modules: :mod:`.recipes` (recipe vocabulary), :mod:`.model` (the exportable PhoneLM with a static
KV cache), :mod:`.quantize` (recipe -> torchao), :mod:`.lower` (export, XNNPACK lowering),
:mod:`.register` (the LLM runner's metadata), :mod:`.export` (checkpoint -> files, atomically),
:mod:`.runner` (runners), :mod:`.cli`.
"""
from __future__ import annotations

from pathlib import Path

from phonelm_export.atomic import ArtifactKind
from phonelm_export.backend import Artifact, Backend, Runner


class ExecuTorchBackend(Backend):
    name = "executorch"
    extra = "executorch"
    description = "ExecuTorch .pte for the XNNPACK CPU backend (Android LlmModule), fp32 or 8-bit-activation/4-bit-weight"
    requires = ("executorch.exir", "torchao")
    order = 20
    suffix = ".pte"
    default_recipe = "8da4w-g32"
    android_recipe = "8da4w-g32"
    android_engine = "ExecuTorch's LlmModule (engine-executorch)"
    # the flatbuffer file identifier "ET12"... at offset 4
    artifact_kind = ArtifactKind("ExecuTorch program", magic=b"ET", magic_offset=4)

    def validate_recipe(self, recipe) -> None:
        from .recipes import plan_from_recipe

        plan_from_recipe(recipe)

    def export(self, checkpoint, recipe, out: Path, *, force: bool = False, progress=None,
               max_seq_len: int = 512, rope: str = "float", logits: str = "all", **options) -> Artifact:
        """Write ``out`` (.pte) and ``tokenizer.json`` beside it.

        ``max_seq_len`` is both the KV-cache size and the longest chunk one call takes;
        ``rope="int8"`` reproduces PhoneLM's rounded RoPE tables; ``logits="last"`` returns only
        the last position's logits (smaller, faster prefill; parity then goes token by token).
        """
        from phonelm_export.errors import PhoneLMError
        from phonelm_export.recipes import validated

        if options:
            raise PhoneLMError(f"unknown ExecuTorch export option {sorted(options)[0]!r} (known: logits, max_seq_len, rope)")
        self.check()
        from .export import export_pte

        return export_pte(checkpoint, validated(self, recipe), out, max_seq_len=max_seq_len, rope=rope, logits=logits,
                          force=force, progress=progress)

    def load(self, path: Path, *, tokenizer=None, threads: int | None = None, **options) -> Runner:
        self.check()
        from .runner import ExecuTorchRunner

        return ExecuTorchRunner(path, tokenizer=tokenizer, threads=threads)

    def verify_options(self, checkpoint) -> dict:
        # the static KV cache is sized at export: long enough for verify's windows and for call
        # prompts plus their generation
        return {"max_seq_len": min(1024, checkpoint.dims.max_position_embeddings)}

    def android_options(self) -> dict:
        # LlmModule samples from the last row only: computing the head for every prompt
        # position would waste prefill time on the phone
        return {"logits": "last"}

    def android_config(self, artifact: str, files: list[str], meta: dict) -> dict:
        tok = [f for f in files if f.endswith("tokenizer.json")]
        return {"model": artifact, "tokenizer": tok[0] if tok else None}


BACKEND = ExecuTorchBackend()
