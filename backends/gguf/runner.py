"""Run a GGUF file in llama.cpp (llama-cpp-python) through the worker subprocess.

:class:`LlamaWorker` owns one ``worker.py`` process; :class:`GGUFRunner` is the backend's
:class:`~phonelm_export.backends.base.Runner` on top of it, and :class:`GGUFTokenizer` gives
llama.cpp's own tokenizer and the chat template stored in the file, so ``chat`` and ``verify``
see exactly what an app embedding llama.cpp would.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from phonelm_export.backends.base import Runner
from phonelm_export.errors import PhoneLMError

from .inspect import read_header
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


class GGUFTokenizer:
    """llama.cpp's tokenizer for the loaded file, and the file's chat template."""

    def __init__(self, worker: LlamaWorker, chat_template: str | None):
        self._w = worker
        self.chat_template = chat_template

    def encode(self, text: str) -> list[int]:
        head, _ = self._w.call({"op": "tokenize", "text": text, "special": True}, "tokenizing")
        return head["ids"]

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        head, _ = self._w.call({"op": "detokenize", "ids": [int(i) for i in ids], "special": not skip_special_tokens}, "detokenizing")
        return bytes.fromhex(head["hex"]).decode("utf-8", errors="replace")

    def render_chat(self, messages, add_generation_prompt: bool = True) -> str:
        from phonelm_export.tokenizer import render_chat

        return render_chat(messages, add_generation_prompt, self.chat_template)

    def encode_chat(self, messages, add_generation_prompt: bool = True) -> list[int]:
        return self.encode(self.render_chat(messages, add_generation_prompt))


class GGUFRunner(Runner):
    """A GGUF file in llama.cpp: all-position logits for parity, streamed generation for chat."""

    def __init__(self, path: Path, *, n_ctx: int | None = None, kv: str = "f32", threads: int | None = None):
        path = Path(path)
        header = read_header(path)
        self.path = path
        self.encoding = header.encoding
        self.header = header
        self._worker = LlamaWorker(native=header.encoding == "native", threads=threads)
        try:
            info, _ = self._worker.call(
                {"op": "load", "path": str(path), "n_ctx": n_ctx or min(header.context_length, 2048),
                 "kv": kv, "n_threads": threads or 2, "logits_all": True},
                f"loading {path.name}",
            )
        except BaseException:
            self._worker.close()
            raise
        self.n_vocab = info["n_vocab"]
        self.n_ctx = info["n_ctx"]
        self.eog_ids = tuple(info["eog_ids"])
        self.llama_cpp_dir = info["llama_cpp"]
        # llama.cpp's own end-of-generation set also holds <reponame> (4), which it takes for a
        # FIM token; generation stops on PhoneLM's two, as every other backend's does
        self.stop_ids = (2, 0)
        self.tokenizer = GGUFTokenizer(self._worker, header.chat_template)

    def logits(self, ids: Sequence[int]) -> np.ndarray:
        _, a = self._worker.call({"op": "logits", "ids": [int(i) for i in ids]}, "computing logits")
        return a

    def reset(self) -> None:
        self._worker.call({"op": "reset"}, "resetting the cache")

    def prefill(self, ids: Sequence[int]) -> np.ndarray:
        _, a = self._worker.call({"op": "prefill", "ids": [int(i) for i in ids]}, "decoding")
        return a[-1]

    def close(self) -> None:
        self._worker.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
