"""Run a GGUF file in llama.cpp (llama-cpp-python) through the worker subprocess.

:class:`GGUFRunner` is the backend's
:class:`~phonelm_export.backend.Runner` on top of one :class:`~.llama_worker.LlamaWorker` process, and :class:`GGUFTokenizer` gives
llama.cpp's own tokenizer and the chat template stored in the file, so ``chat`` and ``verify``
see exactly what an app embedding llama.cpp would.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from phonelm_export.backend import Runner

from .inspect import read_header
from .llama_worker import LlamaWorker


def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet reversed: the character a GGUF token string uses for each byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


class GGUFTokenizer:
    """llama.cpp's tokenizer for the loaded file, and the file's chat template."""

    def __init__(self, worker: LlamaWorker, chat_template: str | None, path: Path | None = None):
        self._w = worker
        self.chat_template = chat_template
        self._path = path

    def encode(self, text: str) -> list[int]:
        head, _ = self._w.call({"op": "tokenize", "text": text, "special": True}, "tokenizing")
        return head["ids"]

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        head, _ = self._w.call({"op": "detokenize", "ids": [int(i) for i in ids], "special": not skip_special_tokens}, "detokenizing")
        return bytes.fromhex(head["hex"]).decode("utf-8", errors="replace")

    def token_bytes(self) -> tuple[list[bytes], list[int]]:
        """Every token's bytes and the ids of the control tokens, from the file's vocabulary
        (what a token-level grammar engine such as llguidance needs; phonelm_export.constrain)."""
        meta = read_header(self._path, with_tokens=True).metadata
        decode = _byte_decoder()
        out, special = [], []
        for i, (text, kind) in enumerate(zip(meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.token_type"])):
            if kind in (3, 4):  # control / user-defined: stored as their text
                out.append(text.encode("utf-8"))
                if kind == 3:
                    special.append(i)
            else:  # byte-level BPE: each character stands for one byte (GPT-2's table)
                out.append(bytes(decode[c] for c in text))
        return out, special

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
        self.tokenizer = GGUFTokenizer(self._worker, header.chat_template, path)

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
