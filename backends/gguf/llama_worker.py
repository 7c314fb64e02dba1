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
        self._log = tempfile.TemporaryFile(mode="w+b")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "phonelm_export.backends.gguf.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
        )
        self.what = "starting"
        info, _ = self.call({"op": "ping"}, "starting llama.cpp")
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
            self.proc.stdin.write((json.dumps(req) + "\n").encode())
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = b""
        if not line:
            rc = self.proc.wait(timeout=30)
            sig = f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit {rc}"
            raise GGUFRuntimeError(f"llama.cpp died ({sig}) while {what}: {self._stderr_tail()}")
        head = json.loads(line)
        payload = self.proc.stdout.read(head["nbytes"]) if head.get("nbytes") else b""
        if not head.get("ok"):
            detail = head.get("error", "")
            tail = self._stderr_tail()
            raise GGUFRuntimeError(f"llama.cpp failed while {what}: {detail}" + (f" ({tail})" if tail and tail not in detail else ""))
        arr = None
        if payload:
            arr = np.frombuffer(payload, dtype="<f4").reshape(head["shape"])
        return head, arr

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'{"op": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
