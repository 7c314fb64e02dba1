"""The client side of the llama.cpp worker process (``worker.py``).

llama.cpp runs in a child process: a native (patched) build and the stock build cannot share
one Python process, and a llama.cpp abort must not take the CLI down with it. Both the runner
and the quantizer in :mod:`.export` talk to llama.cpp only through :class:`LlamaWorker`.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from phonelm_export.errors import PhoneLMError

from .native import require_native_site


class GGUFRuntimeError(PhoneLMError):
    """llama.cpp refused or crashed on a file."""


class LlamaWorker:
    """A llama-cpp-python process: stock, or the patched build for native files."""

    def __init__(self, native: bool = False, threads: int | None = None):
        env = dict(os.environ)
        self.native = native
        if native:
            site = require_native_site()
            env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
        # keep llama.cpp's own thread pools from oversubscribing a shared machine
        env.setdefault("OMP_NUM_THREADS", str(threads or 2))
        # a GGML_ABORT must kill the worker at once, not try to attach gdb for a backtrace
        env.setdefault("GGML_NO_BACKTRACE", "1")
        self._log = tempfile.TemporaryFile(mode="w+b")
        # Requests and results travel on pipes of their own: llama.cpp writes to stdout and
        # stderr (both go to the log), so nothing it prints can corrupt a result. The worker runs
        # in its own session: Ctrl-C reaches only this process, which stops the worker itself
        # (kill(), at once) instead of waiting for llama.cpp to notice a signal it ignores.
        req_r, req_w = os.pipe()
        res_r, res_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "phonelm_export.backends.gguf.worker", str(req_r), str(res_w), str(os.getpid())],
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=self._log,
                env=env,
                pass_fds=(req_r, res_w),
                start_new_session=True,
            )
        finally:
            os.close(req_r)
            os.close(res_w)
        self._requests = os.fdopen(req_w, "wb")
        self._results = os.fdopen(res_r, "rb")
        self.what = "starting"
        try:
            info, _ = self.call({"op": "ping"}, "starting llama.cpp")
        except BaseException:
            self.kill()
            raise
        self.llama_cpp_dir = info["llama_cpp"]
        if native and not Path(self.llama_cpp_dir).resolve().is_relative_to(Path(site).resolve()):
            self.close()
            raise GGUFRuntimeError(f"the native worker imported llama_cpp from {self.llama_cpp_dir}, not the patched build in {site}")

    def _stderr_tail(self) -> str:
        self._log.seek(0)
        lines = [ln.strip() for ln in self._log.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        useful = [ln for ln in lines if not ln.startswith(("llama_model_loader:", "print_info:", "load_tensors:"))]
        return (useful or lines or [""])[-1][:300]

    def call(self, req: dict, what: str) -> tuple[dict, np.ndarray | None]:
        if self.proc.poll() is not None:
            raise GGUFRuntimeError(f"llama.cpp worker is not running ({what})")
        try:
            head, payload = self._exchange(req)
        except BaseException:
            # interrupted (Ctrl-C, SIGTERM) or failed mid-request: the worker's state is
            # unknown and it may be deep in llama.cpp; stop it now rather than wait for it
            self.kill()
            raise
        if head is None:
            rc = self.proc.wait(timeout=30)
            sig = f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit {rc}"
            raise GGUFRuntimeError(f"llama.cpp died ({sig}) while {what}: {self._stderr_tail()}")
        if not head.get("ok"):
            detail = head.get("error", "")
            tail = self._stderr_tail()
            raise GGUFRuntimeError(f"llama.cpp failed while {what}: {detail}" + (f" ({tail})" if tail and tail not in detail else ""))
        arr = None
        if payload:
            arr = np.frombuffer(payload, dtype="<f4").reshape(head["shape"])
        return head, arr

    def _exchange(self, req: dict) -> tuple[dict | None, bytes]:
        """One request, one answer; (None, b"") when the worker died before answering."""
        try:
            self._requests.write((json.dumps(req) + "\n").encode())
            self._requests.flush()
        except BrokenPipeError:
            return None, b""
        line = self._results.readline()
        if not line:
            return None, b""
        try:
            head = json.loads(line)
        except ValueError:
            raise GGUFRuntimeError(f"llama.cpp worker sent an unreadable answer: {line[:80]!r}") from None
        payload = self._results.read(head["nbytes"]) if head.get("nbytes") else b""
        if head.get("nbytes") and len(payload) != head["nbytes"]:
            return None, b""
        return head, payload

    def kill(self) -> None:
        """Stop the worker at once (SIGKILL: it holds nothing that needs an orderly exit)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self, *, graceful: bool = True) -> None:
        if graceful and self.proc.poll() is None:
            try:
                self._requests.write(b'{"op": "quit"}\n')
                self._requests.flush()
                self.proc.wait(timeout=10)
            except Exception:
                pass  # killed below
            except BaseException:  # interrupted while waiting: stop it now
                self.kill()
                raise
        self.kill()
        for f in (self._requests, self._results, self._log):
            try:
                f.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        # on an error or an interrupt, do not wait for an orderly quit
        self.close(graceful=exc_type is None)
