"""Outputs appear whole or not at all, never clobber without --force, and get normal permissions."""
from __future__ import annotations

import os

import pytest

from phonelm_export.atomic import atomic_output
from phonelm_export.errors import OutputExistsError


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_output(tmp_path / "model.gguf") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_output_needs_force_and_survives_a_failed_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old").write_text("keep")
    with pytest.raises(OutputExistsError, match="--force"):
        with atomic_output(out, directory=True):
            pass
    with pytest.raises(RuntimeError):
        with atomic_output(out, force=True, directory=True) as tmp:
            (tmp / "new").write_text("x")
            raise RuntimeError("interrupted")
    assert [p.name for p in out.iterdir()] == ["old"]
    with atomic_output(out, force=True, directory=True) as tmp:
        (tmp / "new").write_text("x")
    assert [p.name for p in out.iterdir()] == ["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_outputs_get_the_users_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "f") as tmp:
            tmp.write_text("x")
        with atomic_output(tmp_path / "d", directory=True) as tmp:
            pass
    finally:
        os.umask(old)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
