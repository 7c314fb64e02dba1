"""Write outputs atomically, and never replace anything that is not ours.

* An output is written into a temporary sibling (``.NAME.tmp-PID-XXXX``) and renamed into
  place only on success: a failed or interrupted export (an error, Ctrl-C, SIGTERM) leaves
  nothing at the output path and no temporary litter. Temporaries that a signal catches at an
  awkward moment are also removed at interpreter exit, and those of a writer that was killed
  outright (SIGKILL) by the next export to the same path.
* :func:`check_outputs` checks every output path of a command (and the free space, when the
  size is known) before any work starts, so a missing directory is not found after minutes of
  lowering.
* ``--force`` replaces only a previous artifact of the same kind, recognised by its files
  (:class:`ArtifactKind`); never the current directory, the home directory, ``/`` or a parent of
  them, and never a directory holding files the artifact does not consist of.
"""
from __future__ import annotations

import atexit
import contextlib
import errno
import fnmatch
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .errors import OutputError, OutputExistsError, describe_os_error


@dataclass(frozen=True)
class ArtifactKind:
    """How a previous output of one kind is recognised, so ``--force`` may replace it.

    A directory artifact: every entry matches one of ``files`` (glob patterns; a trailing ``/``
    means a sub-directory) and each of ``required`` matches some entry. A file artifact: its
    first bytes are ``magic`` at ``magic_offset`` (or any regular file when ``magic`` is None).
    """

    name: str
    files: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    magic: bytes | None = None
    magic_offset: int = 0

    @property
    def is_directory(self) -> bool:
        return bool(self.files)

    def foreign_entry(self, path: Path) -> str | None:
        """The first entry of directory ``path`` that is not part of this artifact (None: all are)."""
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            name = e.name + ("/" if e.is_dir(follow_symlinks=False) else "")
            if not any(fnmatch.fnmatchcase(name, pat) for pat in self.files):
                return e.name
        for pat in self.required:
            if not any(fnmatch.fnmatchcase(e.name + ("/" if e.is_dir(follow_symlinks=False) else ""), pat) for e in entries):
                return f"(no {pat.rstrip('/')})"
        return None

    def recognises(self, path: Path) -> bool:
        try:
            if self.is_directory:
                return path.is_dir() and not path.is_symlink() and self.foreign_entry(path) is None
            if not path.is_file() or path.is_symlink():
                return False
            if self.magic is None:
                return True
            with open(path, "rb") as fh:
                fh.seek(self.magic_offset)
                return fh.read(len(self.magic)) == self.magic
        except OSError:
            return False


_TOKENIZER = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
              "vocab.json", "merges.txt", "chat_template.jinja")
# the core's own directory outputs; each backend declares its artifact's kind (Backend.artifact_kind)
CHECKPOINT = ArtifactKind("PhoneLM checkpoint", files=("config.json", "model.safetensors", "model-*.safetensors",
                          "model.safetensors.index.json", "training_log.json", "README.md", *_TOKENIZER),
                          required=("config.json",))
VERIFY_REPORT = ArtifactKind("verify report", files=("report.json", "report.md", "plot.png", "artifacts/"),
                             required=("report.json",))
TRAINER_STATE = ArtifactKind("trainer snapshot", files=("trainer_state.pt",), required=("trainer_state.pt",))
APP_BUNDLE = ArtifactKind("Android app bundle", required=("phonelm-app.json",),
                         files=("phonelm-app.json", "functions.json", "verbatim.json", "model/", "push.sh", "phonelm-demo-replay.apk"))


def known_directory_kinds() -> tuple[ArtifactKind, ...]:
    """What a directory output with no declared kind may replace: the core's kinds, every
    installed backend's directory artifact, and ``all``'s output (one sub-directory per backend)."""
    try:
        from .registry import backends

        found = list(backends())
    except Exception:  # noqa: BLE001 -- a broken plugin must not make --force less safe, only narrower
        found = []
    kinds = [b.artifact_kind for b in found if getattr(b, "artifact_kind", None) is not None and b.artifact_kind.is_directory]
    all_export = ArtifactKind("phonelm-export all output", required=("manifest.json",),
                              files=("manifest.json", "verify/", *(f"{b.name}/" for b in found)))
    return (CHECKPOINT, VERIFY_REPORT, TRAINER_STATE, APP_BUNDLE, all_export, *kinds)


