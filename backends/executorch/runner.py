"""Running a PhoneLM ``.pte`` in ExecuTorch's runtime: our Runner and ExecuTorch's LLM runner.

:class:`ExecuTorchRunner` drives the program's ``forward`` through ExecuTorch's Python
bindings (the same C++ runtime and XNNPACK delegate an app links), keeping the position in
the static KV cache itself. :func:`llm_runner_generate` instead hands the file and its
tokenizer to ExecuTorch's own ``TextLLMRunner`` — the runner behind Android's ``LlmModule`` —
which reads the metadata methods, tokenizes with its C++ HF-tokenizer and samples itself.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from phonelm_export.backend import Runner
from phonelm_export.errors import PhoneLMError

TOKENIZER_FILE = "tokenizer.json"
STOP_TEXTS = ("<|im_end|>", "<|endoftext|>")  # ids 2 and 0, the program's get_eos_ids


def load_kernels() -> None:
    """Register the out-of-tree kernels a PhoneLM program uses with the runtime.

    ``llama::custom_sdpa`` / ``llama::update_cache`` (KV cache) and
    ``quantized_decomposed::embedding_byte`` (8-bit embedding) live in shared libraries that
    ExecuTorch's Python package loads on import; without them loading a method fails with
    "Missing operator".
    """
    import executorch.extension.llm.custom_ops.custom_ops  # noqa: F401
    import executorch.kernels.quantized  # noqa: F401


def tokenizer_path_for(pte: Path) -> Path:
    return pte.parent / TOKENIZER_FILE


def _constant(module, name: str, default=None):
    try:
        out = module.run_method(name, ())
    except Exception:
        return default
    if not out:
        return default
    return out if name == "get_eos_ids" else out[0]


class ExecuTorchRunner(Runner):
    """A ``.pte`` loaded in ExecuTorch's runtime; logits for every position when the program has them."""

    def __init__(self, path: str | Path, tokenizer: str | Path | None = None, threads: int | None = None):
        path = Path(path)
        if not path.is_file():
            raise PhoneLMError(f"{path}: no such .pte file")
        load_kernels()
        from executorch.extension.pybindings import portable_lib

        if threads:
            portable_lib._unsafe_reset_threadpool(int(threads))
        try:
            self.module = portable_lib._load_for_executorch(str(path))
            methods = set(self.module.method_names())  # loading is lazy: this parses the program
        except Exception as e:
            why = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise PhoneLMError(f"{path}: ExecuTorch cannot load it ({why}; not a valid .pte?)") from None
        if "forward" not in methods or "get_max_seq_len" not in methods:
            raise PhoneLMError(f"{path}: not an LLM program (needs forward and get_max_seq_len)")
        self.path = path
        self.max_seq_len = int(_constant(self.module, "get_max_seq_len"))
        self.max_context = int(_constant(self.module, "get_max_context_len", self.max_seq_len))
        self.vocab_size = int(_constant(self.module, "get_vocab_size", 0))
        self.full_logits = bool(_constant(self.module, "phonelm_full_logits", False))
        self.stop_ids = tuple(int(i) for i in (_constant(self.module, "get_eos_ids", None) or (2, 0)))
        template = _constant(self.module, "phonelm_chat_template", None)
        tok_path = Path(tokenizer) if tokenizer else tokenizer_path_for(path)
        if not tok_path.is_file():
            raise PhoneLMError(f"{path}: no {tok_path.name} beside it (the export writes one; keep the two together)")
        from phonelm_export.tokenizer import PhoneLMTokenizer

        self.tokenizer = PhoneLMTokenizer.from_file(tok_path, chat_template=template or None)
        self.tokenizer_path = tok_path
        self.pos = 0

    def metadata(self) -> dict:
        names = sorted(n for n in self.module.method_names() if n != "forward")
        return {n: _constant(self.module, n) for n in names}

    def _forward(self, ids: Sequence[int]) -> np.ndarray:
        import torch

        n = len(ids)
        if n == 0:
            raise PhoneLMError("no tokens to process")
        if self.pos + n > self.max_context:
            raise PhoneLMError(
                f"{self.pos + n} tokens exceed the program's context of {self.max_context} (export with a larger --max-seq-len)"
            )
        tokens = torch.tensor([list(ids)], dtype=torch.long)
        out = self.module.forward((tokens, torch.tensor([self.pos], dtype=torch.long)))[0]
        self.pos += n
        return out[0].float().numpy()  # [n or 1, vocab]

    def _chunks(self, ids: Sequence[int]):
        ids = list(ids)
        for i in range(0, len(ids), self.max_seq_len):
            yield ids[i : i + self.max_seq_len]

    def logits(self, ids: Sequence[int]) -> np.ndarray:
        """Logits of every position from an empty cache, through the prefill graph.

        A program exported with last-position logits only (``--logits last``) cannot give
        them in one call; then each position goes through the cache one token at a time,
        which is the same graph with T=1.
        """
        if not self.full_logits:
            return self.decode_logits(ids)
        self.reset()
        return np.concatenate([self._forward(c) for c in self._chunks(ids)], axis=0)

    def reset(self) -> None:
        # the cache needs no clearing: attention reads only positions < pos, which are rewritten
        self.pos = 0

    def prefill(self, ids: Sequence[int]) -> np.ndarray:
        row = None
        for c in self._chunks(ids):
            row = self._forward(c)[-1]
        if row is None:
            raise PhoneLMError("no tokens to process")
        return row


def llm_runner_generate(pte: str | Path, prompt: str, max_new_tokens: int, tokenizer: str | Path | None = None,
                        temperature: float = 0.0) -> tuple[str, dict]:
    """Generate with ExecuTorch's ``TextLLMRunner``: (text after the prompt, its stats).

    The runner prints its output to stdout as well (it is a demo binary's core); callers that
    need a clean stdout should run this in a subprocess.
    """
    load_kernels()
    from executorch.extension.llm.runner import GenerationConfig, TextLLMRunner

    pte = Path(pte)
    tok = Path(tokenizer) if tokenizer else tokenizer_path_for(pte)
    try:
        runner = TextLLMRunner(str(pte), str(tok))
    except Exception as e:
        raise PhoneLMError(f"{pte}: ExecuTorch's LLM runner cannot load it with {tok} ({e})") from None
    pieces: list[str] = []
    stats: dict = {}

    def on_stats(s) -> None:
        stats.update(json.loads(s.to_json_string()))

    config = GenerationConfig(echo=False, max_new_tokens=max_new_tokens, temperature=temperature, num_bos=0, num_eos=0)
    try:
        runner.generate(prompt, config, token_callback=pieces.append, stats_callback=on_stats)
    except RuntimeError as e:
        # the reason (e.g. prompt longer than the context) is in the runner's log on stderr
        raise PhoneLMError(f"{pte}: ExecuTorch's LLM runner failed ({e}; its log on stderr says why)") from None
    # the runner hands the stop token's own text to the callback before it stops; the reply ends before it
    stats["stopped_at_eos"] = bool(pieces) and pieces[-1] in STOP_TEXTS
    if stats["stopped_at_eos"]:
        pieces.pop()
    return "".join(pieces), stats
