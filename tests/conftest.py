"""Shared fixtures: small checkpoints built once per session (exports are slow on 2 cores)."""
from __future__ import annotations

from pathlib import Path

import pytest

from phonelm_export.cli_options import bundled_model_path
from phonelm_export.random_model import make_random_checkpoint


@pytest.fixture(scope="session")
def random_checkpoint(tmp_path_factory) -> Path:
    """A random PhoneLM (2 layers, hidden 64, ffn 128, 4 heads, 384-token PhoneLM-pipeline tokenizer)."""
    return make_random_checkpoint(tmp_path_factory.mktemp("random") / "ckpt", seed=1)


@pytest.fixture(scope="session")
def bundled_checkpoint() -> Path:
    """The bundled, trained phonelm-tiny-call model."""
    p = bundled_model_path()
    if not (p / "config.json").is_file():
        pytest.fail(f"bundled model missing at {p}")
    return p