# -- the checks ---------------------------------------------------------------------------

def _protected(path: Path) -> str | None:
    """Why ``path`` may never be replaced (cwd, home, /, a parent of either), or None."""
    try:
        resolved = path.resolve()
        cwd = Path.cwd().resolve()
    except (OSError, RuntimeError):
        return None
    home = Path.home().resolve()
    if resolved == Path(resolved.anchor):
        return "the root directory"
    if resolved == cwd:
        return "the current directory"
    if resolved == home:
        return "your home directory"
    if resolved in cwd.parents:
        return "a parent of the current directory"
    if resolved in home.parents:
        return "a parent of your home directory"
    return None


def check_replaceable(path: Path, *, directory: bool | None, kind: ArtifactKind | None) -> None:
    """Raise unless ``--force`` may replace the existing ``path`` with a new output
    (``directory``: whether the new output is a directory; None when the caller does not say)."""
    why = _protected(path)
    if why:
        raise OutputError(f"{path} is {why}; refusing to replace it even with --force (choose a new output path)")
    if path.is_dir() and not path.is_symlink():
        if directory is False:
            raise OutputError(f"{path} is a directory; the output is a file (give a file path inside it)")
        with os.scandir(path) as entries:
            empty = next(entries, None) is None
        if empty:
            return  # an empty directory holds nothing to lose
        kinds = (kind,) if kind is not None else known_directory_kinds()
        if any(k.recognises(path) for k in kinds):
            return
        if kind is None:  # name the closest kind's first foreign file: the one the user should look at
            kind = max(kinds, key=lambda k: _matching_entries(k, path))
        what, foreign = kind.name, kind.foreign_entry(path)
        raise OutputError(
            f"{path} holds files that are not a previous {what} ({foreign}); refusing to replace it with --force: "
            "choose a new output path or remove it yourself"
        )
    if directory is True and not path.is_symlink():
        raise OutputError(f"{path} is a file; the output is a directory (choose another path)")
    if kind is not None and not kind.is_directory and not kind.recognises(path) and not path.is_symlink():
        raise OutputError(f"{path} is not a previous {kind.name}; refusing to replace it with --force (choose a new output path)")


def _matching_entries(kind: ArtifactKind, path: Path) -> int:
    with os.scandir(path) as it:
        names = [e.name + ("/" if e.is_dir(follow_symlinks=False) else "") for e in it]
    return sum(any(fnmatch.fnmatchcase(n, pat) for pat in kind.files) for n in names)


def check_output(path: Path, force: bool, *, directory: bool | None = None, kind: ArtifactKind | None = None,
                 recognizes: Callable[[Path], bool] | None = None) -> None:
    """Everything about one output that can be known before the work starts: its directory
    exists and is writable, an existing output needs --force, and --force only replaces what is
    ours (``kind``, or a backend's ``recognizes(path)`` for a file artifact)."""
    path = Path(path).expanduser().absolute()
    parent = path.parent
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise OutputError(f"{parent}: output directory {what}")
    if not os.access(parent, os.W_OK | os.X_OK):
        # access(2) answers for this user, and reports a read-only mount even to root
        why = "read-only file system" if _read_only_mount(parent) else "permission denied"
        raise OutputError(f"{parent}: cannot write the output here ({why})")
    if os.path.lexists(path):
        if not force:
            raise OutputExistsError(f"{path} exists; pass --force to overwrite it")
        check_replaceable(path, directory=directory, kind=kind)
        if recognizes is not None and not path.is_dir() and not path.is_symlink() and not recognizes(path):
            raise OutputError(f"{path} is not a previous output of this kind; refusing to replace it with --force")


def _read_only_mount(p: Path) -> bool:
    try:
        return bool(os.statvfs(p).f_flag & os.ST_RDONLY)
    except OSError:
        return False


@dataclass(frozen=True)
class Output:
    """One output of a command: its path, whether it is a directory, how a previous one is
    recognised, and how many bytes it will take (when known)."""

    path: Path
    directory: bool = False
    kind: ArtifactKind | None = None
    size_bytes: int | None = None


