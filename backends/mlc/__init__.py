"""The MLC backend: PhoneLM as an MLC-LLM model, built on TVM's Relax ``nn`` frontend.

``mlc-llm`` itself is not installable from PyPI, so everything here runs on ``apache-tvm`` and
produces exactly the artifacts MLC's runtime consumes (see :mod:`.export`). Importing this
package needs neither TVM nor mlc_llm; when ``mlc_llm`` is importable, :meth:`MLCBackend.register`
(called on import) adds ``phonelm`` to its model registry (:mod:`.mlc_glue`).
"""
from __future__ import annotations

from pathlib import Path

from phonelm_export.backends.base import Backend
from phonelm_export.errors import PhoneLMError


class MLCBackend(Backend):
    name = "mlc"
    extra = "mlc"
    description = "MLC-LLM model directory: weights (q0f32/q0f16/q4f16_1/q4f32_1), chat config, compiled model library"
    requires = ("tvm", "tvm_ffi", "ml_dtypes")

    def validate_recipe(self, recipe) -> None:
        from .export import recipe_settings

        recipe_settings(recipe)

    def export(self, checkpoint, recipe, out: Path, *, force: bool = False, progress=None, **options):
        self.check()
        self.validate_recipe(recipe)
        from .export import export

        return export(checkpoint, recipe, out, force=force, progress=progress, **options)

    def load(self, path: Path, **options):
        """A Runner over an exported directory's CPU library (``--device cpu``)."""
        self.check()
        from phonelm_export.tokenizer import PhoneLMTokenizer

        from .chat_config import read_chat_config
        from .compile import plan
        from .quantization import scheme
        from .runner import MLCRunner
        from .weights import TENSOR_CACHE

        path = Path(path)
        conf = read_chat_config(path)
        s = scheme(conf.get("quantization", ""))
        rope = conf.get("model_config", {}).get("rope_mode", "float")
        lib = path / plan("cpu", s, rope).filename
        if not lib.is_file():
            raise PhoneLMError(f"{path}: no CPU model library {lib.name}; export with --device cpu to run it here")
        if not (path / TENSOR_CACHE).is_file():
            raise PhoneLMError(f"{path}: no {TENSOR_CACHE} (weights missing)")
        tok = PhoneLMTokenizer.from_file(path) if (path / "tokenizer.json").is_file() else None
        try:
            runner = MLCRunner(path, lib, tok)
        except Exception as e:  # TVM raises its own error types; the user needs one line
            first = (str(e).strip().splitlines() or [type(e).__name__])[-1]
            raise PhoneLMError(f"{path}: cannot load the MLC model ({first})") from None
        if runner.meta.get("quantization") != s.name:
            raise PhoneLMError(
                f"{lib.name} was compiled for {runner.meta.get('quantization')}, but the weights are {s.name}"
            )
        return runner

    def register(self) -> None:
        from .mlc_glue import register_with_mlc_llm

        register_with_mlc_llm()


BACKEND = MLCBackend()
BACKEND.register()
