"""Every installed backend keeps the same contract, and every command speaks one vocabulary.

Parametrised over what the registry discovers, so a new backend (in-tree or a plugin) is held
to the same rules without touching this file.
"""
from __future__ import annotations

from pathlib import Path

import click
import pytest

from phonelm_export.backend import Backend
from phonelm_export.recipes import FAMILIES, list_recipes, load_recipe
from phonelm_export.registry import backends, get_backend, names

BACKENDS = names()
SAME_FILES = ("__init__.py", "backend.py", "recipes.py", "export.py", "runner.py", "register.py", "cli.py")
EXPORT_VOCABULARY = {"--recipe", "--output", "-o", "--force", "--json", "--quiet", "-q", "--allow-pickle"}


def _options(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)}


def test_the_built_in_backends_are_found_through_entry_points():
    assert {"gguf", "executorch", "mlc"} <= set(BACKENDS)
    assert BACKENDS[:3] == ["gguf", "executorch", "mlc"]


@pytest.mark.parametrize("name", BACKENDS)
def test_backend_object_declares_its_facts(name):
    b = get_backend(name)
    assert isinstance(b, Backend) and b.name == name
    assert b.description and b.extra
    assert b.artifact_kind is not None, "--force must be able to recognise a previous artifact"
    assert b.default_recipe in list_recipes(b)
    if b.android_recipe:
        assert b.android_recipe in list_recipes(b) and b.android_engine


@pytest.mark.parametrize("name", BACKENDS)
def test_every_shipped_recipe_validates_once(name):
    b = get_backend(name)
    for r in list_recipes(b):
        recipe = load_recipe(b, r)
        assert recipe.family in FAMILIES and recipe.purpose
        assert recipe.validated_by == name  # load_recipe validated it; exports do not again


@pytest.mark.parametrize("name", [n for n in BACKENDS if get_backend(n).__module__.startswith("phonelm_export.backends.")])
def test_built_in_folders_have_the_same_files(name):
    folder = Path(__import__(f"phonelm_export.backends.{name}", fromlist=["x"]).__file__).parent
    missing = [f for f in SAME_FILES if not (folder / f).is_file()]
    assert not missing, f"backends/{name} lacks {missing}"


@pytest.mark.parametrize("name", BACKENDS)
def test_its_export_command_has_the_shared_vocabulary(name):
    cmds = {c.name: c for c in get_backend(name).commands()}
    assert name in cmds, f"the {name} backend adds a `phonelm-export {name}` command"
    assert EXPORT_VOCABULARY <= _options(cmds[name])
    assert "MODEL is a PhoneLM" in (cmds[name].epilog or "")


@pytest.mark.parametrize("name", BACKENDS)
def test_artifacts_are_recognised_by_their_backend_only(name, tmp_path):
    b = get_backend(name)
    assert not b.recognizes(tmp_path)  # an empty directory is nobody's artifact
    for other in backends():
        p = other.artifact_path(tmp_path, "x")
        if other.name != name and other.suffix and other.suffix != b.suffix:
            assert not b.recognizes(p)


def test_every_command_that_writes_uses_output_and_takes_json():
    from phonelm_export.cli import main

    writers = ["gguf", "executorch", "mlc", "verify", "all", "android", "tune"]
    for n in writers:
        opts = _options(main.commands[n])
        assert {"-o", "--output"} <= opts, n
        assert "--json" in opts, n
        assert "--out" not in opts, n


def test_help_reads_cleanly_everywhere():
    from click.testing import CliRunner

    from phonelm_export.cli import main

    for n, cmd in main.commands.items():
        r = CliRunner().invoke(main, [n, "--help"])
        assert r.exit_code == 0, n
        assert "\b" not in r.output and "\\b" not in r.output, n  # click's no-rewrap marker must not leak
        if any(isinstance(p, click.Argument) and p.name == "model" for p in cmd.params):
            assert r.output.count("MODEL is a PhoneLM") == 1, n


def test_a_broken_plugin_is_listed_not_fatal(monkeypatch):
    """A plugin that fails to import must not take `phonelm-export` down with it."""
    from importlib.metadata import EntryPoint

    from click.testing import CliRunner

    from phonelm_export import registry
    from phonelm_export.cli import main
    from phonelm_export.errors import PhoneLMError

    real = registry.entry_points
    bad = EntryPoint(name="broken", value="phonelm_no_such_module:BACKEND", group=registry.GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [*real(group=group), bad])
    monkeypatch.setattr(registry, "BROKEN", {})
    registry._discovered.cache_clear()
    try:
        assert "broken" not in registry.names() and "gguf" in registry.names()
        assert "failed to import" in registry.BROKEN["broken"]
        with pytest.raises(PhoneLMError, match="installed but broken"):
            registry.get_backend("broken")
        r = CliRunner().invoke(main, ["backends", "list"])
        assert r.exit_code == 0 and "broken" in r.output
    finally:
        registry._discovered.cache_clear()


def test_the_core_names_no_backend_and_imports_none():
    """Dependencies run one way: backends import the core, never the reverse, and the core never
    branches on a backend's name (docstrings and comments may mention them; code may not)."""
    import ast

    import phonelm_export

    core = Path(phonelm_export.__file__).parent
    offenders = []
    for f in sorted(core.rglob("*.py")):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for n in ast.walk(tree):
            if isinstance(n, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or ""]
                relative = isinstance(n, ast.ImportFrom) and n.level
                if any(m == "phonelm_export.backends" or m.startswith("phonelm_export.backends.")
                       or (relative and (m == "backends" or m.startswith("backends."))) for m in mods):
                    offenders.append(f"{f.relative_to(core)}:{n.lineno} imports {mods}")
            elif isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings:
                if n.value in BACKENDS:
                    offenders.append(f"{f.relative_to(core)}:{n.lineno} names {n.value!r}")
    assert not offenders, offenders
