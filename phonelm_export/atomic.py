"""Write outputs atomically: into a temporary sibling, renamed into place only on success.

A failed or interrupted export leaves nothing at the output path (and no temporary litter),
and an existing output is never clobbered without ``force``.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import OutputExistsError, PhoneLMError


def check_output(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise OutputExistsError(f"{path} exists; pass --force to overwrite it")


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


@contextlib.contextmanager
def atomic_output(path: str | Path, *, force: bool = False, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path (a file or an empty directory) that becomes ``path`` on success."""
    path = Path(path).expanduser().absolute()
    check_output(path, force)
    if not path.parent.is_dir():
        raise PhoneLMError(f"{path.parent}: output directory does not exist")
    prefix = f".{path.name}.tmp-"
    # mkdtemp/mkstemp create private (0700/0600) paths; an export should get the permissions
    # any file the user creates gets
    umask = current_umask()
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=path.parent))
        os.chmod(tmp, 0o777 & ~umask)
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        if path.exists():  # force was given (checked above); replace
            if directory or path.is_dir():
                old = path.with_name(f".{path.name}.old-{os.getpid()}")
                os.replace(path, old)
                os.replace(tmp, path)
                _remove(old)
                return
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def make_shareable(path: Path) -> None:
    """Give a file written by a library that creates private (0600) files the permissions any
    file the user creates gets (safetensors' save_file does this)."""
    os.chmod(path, 0o666 & ~current_umask())
