"""The ``native`` encoding's runtime: llama-cpp-python built with our ``phonelm`` architecture patch.

Why a separate prefix instead of replacing the installed llama-cpp-python: the ``compat``
encoding promises files that *stock* llama.cpp runs, and its tests are only evidence of that
while they run against a stock build. So the patched wheel is installed with
``pip install --target`` into its own cached directory, and native files are run by the GGUF
worker subprocess with that directory first on ``sys.path`` (the worker is a subprocess anyway:
a malformed GGUF can abort llama.cpp, which must not take the caller down).

The cache key is the hash of the patch, the llama-cpp-python version and the CPU's feature
flags, because llama.cpp's default build compiles with ``-march=native``: a wheel built on one
CPU may crash with SIGILL on another. pip does not cache wheels built from a local directory,
so the built ``.whl`` is kept beside the install and a rebuild of the prefix is instant.

Nothing here is vendored: the sdist is fetched from the package index by name, patched in a
temporary directory and discarded.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from phonelm_export.errors import PhoneLMError

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
PATCH_FILE = Path(__file__).parent / "patches" / "phonelm-arch.patch"
BUILD_COMMAND = "phonelm-export backends build-llama-cpp"


class NativeBuildMissing(PhoneLMError):
    """A native-encoded file was asked to run but the patched llama.cpp is not built."""


def cache_root() -> Path:
    """Where built runtimes and downloads live (``PHONELM_EXPORT_CACHE`` overrides)."""
    env = os.environ.get("PHONELM_EXPORT_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "phonelm-export"


def cpu_flags() -> str:
    """The CPU feature flags -march=native sees (Linux), else the machine name."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return " ".join(sorted(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return platform.machine()


def build_key() -> str:
    h = hashlib.sha256()
    h.update(PATCH_FILE.read_bytes())
    h.update(f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}\n".encode())
    h.update(f"{platform.machine()} {sys.version_info[:2]} {cpu_flags()}".encode())
    return h.hexdigest()[:16]


def native_dir() -> Path:
    return cache_root() / "llama-cpp-native" / build_key()


def native_site() -> Path | None:
    """The directory to put first on sys.path to import the patched llama_cpp, if built."""
    site = native_dir() / "site"
    if (site / "llama_cpp" / "__init__.py").is_file() and (native_dir() / "BUILD_INFO.json").is_file():
        return site
    return None


def require_native_site() -> Path:
    site = native_site()
    if site is None:
        raise NativeBuildMissing(
            f"this GGUF uses the native 'phonelm' architecture, which stock llama.cpp does not know; "
            f"build the patched runtime once with: {BUILD_COMMAND}"
        )
    return site


def _run(cmd: list[str], log, cwd: Path | None = None, env: dict | None = None) -> None:
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    r = subprocess.run(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise PhoneLMError(f"{cmd[0]} {cmd[1] if len(cmd) > 1 else ''} failed (exit {r.returncode}); see {log.name}")


def _apply_patch(src: Path, log) -> None:
    """Apply our patch to the vendored llama.cpp tree (paths in the patch are llama.cpp-relative)."""
    tree = src / "vendor" / "llama.cpp"
    if shutil.which("patch"):
        _run(["patch", "-p1", "--forward", "--batch", "-i", str(PATCH_FILE)], log, cwd=tree)
    elif shutil.which("git"):
        _run(["git", "apply", "-p1", str(PATCH_FILE)], log, cwd=tree)
    else:
        raise PhoneLMError("applying the phonelm patch needs 'patch' or 'git' (apt-get install patch)")


def _fetch_sdist(work: Path, log) -> Path:
    cached = cache_root() / "sdist" / f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}.tar.gz"
    if not cached.is_file():
        cached.parent.mkdir(parents=True, exist_ok=True)
        dl = work / "dl"
        _run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}", "-d", str(dl)],
            log,
        )
        found = sorted(dl.glob("llama_cpp_python-*.tar.gz"))
        if not found:
            raise PhoneLMError(f"pip download produced no llama-cpp-python sdist; see {log.name}")
        shutil.move(str(found[0]), cached)
    with tarfile.open(cached) as tf:
        tf.extractall(work / "src", filter="data")
    roots = [p for p in (work / "src").iterdir() if p.is_dir()]
    if len(roots) != 1:
        raise PhoneLMError(f"unexpected sdist layout in {cached}")
    return roots[0]


def _install_wheel(wheel: Path, dest: Path, log) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=".site-", dir=dest.parent))
    try:
        _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--target", str(tmp), str(wheel)], log)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def build(*, force: bool = False, jobs: int | None = None, progress=None) -> dict:
    """Build (or reuse) the patched llama-cpp-python; return a description of the install.

    A failure is recorded in ``BUILD_FAILED`` beside the cache entry (tests quote it)."""
    failed = native_dir() / "BUILD_FAILED"
    try:
        info = _build(force=force, jobs=jobs, progress=progress)
    except PhoneLMError as e:
        failed.parent.mkdir(parents=True, exist_ok=True)
        failed.write_text(f"{e}\n")
        raise
    if failed.exists():
        failed.unlink()
    return info


def _build(*, force: bool, jobs: int | None, progress) -> dict:
    step = progress.step if progress else (lambda m: None)
    d = native_dir()
    if native_site() and not force:
        info = json.loads((d / "BUILD_INFO.json").read_text())
        return {**info, "cached": True}
    d.mkdir(parents=True, exist_ok=True)
    log_path = d / "build.log"
    t0 = time.perf_counter()
    with open(log_path, "a") as log:
        wheels = sorted((d / "wheel").glob("llama_cpp_python-*.whl"))
        if force or not wheels:
            with tempfile.TemporaryDirectory(prefix="phonelm-llama-build-") as tmp:
                work = Path(tmp)
                step(f"fetching llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION} sdist")
                src = _fetch_sdist(work, log)
                step(f"applying {PATCH_FILE.name}")
                _apply_patch(src, log)
                env = dict(os.environ)
                env["CMAKE_BUILD_PARALLEL_LEVEL"] = str(jobs or os.cpu_count() or 2)
                step(f"compiling llama.cpp with the phonelm architecture (~10 min on 2 cores; log: {log_path})")
                out = work / "wheel"
                cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(src)]
                if shutil.which("nice"):
                    cmd = ["nice", "-n", "10", *cmd]
                _run(cmd, log, env=env)
                built = sorted(out.glob("llama_cpp_python-*.whl"))
                if not built:
                    raise PhoneLMError(f"pip wheel produced no wheel; see {log_path}")
                (d / "wheel").mkdir(exist_ok=True)
                for old in (d / "wheel").glob("*.whl"):
                    old.unlink()
                shutil.copy2(built[0], d / "wheel" / built[0].name)
                wheels = [d / "wheel" / built[0].name]
        step(f"installing {wheels[0].name} into {d / 'site'}")
        _install_wheel(wheels[0], d / "site", log)
    info = {
        "key": build_key(),
        "llama_cpp_python": LLAMA_CPP_PYTHON_VERSION,
        "patch_sha256": hashlib.sha256(PATCH_FILE.read_bytes()).hexdigest(),
        "wheel": str(wheels[0]),
        "site": str(d / "site"),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (d / "BUILD_INFO.json").write_text(json.dumps(info, indent=2))
    return {**info, "cached": False}
