"""Quantization recipes: TOML data files in ``quant_recipes/<backend>/<name>.toml``.

Every recipe has a one-line ``purpose`` and a ``family`` (``smallest``, ``balanced``,
``near-lossless``, or ``reference`` for unquantized exports); the rest of the file is the
backend's own vocabulary, validated by that backend (``Backend.validate_recipe``) exactly once
per recipe: :func:`load_recipe` does it, and an export given an already validated recipe does
not repeat it. A path to a ``.toml`` file works wherever a recipe name does (that is how
``tune`` output is used). Each backend says where its recipes live (``Backend.recipes_dir``),
so an out-of-tree backend ships its own.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import RecipeError

FAMILIES = ("reference", "smallest", "balanced", "near-lossless", "experimental")


@dataclass
class Recipe:
    name: str
    backend: str
    purpose: str
    family: str
    data: dict = field(default_factory=dict)
    path: Path | None = None
    #: the backend that validated ``data`` (None until then)
    validated_by: str | None = field(default=None, compare=False, repr=False)

    def get(self, key, default=None):
        return self.data.get(key, default)


def _backend(backend):
    """A Backend object from a backend or its name."""
    if isinstance(backend, str):
        from .registry import get_backend

        return get_backend(backend)
    return backend


def list_recipes(backend) -> list[str]:
    d = _backend(backend).recipes_dir()
    return sorted(p.stem for p in d.glob("*.toml")) if d.is_dir() else []


def validated(backend, recipe: Recipe) -> Recipe:
    """``recipe`` checked by ``backend`` (once: a recipe it already validated passes as it is)."""
    b = _backend(backend)
    if recipe.validated_by != b.name:
        b.validate_recipe(recipe)
        recipe.validated_by = b.name
    return recipe


def parse_recipe(text: str, name: str, backend: str, path: Path | None = None) -> Recipe:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"recipe {name}: invalid TOML ({e})") from None
    purpose = data.pop("purpose", None)
    family = data.pop("family", None)
    declared = data.pop("backend", backend)
    if declared != backend:
        raise RecipeError(f"recipe {name} is for the {declared} backend, not {backend}")
    if not isinstance(purpose, str) or not purpose.strip() or "\n" in purpose.strip():
        raise RecipeError(f"recipe {name}: needs a one-line 'purpose'")
    if family not in FAMILIES:
        raise RecipeError(f"recipe {name}: 'family' must be one of {', '.join(FAMILIES)}")
    return Recipe(name=name, backend=backend, purpose=purpose.strip(), family=family, data=data, path=path)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise RecipeError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise RecipeError(f"{path}: cannot read the recipe ({e.strerror or e})") from None


def load_recipe(backend, name_or_path: str) -> Recipe:
    """A backend's recipe by name, or a recipe file by path, validated by that backend."""
    b = _backend(backend)
    p = Path(name_or_path)
    if p.suffix == ".toml" and p.is_file():
        return validated(b, parse_recipe(_read_text(p), p.stem, b.name, p))
    f = b.recipes_dir() / f"{name_or_path}.toml"
    if not f.is_file():
        known = ", ".join(list_recipes(b)) or "none"
        raise RecipeError(f"unknown {b.name} recipe {name_or_path!r} (known: {known})")
    return validated(b, parse_recipe(_read_text(f), name_or_path, b.name, f))


def recipe_for_family(backend, family: str) -> Recipe:
    b = _backend(backend)
    for name in list_recipes(b):
        r = load_recipe(b, name)
        if r.family == family:
            return r
    raise RecipeError(f"no {b.name} recipe in family {family!r}")
