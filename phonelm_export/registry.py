"""Which backends exist: discovered through the ``phonelm_export.backends`` entry-point group.

The built-in backends register exactly the way an out-of-tree package does, in its
``pyproject.toml``::

    [project.entry-points."phonelm_export.backends"]
    mybackend = "my_package.backend:BACKEND"

so adding a backend never touches the core (``backends/README.md`` walks through it). Loading
an entry point imports only the backend's light module; its heavy packages are imported when
it exports or runs, and ``Backend.check()`` names the extra when they are missing.
"""
from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path

from .backend import Backend
from .errors import PhoneLMError

GROUP = "phonelm_export.backends"


#: entry points that did not give a usable backend: name -> why (``backends list`` shows them)
BROKEN: dict[str, str] = {}


def _load(ep) -> Backend:
    try:
        backend = ep.load()
    except Exception as e:
        raise PhoneLMError(f"{ep.value} failed to import: {type(e).__name__}: {e}") from None
    if not isinstance(backend, Backend):
        raise PhoneLMError(f"{ep.value} is not a phonelm_export.backend.Backend")
    if backend.name != ep.name:
        raise PhoneLMError(f"{ep.value} is a backend called {backend.name!r}, registered as {ep.name!r}")
    return backend


@lru_cache(maxsize=1)
def _discovered() -> dict[str, Backend]:
    found: dict[str, Backend] = {}
    for ep in entry_points(group=GROUP):
        if ep.name in found or ep.name in BROKEN:
            continue  # the first distribution on sys.path wins, as for console scripts
        try:
            found[ep.name] = _load(ep)
        except PhoneLMError as e:  # one broken plugin must not take the whole CLI down
            BROKEN[ep.name] = str(e)
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


def names() -> list[str]:
    """Every discovered backend, built-ins first."""
    return list(_discovered())


def backends() -> list[Backend]:
    return list(_discovered().values())


def get_backend(name: str) -> Backend:
    """The backend object, available even when its extra is missing (call ``.check()``)."""
    found = _discovered()
    if name in BROKEN:
        raise PhoneLMError(f"backend {name!r} is installed but broken: {BROKEN[name]}")
    if name not in found:
        raise PhoneLMError(f"unknown backend {name!r}; choose from {', '.join(found) or 'none installed'}")
    return found[name]


def android_engines() -> list[str]:
    return [b.name for b in backends() if b.android_recipe]


def backend_for_path(path) -> Backend:
    """The backend whose artifact ``path`` is (a .gguf file, a .pte, an MLC directory, ...)."""
    p = Path(path)
    for b in backends():
        if b.recognizes(p):
            return b
    kinds = ", ".join(f"{b.name} ({b.suffix or 'directory'})" for b in backends())
    raise PhoneLMError(f"{p}: not an artifact of any installed backend ({kinds})")
