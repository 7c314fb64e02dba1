"""The GGUF backend: export a PhoneLM checkpoint to a llama.cpp file, and run such files.

Recipes: :mod:`.recipes`; export: :mod:`.export` (:mod:`.writer` writes GGUF bytes with gguf-py);
the architecture as llama.cpp knows it: :mod:`.register` (compat and native encodings);
running: :mod:`.runner` over the :mod:`.llama_worker` process; command line: :mod:`.cli`.
"""
from __future__ import annotations

from pathlib import Path

from phonelm_export.atomic import ArtifactKind
from phonelm_export.backend import Artifact, Backend


class GGUFBackend(Backend):
    name = "gguf"
    extra = "gguf"
    description = "llama.cpp GGUF (compat: stock smallthinker arch; native: patched phonelm arch)"
    requires = ("gguf", "llama_cpp")
    order = 10
    suffix = ".gguf"
    default_recipe = "balanced"
    android_recipe = "q8_0"
    android_engine = "llama.cpp through its JNI bridge (engine-llamacpp)"
    artifact_kind = ArtifactKind("GGUF file", magic=b"GGUF")

    def validate_recipe(self, recipe) -> None:
        from .recipes import validate_recipe

        validate_recipe(recipe)

    def export(self, checkpoint, recipe, out: Path, *, force: bool = False, progress=None, **options) -> Artifact:
        """Options: ``encoding`` (compat|native), ``imatrix`` (file), ``calibration`` (text file),
        ``threads``, ``save_imatrix`` (path to keep a computed importance matrix)."""
        from .export import export

        self.check()
        return export(self, checkpoint, recipe, out, force=force, progress=progress, **options)

    def load(self, path: Path, **options):
        """A Runner for a .gguf file (options: ``n_ctx``, ``kv`` = f32|f16, ``threads``)."""
        from .runner import GGUFRunner

        self.check()
        return GGUFRunner(Path(path), n_ctx=options.get("n_ctx"), kv=options.get("kv", "f32"), threads=options.get("threads"))

    def register(self) -> None:
        """Nothing to do at run time: a compat file names an architecture stock llama.cpp has, and
        native files need the patched build (:func:`.native.build`), checked when one is loaded."""


BACKEND = GGUFBackend()
