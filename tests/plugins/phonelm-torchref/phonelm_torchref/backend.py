"""torchref: export = a PhoneLM checkpoint directory with the recipe's weight dtype; run = PyTorch.

It uses only the public contract (phonelm_export.backend, .recipes, .schemas, .atomic,
.checkpoint, .reference, .hf_writer), as any third-party backend would.
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Literal

from phonelm_export.backend import Artifact, Backend
from phonelm_export.errors import PhoneLMError, RecipeError
from phonelm_export.schemas import ClosedSchemaModel, validate

MARKER = "torchref-artifact.json"


class TorchRefRecipe(ClosedSchemaModel):
    dtype: Literal["float32", "bfloat16"]


class TorchRefBackend(Backend):
    name = "torchref"
    extra = "torchref"
    description = "PyTorch reference as a 'runtime' (an out-of-tree test backend)"
    requires = ("torch",)
    suffix = ""  # a directory
    default_recipe = "fp32"

    def recipes_dir(self) -> Path:
        return Path(str(resources.files("phonelm_torchref").joinpath("recipes")))

    def validate_recipe(self, recipe) -> None:
        validate(TorchRefRecipe, recipe.data, f"recipe {recipe.name}", RecipeError)

    def recognizes(self, path: Path) -> bool:
        return Path(path).is_dir() and (Path(path) / MARKER).is_file()

    def export(self, checkpoint, recipe, out: Path, *, force: bool = False, progress=None, **options) -> Artifact:
        import torch

        from phonelm_export.atomic import atomic_output
        from phonelm_export.hf_writer import save_phonelm
        from phonelm_export.recipes import validated

        if options:
            raise PhoneLMError(f"torchref takes no export options (got {sorted(options)[0]!r})")
        recipe = validated(self, recipe)
        dtype = getattr(torch, recipe.data["dtype"])
        out = Path(out)
        with atomic_output(out, force=force, directory=True) as tmp:
            save_phonelm(tmp, dict(checkpoint.tensors()), checkpoint.dims, checkpoint.tokenizer_file, dtype=dtype,
                         chat_template=checkpoint.chat_template)
            (tmp / MARKER).write_text(json.dumps({"recipe": recipe.name, "dtype": recipe.data["dtype"]}) + "\n")
        files = sorted(p for p in out.iterdir() if p.is_file())
        weights = (out / "model.safetensors").stat().st_size
        return Artifact(backend=self.name, path=out, recipe=recipe.name, files=files,
                        meta={"dtype": recipe.data["dtype"],
                              "bits_per_weight": round(weights * 8 / checkpoint.param_count(), 3)})

    def load(self, path: Path, **options):
        from phonelm_export.checkpoint import open_checkpoint
        from phonelm_export.reference import ReferenceRunner

        self.check()
        return ReferenceRunner.from_checkpoint(open_checkpoint(path))


BACKEND = TorchRefBackend()
