"""The MLC backend: PhoneLM as an MLC-LLM model, built on TVM's Relax ``nn`` frontend.

``mlc-llm`` itself is not installable from PyPI, so everything here runs on ``apache-tvm`` and
produces exactly the artifacts MLC's runtime consumes (:mod:`.export`). Modules: :mod:`.recipes`,
:mod:`.model` (the Relax model), :mod:`.quantization`, :mod:`.weights`, :mod:`.chat_config`,
:mod:`.compile`, :mod:`.runner`, :mod:`.register` (``phonelm`` in mlc_llm's model registry), :mod:`.cli`.
"""
from __future__ import annotations

from pathlib import Path

from phonelm_export.atomic import ArtifactKind
from phonelm_export.backend import Backend
from phonelm_export.errors import PhoneLMError

from .chat_config import CHAT_CONFIG, TOKENIZER_FILES  # light: json and the tokenizer's constants only

EXPORT_OPTIONS = {"devices", "rope", "context_window_size", "prefill_chunk_size"}


class MLCBackend(Backend):
    name = "mlc"
    extra = "mlc"
    description = "MLC-LLM model directory: weights (q0f32/q0f16/q4f16_1/q4f32_1), chat config, compiled model library"
    requires = ("tvm", "tvm_ffi", "ml_dtypes")
    order = 30
    suffix = ""  # a directory
    default_recipe = "q4f16_1"
    android_recipe = "q4f16_1"
    android_engine = "MLC-LLM's MLCEngine (engine-mlc)"
    artifact_kind = ArtifactKind(
        "MLC model directory", required=(CHAT_CONFIG,),
        files=(CHAT_CONFIG, "tensor-cache.json", "params_shard_*.bin", "*-cpu.so", "*-android.tar", *TOKENIZER_FILES))

    def validate_recipe(self, recipe) -> None:
        from .recipes import recipe_settings

        recipe_settings(recipe)

    def recognizes(self, path: Path) -> bool:
        return Path(path).is_dir() and (Path(path) / CHAT_CONFIG).is_file()

    def verify_options(self, checkpoint) -> dict:
        return {"devices": ("cpu",)}

    def android_options(self) -> dict:
        return {"devices": ("android",)}

    def android_config(self, artifact: str, files: list[str], meta: dict) -> dict:
        tok = [f for f in files if f.endswith("tokenizer.json")]
        libs = [f for f in files if f.endswith("-android.tar")]
        return {
            "model_dir": artifact,
            "tokenizer": tok[0] if tok else None,
            "model_lib_archive": libs[0] if libs else None,  # what `mlc_llm package` links into mlc4j
            "model_lib": meta.get("model_lib"),  # the system-lib name MLCEngine.reload wants
        }

    def export(self, checkpoint, recipe, out: Path, *, force: bool = False, progress=None, **options):
        from phonelm_export.recipes import validated

        unknown = sorted(set(options) - EXPORT_OPTIONS)
        if unknown:
            raise PhoneLMError(f"unknown MLC export option {unknown[0]!r} (known: {', '.join(sorted(EXPORT_OPTIONS))})")
        self.check()
        from .export import export

        return export(checkpoint, validated(self, recipe), out, force=force, progress=progress, **options)

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
        """Add ``phonelm`` to mlc_llm's model registry when mlc_llm is importable (else nothing)."""
        from .register import register_with_mlc_llm

        register_with_mlc_llm()


BACKEND = MLCBackend()
