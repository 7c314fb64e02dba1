"""`phonelm-export tune`: a measured search that respects the size budget and writes a usable recipe."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from phonelm_export.recipes import load_recipe


@pytest.mark.gguf
@pytest.mark.slow
def test_tune_finds_a_recipe_within_budget_that_exports(random_checkpoint, tmp_path):
    out = tmp_path / "tuned.toml"
    budget = 6.0  # all-q4_0 is ~4.6 bits/weight here, all-q8_0 ~8.5: some groups can move up, not all
    p = subprocess.run([sys.executable, "-m", "phonelm_export", "tune", str(random_checkpoint), "--budget-bpw", str(budget),
                        "--ladder", "q4_0,q8_0", "--windows", "1", "--window", "64", "-o", str(out), "--json"],
                       capture_output=True, text=True, timeout=1200)
    assert p.returncode == 0, p.stderr[-2000:]
    res = json.loads(p.stdout)
    assert res["bits_per_weight"] <= budget
    assert "q8_0" in res["assignment"].values() and "q4_0" in res["assignment"].values()
    recipe = load_recipe("gguf", str(out))
    assert recipe.family == "experimental" and recipe.data["types"]
    exported = tmp_path / "tuned.gguf"
    e = subprocess.run([sys.executable, "-m", "phonelm_export", "gguf", str(random_checkpoint), "--recipe", str(out),
                        "-o", str(exported), "--json"], capture_output=True, text=True, timeout=600)
    assert e.returncode == 0, e.stderr[-2000:]
    assert json.loads(e.stdout)["bits_per_weight"] == pytest.approx(res["bits_per_weight"], abs=1e-3)


def test_tune_refuses_an_impossible_budget(random_checkpoint, tmp_path):
    pytest.importorskip("llama_cpp")
    p = subprocess.run([sys.executable, "-m", "phonelm_export", "tune", str(random_checkpoint), "--budget-bpw", "1",
                        "--ladder", "q4_0,q8_0", "--windows", "1", "--window", "32", "-o", str(tmp_path / "t.toml")],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 2 and "over the 1 budget" in p.stderr
    assert not (tmp_path / "t.toml").exists()
