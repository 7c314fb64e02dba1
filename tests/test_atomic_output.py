"""Outputs appear whole or not at all, never clobber without --force, get normal permissions, and
--force only ever replaces a previous artifact of the same kind."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from phonelm_export.atomic import ArtifactKind, Output, atomic_output, check_outputs, known_directory_kinds
from phonelm_export.errors import OutputError, OutputExistsError

# kinds as backends declare them (Backend.artifact_kind); the tests do not depend on a backend
MLC_DIR = ArtifactKind("MLC model directory", required=("mlc-chat-config.json",),
                       files=("mlc-chat-config.json", "tensor-cache.json", "params_shard_*.bin", "*-cpu.so", "tokenizer.json"))
GGUF_FILE = ArtifactKind("GGUF file", magic=b"GGUF")
MLC_FILES = ("mlc-chat-config.json", "tensor-cache.json", "params_shard_0.bin", "tokenizer.json")


def make_mlc_dir(d: Path) -> Path:
    d.mkdir()
    for f in MLC_FILES:
        (d / f).write_text("old")
    return d


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_output(tmp_path / "model.gguf") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_leaves_nothing_behind(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(tmp_path / "d", directory=True) as tmp:
            (tmp / "half").write_bytes(b"x")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_an_existing_output_needs_force_and_survives_a_failed_overwrite(tmp_path):
    out = make_mlc_dir(tmp_path / "out")
    with pytest.raises(OutputExistsError, match="--force"):
        with atomic_output(out, directory=True, kind=MLC_DIR):
            pass
    with pytest.raises(RuntimeError):
        with atomic_output(out, force=True, directory=True, kind=MLC_DIR) as tmp:
            (tmp / "new").write_text("x")
            raise RuntimeError("interrupted")
    assert sorted(p.name for p in out.iterdir()) == sorted(MLC_FILES)
    with atomic_output(out, force=True, directory=True, kind=MLC_DIR) as tmp:
        (tmp / "mlc-chat-config.json").write_text("new")
    assert [p.name for p in out.iterdir()] == ["mlc-chat-config.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_force_refuses_a_directory_with_other_files(tmp_path):
    """The data-loss case of issue 12: `mlc -o . --force` in a directory of the user's files."""
    out = make_mlc_dir(tmp_path / "out")
    (out / "thesis.docx").write_text("years of work")
    with pytest.raises(OutputError, match=r"thesis\.docx.*refusing"):
        with atomic_output(out, force=True, directory=True, kind=MLC_DIR):
            pass
    assert (out / "thesis.docx").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_force_refuses_a_directory_of_another_kind(tmp_path):
    out = tmp_path / "ckpt"
    out.mkdir()
    (out / "config.json").write_text("{}")
    (out / "model.safetensors").write_text("w")
    with pytest.raises(OutputError, match="not a previous MLC model directory"):
        with atomic_output(out, force=True, directory=True, kind=MLC_DIR):
            pass
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]


@pytest.mark.parametrize("where", ["cwd", "home", "parent", "root"])
def test_force_never_replaces_the_cwd_home_or_their_parents(where, tmp_path, monkeypatch):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "a"))
    target = {"cwd": Path("."), "home": tmp_path / "a", "parent": tmp_path, "root": Path("/")}[where]
    with pytest.raises(OutputError, match="refusing to replace it even with --force"):
        check_outputs([Output(target, directory=True, kind=MLC_DIR)], force=True)


def test_force_replaces_an_empty_directory_and_a_file_of_its_kind(tmp_path):
    (tmp_path / "empty").mkdir()
    with atomic_output(tmp_path / "empty", force=True, directory=True, kind=MLC_DIR) as tmp:
        (tmp / "mlc-chat-config.json").write_text("{}")
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF\x03\x00\x00\x00old")
    with atomic_output(gguf, force=True, kind=GGUF_FILE) as tmp:
        tmp.write_bytes(b"GGUF new")
    assert gguf.read_bytes() == b"GGUF new"


def test_force_does_not_replace_a_file_of_another_kind(tmp_path):
    notes = tmp_path / "notes.gguf"
    notes.write_text("my notes")
    with pytest.raises(OutputError, match="not a previous GGUF file"):
        check_outputs([Output(notes, kind=GGUF_FILE)], force=True)
    assert notes.read_text() == "my notes"


def test_a_file_output_is_not_written_over_a_directory(tmp_path):
    (tmp_path / "m.gguf").mkdir()
    with pytest.raises(OutputError, match="is a directory"):
        check_outputs([Output(tmp_path / "m.gguf", kind=GGUF_FILE)], force=True)


def test_outputs_are_checked_before_the_work(tmp_path):
    with pytest.raises(OutputError, match="output directory does not exist"):
        check_outputs([tmp_path / "out.gguf", tmp_path / "missing" / "m.pte"], force=False)
    with pytest.raises(OutputError, match="not enough free space"):
        check_outputs([Output(tmp_path / "big.gguf", size_bytes=1 << 60)], force=False)
    check_outputs([Output(tmp_path / "ok.gguf", size_bytes=1000)], force=False)
    assert list(tmp_path.iterdir()) == [], "the checks leave nothing behind"


def test_a_kind_recognises_its_files(tmp_path):
    kind = ArtifactKind("x", files=("a.json", "shard_*.bin", "sub/"), required=("a.json",))
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "a.json").write_text("{}")
    (d / "shard_0.bin").write_bytes(b"")
    assert kind.recognises(d) and kind.is_directory and not GGUF_FILE.is_directory
    (d / "sub.bin").write_bytes(b"")
    assert not kind.recognises(d) and kind.foreign_entry(d) == "sub.bin"


def test_undeclared_directory_outputs_may_replace_any_known_kind():
    names = {k.name for k in known_directory_kinds()}
    assert {"PhoneLM checkpoint", "verify report", "trainer snapshot", "phonelm-export all output"} <= names


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


def test_temporaries_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer runs
    (tmp_path / f".m.gguf.tmp-{dead.pid}-abcd").write_bytes(b"half of a killed export")
    (tmp_path / f".m.gguf.old-{dead.pid}").mkdir()
    alive = tmp_path / f".m.gguf.tmp-{os.getppid()}-efgh"  # a live writer's: left alone
    alive.write_bytes(b"in progress")
    with atomic_output(tmp_path / "m.gguf") as tmp:
        tmp.write_bytes(b"GGUF")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m.gguf", alive.name])
