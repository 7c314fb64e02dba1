"""What ``verify`` runs and how long it may take: recipe selection, the time budget, progress
with an estimate of the time left, and the stamps that let a rerun reuse earlier exports.

Selection (:func:`select_jobs`). By default verify runs **one representative recipe per recipe
family**: every installed backend's default recipe (what its export command writes), and for
each family (reference, near-lossless, balanced, smallest) none of those covers, that family's
first recipe on the first backend that has one. Today: llama.cpp f16, q8_0 and balanced,
ExecuTorch 8da4w-g32, MLC q4f16_1 — 5 exports instead of the 14 of ``--all-recipes``.

Budget (:class:`Budget`). Export time is what it is; what verify *chooses* is how much it
measures. The reference may spend a tenth of the budget on perplexity windows; every row then
gets an equal share of what is left when its turn comes, after the expected export time of the
rows still to come. Inside its share a row runs the fixed part (speed, logits of the parity
prompts), greedy generation as long as it fits, and perplexity windows one at a time while the
next still fits — at least one; its perplexity change is taken against the reference's over the
*same* windows.

Estimates. An export is expected to take :data:`EXPORT_S_PER_B` seconds per billion parameters
until a backend has exported once in this run; from then on its own measured rate is used.
The time left is the expected export time of the rows to come plus the measuring time their
budget shares allow.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

#: recipe families a default run covers, in this order
DEFAULT_FAMILIES = ("reference", "near-lossless", "balanced", "smallest")
#: export seconds per billion parameters before a backend has exported once (2-core bench machine)
EXPORT_S_PER_B = 300.0
#: share of the budget the reference may spend on perplexity windows
REFERENCE_SHARE = 0.1


def select_jobs(backends: list[tuple[str, str]], recipes_of, *, all_recipes: bool = False,
                explicit: list[str] | None = None) -> list[tuple[str, str]]:
    """(backend, recipe name) pairs to verify, grouped by backend in the given order.

    ``backends``: (name, default recipe) of the selected, installed backends;
    ``recipes_of(name) -> [(recipe, family), ...]``. ``explicit`` recipe names (or .toml paths)
    win; ``all_recipes`` takes every recipe of every backend.
    """
    if explicit:
        out = []
        for b, _ in backends:
            names = {n for n, _ in recipes_of(b)}
            out += [(b, r) for r in explicit if r in names or Path(r).suffix == ".toml"]
        return out
    listed = {b: recipes_of(b) for b, _ in backends}
    if all_recipes:
        return [(b, n) for b, _ in backends for n, _ in listed[b]]
    chosen = {(b, d) for b, d in backends if d in {n for n, _ in listed[b]}}
    covered = {f for b, d in chosen for n, f in listed[b] if n == d}
    for family in DEFAULT_FAMILIES:
        if family in covered:
            continue
        for b, _ in backends:
            names = [n for n, f in listed[b] if f == family]
            if names:
                chosen.add((b, names[0]))
                covered.add(family)
                break
    return [(b, n) for b, _ in backends for n, _ in listed[b] if (b, n) in chosen]


@dataclass
class Budget:
    """The deadline of one verify run and what it learnt about export times on the way."""

    seconds: float
    params: int
    start: float = field(default_factory=time.monotonic)
    #: per backend: (export seconds, parameters) measured in this run
    export_rates: dict = field(default_factory=dict)
    measure_seconds: list = field(default_factory=list)

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return self.seconds - self.elapsed()

    def export_estimate(self, backend: str) -> float:
        if backend in self.export_rates:
            return self.export_rates[backend]
        return 5.0 + EXPORT_S_PER_B * self.params / 1e9

    def record_export(self, backend: str, seconds: float) -> None:
        self.export_rates[backend] = max(self.export_rates.get(backend, 0.0), seconds)

    def reference_share(self) -> float:
        return REFERENCE_SHARE * self.seconds

    def row_share(self, later_exports: list[str]) -> float:
        """Seconds the current row may spend measuring (``later_exports``: the backends of the
        exports still to come after this row)."""
        spare = self.left() - sum(self.export_estimate(b) for b in later_exports)
        return max(0.0, spare / (1 + len(later_exports)))

    def estimate_left(self, pending_exports: list[str], rows_left: int) -> float:
        """Seconds until the report: the pending exports plus the measuring of the rows to
        come, each at most its budget share (at least what the rows so far took)."""
        exports = sum(self.export_estimate(b) for b in pending_exports)
        share = max(0.0, self.left() - exports) / max(1, rows_left)
        typical = max(self.measure_seconds) if self.measure_seconds else share
        return exports + rows_left * max(min(share, typical), 0.0)


def fmt_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    m, s = divmod(seconds, 60)
    if m < 60:
        return f"{m}:{s:02d} min"
    h, m = divmod(m, 60)
    return f"{h}:{m:02d} h"


# -- export reuse --------------------------------------------------------------------------

STAMP_SUFFIX = ".verify-stamp.json"


def checkpoint_fingerprint(ckpt) -> dict:
    """Cheap identity of a checkpoint: its files' names, sizes and modification times."""
    files = sorted({*ckpt.source_files, *(p for p in ckpt.path.iterdir() if p.is_file() and p.suffix == ".json")})
    return {"path": str(Path(ckpt.path).resolve()),
            "files": [[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in files]}


def recipe_digest(recipe) -> str:
    body = json.dumps({"name": recipe.name, "family": recipe.family, "data": recipe.data}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def code_digest(backend) -> str:
    """The backend's own source files: an export made by other code is not reused."""
    import sys

    h = hashlib.sha256()
    mod = sys.modules.get(type(backend).__module__)
    folder = Path(mod.__file__).parent if mod is not None and getattr(mod, "__file__", None) else None
    for f in sorted(folder.glob("*.py")) if folder else ():
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


def export_stamp(ckpt, backend, recipe, options: dict) -> dict:
    from . import __version__

    return {"version": __version__, "backend": backend.name, "code": code_digest(backend),
            "recipe": recipe_digest(recipe), "options": json.loads(json.dumps(options, sort_keys=True, default=str)),
            "checkpoint": checkpoint_fingerprint(ckpt)}


def stamp_path(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + STAMP_SUFFIX)


def reusable(artifact: Path, stamp: dict) -> dict | None:
    """The recorded export of ``artifact`` when it was made from the same checkpoint, recipe,
    options and package version (and is still there), else None."""
    sp = stamp_path(artifact)
    if not artifact.exists() or not sp.is_file():
        return None
    try:
        rec = json.loads(sp.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return rec if rec.get("stamp") == stamp else None


def write_stamp(artifact: Path, stamp: dict, record: dict) -> None:
    sp = stamp_path(artifact)
    tmp = sp.with_name(sp.name + ".tmp")
    tmp.write_text(json.dumps({"stamp": stamp, **record}, indent=1, default=str))
    tmp.replace(sp)
