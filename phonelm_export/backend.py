"""The contract every backend implements; the CLI and verify talk only to this.

A backend is one object, found through the ``phonelm_export.backends`` entry-point group
(:mod:`phonelm_export.registry`; the built-ins are ``BACKEND`` in ``backends/<name>/backend.py``) that can
``export`` a validated :class:`~phonelm_export.checkpoint.Checkpoint` with a recipe into an
:class:`Artifact`, ``load`` an artifact into a :class:`Runner`, and ``register`` PhoneLM's
architecture with its ecosystem. Its module must import without the backend's heavy packages:
``check()`` names the extra to install when they are missing.
"""
from __future__ import annotations

import hashlib
import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from phonelm_export.errors import InputTextError, MissingExtra


@dataclass
class Sampling:
    """Decoding settings; temperature 0 means greedy."""

    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 0

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


def sample_next(logits: np.ndarray, sampling: Sampling, rng: np.random.Generator) -> int:
    """One token from a logits row, the same way in every runner."""
    if sampling.greedy:
        return int(np.argmax(logits))
    z = logits.astype(np.float64) / sampling.temperature
    if sampling.top_k > 0:
        kth = np.partition(z, -sampling.top_k)[-sampling.top_k]
        z = np.where(z < kth, -np.inf, z)
    p = np.exp(z - z.max())
    p /= p.sum()
    if sampling.top_p < 1.0:
        order = np.argsort(-p)
        cum = np.cumsum(p[order])
        keep = order[: int(np.searchsorted(cum, sampling.top_p) + 1)]
        q = np.zeros_like(p)
        q[keep] = p[keep]
        p = q / q.sum()
    return int(rng.choice(len(p), p=p))


def fit_to_context(n_prompt: int, max_new_tokens: int, limit: int | None) -> int:
    """The reply budget that fits beside an ``n_prompt``-token prompt; every runner refuses a
    prompt that leaves no room (the same words everywhere, before any compute)."""
    if limit is None:
        return max_new_tokens
    if n_prompt >= limit:
        raise InputTextError(
            f"the prompt is {n_prompt} tokens but the model's context holds {limit}; shorten it "
            "(or export with a longer context)"
        )
    return min(max_new_tokens, limit - n_prompt)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass
class Artifact:
    """What an export produced: the main path (file or directory) and every file in it."""

    backend: str
    path: Path
    recipe: str
    files: list[Path] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.files)

    def summary(self, with_sha256: bool = True) -> dict:
        out = {
            "backend": self.backend,
            "path": str(self.path),
            "recipe": self.recipe,
            "size_bytes": self.size_bytes(),
            "files": [
                {"path": str(f), "size_bytes": f.stat().st_size, **({"sha256": sha256_file(f)} if with_sha256 else {})}
                for f in self.files
            ],
        }
        out.update(self.meta)
        return out


class Runner(ABC):
    """A loaded model in some runtime: logits for parity, generate for chat."""

    stop_ids: tuple[int, ...] = (2, 0)
    #: encode(text) -> ids, decode(ids) -> str, render_chat(messages, add_generation_prompt) -> str
    tokenizer = None
    #: tokens the runtime holds, prompt and reply together; None: see :meth:`context_limit`
    context_length: int | None = None

    def context_limit(self) -> int | None:
        """How many tokens fit: ``context_length`` when the runner sets it, else what the
        runner's own attributes say (llama.cpp's n_ctx, the program's max_context, MLC's
        compiled context_window, the reference model's max_position_embeddings)."""
        for attr in ("context_length", "n_ctx", "max_context", "context_window"):
            v = getattr(self, attr, None)
            if isinstance(v, int) and not isinstance(v, bool) and v > 0:
                return v
        v = getattr(getattr(getattr(self, "model", None), "config", None), "max_position_embeddings", None)
        return v if isinstance(v, int) and v > 0 else None

    @abstractmethod
    def logits(self, ids: Sequence[int]) -> np.ndarray:
        """float32 logits ``[len(ids), vocab]`` for a prompt processed from an empty cache."""

    @abstractmethod
    def reset(self) -> None:
        """Forget the KV cache."""

    @abstractmethod
    def prefill(self, ids: Sequence[int]) -> np.ndarray:
        """Feed ``ids`` after what is cached; return the logits of the last position."""

    def decode_logits(self, ids: Sequence[int]) -> np.ndarray:
        """Logits ``[T, vocab]`` computed one token at a time through the KV cache."""
        self.reset()
        return np.stack([self.prefill([t]) for t in ids])

    def generate(
        self,
        prompt_ids: Sequence[int],
        max_new_tokens: int = 128,
        sampling: Sampling | None = None,
        on_token: Callable[[int], None] | None = None,
        constraint=None,
    ) -> list[int]:
        """Tokens after the prompt, stopping at a stop id (not included) or the budget.

        ``constraint`` (a :class:`phonelm_export.constrain.GrammarConstraint`): every step samples
        only among the tokens it allows, and it advances on the chosen one; it allows the stop
        ids exactly when its grammar is complete."""
        sampling = sampling or Sampling()
        prompt_ids = list(prompt_ids)
        max_new_tokens = fit_to_context(len(prompt_ids), max_new_tokens, self.context_limit())
        rng = np.random.default_rng(sampling.seed)
        self.reset()
        row = self.prefill(prompt_ids)
        out: list[int] = []
        for _ in range(max_new_tokens):
            tok = sample_next(row if constraint is None else constraint.apply(row), sampling, rng)
            if tok in self.stop_ids:
                break
            if constraint is not None:
                constraint.advance(tok)
            out.append(tok)
            if on_token:
                on_token(tok)
            row = self.prefill([tok])
        return out

    def close(self) -> None:
        pass


