"""A backend that lives outside phonelm-export plugs in through the entry-point group alone.

The package in tests/plugins/phonelm-torchref follows backends/README.md ("adding a backend"):
its own backend object, recipes, schema and export command, and one entry-point line in its
pyproject.toml. Installed into a virtual environment layered over this one, it shows up in
``backends list`` and works with ``torchref`` (its own command), ``verify``, ``all`` and
``chat`` -- with no file of phonelm-export changed.
"""
from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

PLUGIN = Path(__file__).parent / "plugins" / "phonelm-torchref"


@pytest.fixture(scope="module")
def plugin_python(tmp_path_factory) -> Path:
    env_dir = tmp_path_factory.mktemp("plugin-venv")
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    # this environment's pip, installing into the new venv (no network: no build isolation)
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                        "--no-build-isolation", str(PLUGIN)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return py


def cli(py: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(py), "-m", "phonelm_export.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=900)


def test_the_plugin_is_listed_with_its_own_recipes(plugin_python):
    r = cli(plugin_python, "backends", "list", "--json")
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows["torchref"]["status"] == "installed"
    assert rows["torchref"]["recipes"] == ["bf16", "fp32"]
    assert {"gguf", "executorch", "mlc"} <= set(rows)  # the built-ins are found the same way


def test_the_plugin_is_invisible_without_its_distribution():
    r = subprocess.run([sys.executable, "-m", "phonelm_export.cli", "backends", "list", "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "torchref" not in {row["name"] for row in json.loads(r.stdout)}


def test_its_export_command_verify_all_and_chat_work(plugin_python, tmp_path):
    out = tmp_path / "ref-bf16"
    r = cli(plugin_python, "torchref", "--recipe", "bf16", "-o", str(out), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["backend"] == "torchref" and summary["dtype"] == "bfloat16"
    assert (out / "torchref-artifact.json").is_file()

    # a recipe error is the plugin's schema speaking through the core's one-line errors
    bad = tmp_path / "bad.toml"
    bad.write_text('purpose = "x"\nfamily = "experimental"\ndtype = "int3"\n')
    r = cli(plugin_python, "torchref", "--recipe", str(bad), "-o", str(tmp_path / "never"))
    assert r.returncode == 2 and "dtype" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "never").exists()

    r = cli(plugin_python, "verify", "--backends", "torchref", "--calls", "0", "-o", str(tmp_path / "rep"), "--json")
    assert r.returncode == 0, r.stderr
    rows = {row["recipe"]: row for row in json.loads(r.stdout)["rows"] if row["backend"] == "torchref"}
    assert set(rows) == {"fp32", "bf16"}
    assert rows["fp32"]["max_abs"] < 1e-4 and rows["fp32"]["top1"] == 1.0  # the reference itself
    assert rows["bf16"]["passed"]

    r = cli(plugin_python, "all", "--backends", "torchref", "--calls", "0", "-o", str(tmp_path / "all"), "--json")
    assert r.returncode == 0, r.stderr
    manifest = json.loads(r.stdout)
    assert [b["backend"] for b in manifest["backends"]] == ["torchref"]
    assert manifest["backends"][0]["recipe"] == "bf16" and manifest["passed"]

    r = cli(plugin_python, "chat", str(out), "-p", "What can you do?", "--max-new-tokens", "8")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()
