"""Bad input to the ExecuTorch export gets one clear line and leaves nothing behind; recipes are valid.

None of these tests lowers a model (that takes minutes): every refusal happens before lowering,
and the interrupted-write case injects a failure into the program writer.
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from phonelm_export.checkpoint import open_checkpoint
from phonelm_export.cli import main
from phonelm_export.errors import PhoneLMError, RecipeError
from phonelm_export.recipes import FAMILIES, list_recipes, load_recipe, parse_recipe

pytestmark = pytest.mark.executorch


def _run(*args):
    return CliRunner().invoke(main, ["executorch", *map(str, args)])


def _one_error_line(res) -> str:
    assert res.exit_code == 2, res.output
    lines = [l for l in res.output.splitlines() if l.startswith("error: ")]
    assert len(lines) == 1, res.output
    assert "Traceback" not in res.output
    return lines[0]


# --- recipes -----------------------------------------------------------------------------

def test_bundled_recipes_are_valid_and_cover_the_families():
    from phonelm_export.registry import get_backend

    names = list_recipes("executorch")
    assert {"fp32", "8da4w-g32", "8da4w-g128", "8da8w"} <= set(names)
    backend = get_backend("executorch")
    families = set()
    for n in names:
        r = load_recipe("executorch", n)
        backend.validate_recipe(r)
        assert r.purpose and "\n" not in r.purpose
        assert r.family in FAMILIES
        families.add(r.family)
    assert {"reference", "balanced", "smallest", "near-lossless"} <= families


def test_recipe_with_an_unknown_scheme_is_refused():
    from phonelm_export.registry import get_backend

    r = parse_recipe('purpose = "x"\nfamily = "experimental"\nlinear = "8da3w"\n', "bad", "executorch")
    with pytest.raises(RecipeError, match="linear: expected one of 'fp32', '8da8w' or '8da4w', got \"8da3w\""):
        get_backend("executorch").validate_recipe(r)
    r = parse_recipe('purpose = "x"\nfamily = "experimental"\nbits = 4\n', "bad", "executorch")
    with pytest.raises(RecipeError, match=r"recipe bad: unknown key .bits. \(known: .*linear"):
        get_backend("executorch").validate_recipe(r)


def test_unknown_recipe_is_one_line(random_checkpoint, tmp_path):
    line = _one_error_line(_run(random_checkpoint, "--recipe", "q3_fancy", "-o", tmp_path / "m.pte"))
    assert "unknown executorch recipe 'q3_fancy'" in line and "8da4w-g32" in line
    assert list(tmp_path.iterdir()) == []


def test_group_size_that_does_not_divide_the_model_is_refused(random_checkpoint, tmp_path):
    # the random model has hidden size 64: groups of 128 cannot tile it
    line = _one_error_line(_run(random_checkpoint, "--recipe", "8da4w-g128", "-o", tmp_path / "m.pte"))
    assert "group_size 128 does not divide" in line
    assert list(tmp_path.iterdir()) == []


# --- options and outputs ---------------------------------------------------------------------

def test_max_seq_len_beyond_the_model_is_refused(random_checkpoint, tmp_path):
    limit = open_checkpoint(random_checkpoint).dims.max_position_embeddings
    line = _one_error_line(_run(random_checkpoint, "--recipe", "fp32", "--max-seq-len", limit + 1, "-o", tmp_path / "m.pte"))
    assert f"exceeds the model's max_position_embeddings {limit}" in line
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_force(random_checkpoint, tmp_path):
    out = tmp_path / "m.pte"
    out.write_bytes(b"precious")
    line = _one_error_line(_run(random_checkpoint, "--recipe", "fp32", "--max-seq-len", 32, "-o", out))
    assert "exists; pass --force" in line
    assert out.read_bytes() == b"precious"


def test_a_different_tokenizer_beside_the_output_needs_force(random_checkpoint, tmp_path):
    (tmp_path / "tokenizer.json").write_text("{}")
    line = _one_error_line(_run(random_checkpoint, "--recipe", "fp32", "--max-seq-len", 32, "-o", tmp_path / "m.pte"))
    assert "tokenizer.json exists; pass --force" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokenizer.json"]


def test_output_must_be_a_pte(random_checkpoint, tmp_path):
    line = _one_error_line(_run(random_checkpoint, "--recipe", "fp32", "-o", tmp_path / "m.bin"))
    assert "must end in .pte" in line


def test_checkpoint_without_tokenizer_is_refused(random_checkpoint, tmp_path):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(random_checkpoint, ckpt)
    (ckpt / "tokenizer.json").unlink()
    line = _one_error_line(_run(ckpt, "--recipe", "fp32", "--max-seq-len", 32, "-o", tmp_path / "m.pte"))
    assert "no tokenizer.json" in line
    assert not (tmp_path / "m.pte").exists()


def test_failure_while_writing_leaves_nothing(random_checkpoint, tmp_path, monkeypatch):
    """An export that dies mid-write leaves neither a partial .pte, a tokenizer, nor temp files."""
    from phonelm_export.registry import get_backend
    from phonelm_export.backends.executorch import lower

    class DiesMidWrite:
        def write_to_file(self, fh):
            fh.write(b"\0" * 4096)
            raise OSError("disk full")

    monkeypatch.setattr(lower, "lower_to_executorch", lambda *a, **k: DiesMidWrite())
    out = tmp_path / "m.pte"
    with pytest.raises(OSError, match="disk full"):
        get_backend("executorch").export(
            open_checkpoint(random_checkpoint), load_recipe("executorch", "fp32"), out, max_seq_len=32
        )
    assert list(tmp_path.iterdir()) == []


def test_corrupt_pte_is_one_line(tmp_path):
    from phonelm_export.registry import get_backend

    bad = tmp_path / "bad.pte"
    bad.write_bytes(b"not a flatbuffer" * 64)
    with pytest.raises(PhoneLMError, match="ExecuTorch cannot load it"):
        get_backend("executorch").load(bad)
    with pytest.raises(PhoneLMError, match="no such .pte file"):
        get_backend("executorch").load(tmp_path / "missing.pte")


def test_missing_extra_is_the_install_hint(random_checkpoint, tmp_path):
    """Without ExecuTorch installed the command prints the pip line, not a traceback."""
    code = (
        "import sys\n"
        "for m in ('executorch', 'executorch.exir', 'torchao'):\n"
        "    sys.modules[m] = None  # makes `import m` raise ImportError\n"
        "from phonelm_export.cli import main\n"
        f"main(['executorch', {str(random_checkpoint)!r}, '-o', {str(tmp_path / 'm.pte')!r}])\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr
    assert "pip install 'phonelm-export[executorch]'" in res.stderr
    assert "Traceback" not in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_help_explains_the_options():
    res = CliRunner().invoke(main, ["executorch", "--help"])
    assert res.exit_code == 0
    for word in ("--recipe", "--max-seq-len", "--rope", "--logits", "tokenizer.json", "LLM runner"):
        assert word in res.output
