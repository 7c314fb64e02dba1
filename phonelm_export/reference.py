"""The PyTorch reference as a Runner, so verify and chat treat it like any backend."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from phonelm_export.backend import Runner


class ReferenceRunner(Runner):
    def __init__(self, model, tokenizer=None):
        self.model = model
        self.tokenizer = tokenizer
        self._cache = None

    @classmethod
    def from_checkpoint(cls, ckpt, dtype=torch.float32, rope_mode: str = "float") -> "ReferenceRunner":
        tok = ckpt.tokenizer() if ckpt.tokenizer_file else None
        return cls(ckpt.reference_model(dtype=dtype, rope_mode=rope_mode), tok)

    @torch.no_grad()
    def logits(self, ids: Sequence[int]) -> np.ndarray:
        x = torch.tensor([list(ids)], dtype=torch.long)
        return self.model(x, use_cache=False).logits[0].float().numpy()

    def reset(self) -> None:
        self._cache = None

    @torch.no_grad()
    def prefill(self, ids: Sequence[int]) -> np.ndarray:
        x = torch.tensor([list(ids)], dtype=torch.long)
        out = self.model(x, past_key_values=self._cache, use_cache=True)
        self._cache = out.past_key_values
        return out.logits[0, -1].float().numpy()