class Backend(ABC):
    """One ecosystem: how to export to it, run in it, and register PhoneLM with it.

    Besides ``export``/``load``/``register`` a backend carries every fact the core needs about
    it, so no core module ever names a backend: how its artifacts are named and recognised,
    where its recipes live and how they are validated, which export options verify and the
    Android bundle need, and which CLI commands it adds.
    """

    name: str = ""
    extra: str = ""  # the pip extra that brings its packages: pip install 'phonelm-export[<extra>]'
    description: str = ""
    requires: tuple[str, ...] = ()  # importable modules the extra provides
    order: int = 100  # place in listings and verify reports (the built-ins come first)
    #: suffix of a file artifact (".gguf"); "" for a directory artifact
    suffix: str = ""
    #: the recipe an export command uses when none is given
    default_recipe: str = ""
    #: the recipe an Android bundle uses when none is given; "" = not an Android engine
    android_recipe: str = ""
    #: one line for ``phonelm-export android --help``
    android_engine: str = ""
    #: what an existing artifact of this backend looks like (:class:`phonelm_export.atomic.ArtifactKind`):
    #: ``--force`` replaces only such a path, never a directory holding anything else
    artifact_kind = None

    def check(self) -> None:
        """Raise MissingExtra (one line with the pip command) when a required module is absent."""
        for mod in self.requires:
            try:
                importlib.import_module(mod)
            except ImportError:
                raise MissingExtra(self.extra, f"the {self.name} backend", mod) from None

    def available(self) -> bool:
        try:
            self.check()
        except MissingExtra:
            return False
        return True

    # -- recipes ---------------------------------------------------------------------------------
    def recipes_dir(self) -> Path:
        """Where this backend's recipe TOML files live (built-ins: quant_recipes/<name>/)."""
        from importlib import resources

        return Path(str(resources.files("phonelm_export.quant_recipes").joinpath(self.name)))

    def validate_recipe(self, recipe) -> None:
        """Raise RecipeError if the recipe asks for something this backend cannot do.

        Called once, by :func:`phonelm_export.recipes.load_recipe`; ``export`` takes the
        validated recipe as it is."""

    # -- artifacts -------------------------------------------------------------------------------
    def artifact_path(self, directory: Path, stem: str) -> Path:
        """Where an export named ``stem`` goes inside ``directory`` (verify, all)."""
        return Path(directory) / f"{stem}{self.suffix}"

    def recognizes(self, path: Path) -> bool:
        """True when ``path`` is an artifact of this backend (chat, verify, --force)."""
        p = Path(path)
        return bool(self.suffix) and p.suffix == self.suffix and not p.is_dir()

    def verify_options(self, checkpoint) -> dict:
        """Export options verify needs (e.g. a context long enough for its windows)."""
        return {}

    # -- Android ---------------------------------------------------------------------------------
    def android_options(self) -> dict:
        """Export options for an on-device bundle (e.g. the Android library, last-row logits)."""
        return {}

    def android_config(self, artifact: str, files: list[str], meta: dict) -> dict:
        """Engine-specific keys of the demo app's config: ``artifact`` is the export's path and
        ``files`` every file of the bundle, relative to the bundle; ``meta`` the export's meta."""
        return {"model": artifact}

    # -- command line ------------------------------------------------------------------------------
    def commands(self) -> list:
        """Click commands this backend adds to ``phonelm-export`` (its ``cli.py``: ``COMMANDS``)."""
        return list(getattr(self._cli(), "COMMANDS", ()))

    def backends_commands(self) -> list:
        """Click commands it adds under ``phonelm-export backends`` (``BACKENDS_COMMANDS``)."""
        return list(getattr(self._cli(), "BACKENDS_COMMANDS", ()))

    def _cli(self):
        package = type(self).__module__.rpartition(".")[0]
        try:
            return importlib.import_module(f"{package}.cli")
        except ModuleNotFoundError as e:
            if e.name == f"{package}.cli":
                return None
            raise

    # -- the work ----------------------------------------------------------------------------------
    @abstractmethod
    def export(self, checkpoint, recipe, out: Path, *, force: bool = False, progress=None, **options) -> Artifact:
        """Write the artifact for a validated checkpoint and recipe, atomically."""

    @abstractmethod
    def load(self, path: Path, **options) -> Runner:
        ...

    def register(self) -> None:
        """Teach the ecosystem PhoneLM's architecture (no-op where the artifact carries it)."""