def check_outputs(outputs: Iterable[Output | Path], force: bool) -> None:
    """Everything about the outputs that can be known before the work: each parent exists and
    is writable, existing outputs are --force-able, and the free space suffices (outputs on
    one file system add up)."""
    needed: dict[int, tuple[Path, int]] = {}
    for o in outputs:
        o = o if isinstance(o, Output) else Output(Path(o))
        path = Path(o.path).expanduser().absolute()
        parent = path.parent
        check_output(path, force, directory=o.directory, kind=o.kind)
        if o.size_bytes:
            dev = parent.stat().st_dev
            prev = needed.get(dev, (parent, 0))
            needed[dev] = (prev[0], prev[1] + o.size_bytes)
    for parent, size in needed.values():
        free = shutil.disk_usage(parent).free
        if free < size:
            raise OutputError(
                f"{parent}: not enough free space for the output (needs {_mb(size)}, {_mb(free)} free)"
            )


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


# -- writing ------------------------------------------------------------------------------

_LIVE_TEMPS: set[Path] = set()


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
            p.unlink()


@atexit.register
def _remove_live_temps() -> None:
    for p in list(_LIVE_TEMPS):
        _remove(p)
        _LIVE_TEMPS.discard(p)


def remove_live_temps() -> None:
    """Remove every temporary output still in progress (a signal handler's last word)."""
    _remove_live_temps()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _remove_stale_temps(path: Path) -> None:
    """Temporaries of ``path`` left by a process that no longer exists (killed with SIGKILL, or
    the machine went down): their names carry the writer's pid."""
    stale = re.compile(rf"\.{re.escape(path.name)}\.(?:tmp|old)-(\d+)(?:-.*)?")
    try:
        with os.scandir(path.parent) as it:
            entries = list(it)
    except OSError:
        return
    for e in entries:
        m = stale.fullmatch(e.name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            _remove(Path(e.path))


_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _is_disk_full(e: OSError) -> bool:
    if e.errno in _FULL:
        return True
    text = str(e)
    return e.errno is None and "requested" in text and "written" in text  # numpy/safetensors short write


@contextlib.contextmanager
def atomic_output(path: str | Path, *, force: bool = False, directory: bool = False,
                  kind: ArtifactKind | None = None) -> Iterator[Path]:
    """Yield a temporary path (a file or an empty directory) that becomes ``path`` on success."""
    path = Path(path).expanduser().absolute()
    check_output(path, force, directory=directory, kind=kind)
    _remove_stale_temps(path)
    prefix = f".{path.name}.tmp-{os.getpid()}-"
    # mkdtemp/mkstemp create private (0700/0600) paths; an export should get the permissions
    # any file the user creates gets
    umask = current_umask()
    try:
        if directory:
            tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=path.parent))
            _LIVE_TEMPS.add(tmp)
            os.chmod(tmp, 0o777 & ~umask)
        else:
            fd, name = tempfile.mkstemp(prefix=prefix, dir=path.parent)
            tmp = Path(name)
            _LIVE_TEMPS.add(tmp)
            os.close(fd)
            os.chmod(tmp, 0o666 & ~umask)
    except OSError as e:
        raise OutputError(f"{path}: cannot create the output ({describe_os_error(e).split(': ', 1)[-1]})") from None
    try:
        yield tmp
        if os.path.lexists(path):  # force was given and the target is ours (checked above); replace
            if directory or (path.is_dir() and not path.is_symlink()):
                old = path.with_name(f".{path.name}.old-{os.getpid()}")
                _LIVE_TEMPS.add(old)
                os.replace(path, old)
                os.replace(tmp, path)
                _remove(old)
                _LIVE_TEMPS.discard(old)
                return
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        if _is_disk_full(e):
            raise OutputError(f"{path}: no space left on the device holding {path.parent}; nothing was written") from None
        raise
    except BaseException:
        _remove(tmp)
        raise
    finally:
        _LIVE_TEMPS.discard(tmp)


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def make_shareable(path: Path) -> None:
    """Give a file written by a library that creates private (0600) files the permissions any
    file the user creates gets (safetensors' save_file does this)."""
    os.chmod(path, 0o666 & ~current_umask())
