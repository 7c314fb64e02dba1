"""Each backend's default export of the bundled model is byte-identical to the recorded one.

tests/golden/exports.json was written by tests/golden/make_export_goldens.py from the code
before the backends became plugins (issue 13), and verified equal after it; any later change
to these bytes must be deliberate: regenerate the goldens in the same commit and say why.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "golden"))
from make_export_goldens import GOLDEN, export_hashes, model_sha256  # noqa: E402

GOLDENS = json.loads(GOLDEN.read_text())


def test_the_goldens_are_for_the_bundled_model():
    assert GOLDENS["model_sha256"] == model_sha256(), (
        "the bundled model changed: regenerate tests/golden/exports.json with tests/golden/make_export_goldens.py")


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(GOLDENS["exports"]))
def test_default_export_is_byte_identical(key, tmp_path):
    from phonelm_export.registry import get_backend

    name, recipe = key.split("/")
    backend = get_backend(name)
    assert backend.default_recipe == recipe, f"{name}'s default recipe changed: regenerate the goldens"
    if not backend.available():
        pytest.fail(f"{name} is not installed here; CI installs every extra")
    assert export_hashes(name, tmp_path) == GOLDENS["exports"][key]
