"""Backends, one folder per ecosystem (installed as ``phonelm_export.backends``).

Adding a backend: a folder with ``BACKEND`` (see :mod:`.base`) and a ``cli.py`` exposing a
click ``command``; then one line in ``NAMES`` below.
"""
from __future__ import annotations

import importlib

from phonelm_export.errors import PhoneLMError

NAMES = ("gguf", "executorch", "mlc")


def get_backend(name: str):
    """The backend object, importable even when its extra is missing (call ``.check()``)."""
    if name not in NAMES:
        raise PhoneLMError(f"unknown backend {name!r}; choose from {', '.join(NAMES)}")
    return importlib.import_module(f"{__name__}.{name}").BACKEND


def present() -> list[str]:
    """Backends whose folder exists in this installation."""
    import importlib.util

    return [n for n in NAMES if importlib.util.find_spec(f"{__name__}.{n}") is not None]


def backend_for_path(path) -> str:
    """Guess the backend of an artifact from its path (.gguf, .pte, MLC directory)."""
    from pathlib import Path

    p = Path(path)
    if p.suffix == ".gguf":
        return "gguf"
    if p.suffix == ".pte":
        return "executorch"
    if p.is_dir() and (p / "mlc-chat-config.json").is_file():
        return "mlc"
    raise PhoneLMError(f"{p}: not a .gguf, a .pte or an MLC model directory")
