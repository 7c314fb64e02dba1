"""Quantization recipes: TOML data files in ``quant_recipes/<backend>/<name>.toml``.

Every recipe has a one-line ``purpose`` and a ``family`` (``smallest``, ``balanced``,
``near-lossless``, or ``reference`` for unquantized exports); the rest of the file is the
backend's own vocabulary, validated by that backend. A path to a ``.toml`` file works
wherever a recipe name does (that is how ``tune`` output is used).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
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

    def get(self, key, default=None):
        return self.data.get(key, default)


def recipes_dir(backend: str) -> Path:
    return Path(str(resources.files("phonelm_export.quant_recipes").joinpath(backend)))


def list_recipes(backend: str) -> list[str]:
    d = recipes_dir(backend)
    return sorted(p.stem for p in d.glob("*.toml")) if d.is_dir() else []


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


def load_recipe(backend: str, name_or_path: str) -> Recipe:
    """A bundled recipe by name, or a recipe file by path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" and p.is_file():
        return parse_recipe(p.read_text(encoding="utf-8"), p.stem, backend, p)
    f = recipes_dir(backend) / f"{name_or_path}.toml"
    if not f.is_file():
        known = ", ".join(list_recipes(backend)) or "none"
        raise RecipeError(f"unknown {backend} recipe {name_or_path!r} (known: {known})")
    return parse_recipe(f.read_text(encoding="utf-8"), name_or_path, backend, f)


def recipe_for_family(backend: str, family: str) -> Recipe:
    for name in list_recipes(backend):
        r = load_recipe(backend, name)
        if r.family == family:
            return r
    raise RecipeError(f"no {backend} recipe in family {family!r}")
