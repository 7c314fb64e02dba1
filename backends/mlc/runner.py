"""Run an exported MLC model directory with TVM's runtime, the way MLC's engine drives it.

The runner loads the compiled library into a Relax VM, the weights with TVM's C++ tensor-cache
loader (``vm.builtin.tensor_cache.load`` + ``param_array_from_cache_by_name``, what MLC's
``FunctionTable::LoadParams`` calls, in the order the library's ``_metadata`` lists), creates the
paged KV cache with the library's ``create_tir_paged_kv_cache`` and brackets every forward with
``kv_state_begin_forward`` / ``kv_state_end_forward`` for sequence 0.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from phonelm_export.backend import Runner
from phonelm_export.errors import PhoneLMError

PAGE_SIZE = 16


class MLCRunner(Runner):
    def __init__(self, model_dir: Path, lib_path: Path, tokenizer=None):
        import tvm
        from tvm import relax

        self.model_dir = Path(model_dir)
        self.lib_path = Path(lib_path)
        self.tokenizer = tokenizer
        self.device = tvm.cpu()
        self._g = tvm.get_global_func
        self.vm = relax.VirtualMachine(tvm.runtime.load_module(str(self.lib_path)), self.device)
        self.meta = json.loads(str(self.vm["_metadata"]()))
        self.context_window = int(self.meta["context_window_size"])
        self.chunk = int(self.meta["prefill_chunk_size"])
        names = [p["name"] for p in self.meta["params"]]
        self._g("vm.builtin.tensor_cache.load")(str(self.model_dir), int(self.device.dlpack_device_type()), int(self.device.index))
        try:
            self.params = self._g("vm.builtin.param_array_from_cache_by_name")(names)
        finally:
            self._g("vm.builtin.tensor_cache.clear")()
        self._shape = tvm.runtime.ShapeTuple
        self.kv = self.vm["create_tir_paged_kv_cache"](
            self._shape([1]), self._shape([self.context_window]), self._shape([self.chunk]),
            self._shape([PAGE_SIZE]), self._shape([0]),
        )
        self._begin = self._g("vm.builtin.kv_state_begin_forward")
        self._end = self._g("vm.builtin.kv_state_end_forward")
        self._length = 0
        self.reset()

    # -- the cache ------------------------------------------------------------------------
    def reset(self) -> None:
        self._g("vm.builtin.kv_state_clear")(self.kv)
        self._g("vm.builtin.kv_state_add_sequence")(self.kv, 0)
        self._length = 0

    def _embed(self, ids: Sequence[int]):
        import tvm

        arr = tvm.runtime.tensor(np.asarray(ids, dtype=np.int32), self.device)
        emb = self.vm["embed"](arr, self.params)
        return self._g("vm.builtin.reshape")(emb, self._shape([1, len(ids), int(emb.shape[-1])]))

    def _check_room(self, n: int) -> None:
        if self._length + n > self.context_window:
            raise PhoneLMError(
                f"{self._length + n} tokens exceed the compiled context window of {self.context_window}"
            )

    def _forward(self, fn: str, ids: Sequence[int], *extra) -> np.ndarray:
        self._check_room(len(ids))
        emb = self._embed(ids)
        self._begin(self.kv, self._shape([0]), self._shape([len(ids)]))
        logits, _ = self.vm[fn](emb, *extra, self.kv, self.params)
        self._end(self.kv)
        self._length += len(ids)
        return logits.numpy()[0]

    # -- the Runner contract --------------------------------------------------------------
    def logits(self, ids: Sequence[int]) -> np.ndarray:
        """All-position logits through ``batch_prefill`` (logit positions 0..n-1), chunk by chunk."""
        import tvm

        ids = list(ids)
        if not ids:
            raise PhoneLMError("no tokens to compute logits for")
        self.reset()
        rows = []
        for i in range(0, len(ids), self.chunk):
            part = ids[i : i + self.chunk]
            pos = tvm.runtime.tensor(np.arange(len(part), dtype=np.int32), self.device)
            rows.append(self._forward("batch_prefill", part, pos))
        return np.concatenate(rows).astype(np.float32)

    def prefill(self, ids: Sequence[int]) -> np.ndarray:
        """Append ``ids`` to the cache (``prefill`` in chunks, ``decode`` for one token)."""
        ids = list(ids)
        if not ids:
            raise PhoneLMError("no tokens to prefill")
        if len(ids) == 1:
            return self._forward("decode", ids)[-1].astype(np.float32)
        row = None
        for i in range(0, len(ids), self.chunk):
            row = self._forward("prefill", ids[i : i + self.chunk])[-1]
        return row.astype(np.float32)

    def close(self) -> None:
        self.kv = None
        self.params = None
        self.vm = None
