"""Run an optimum-executorch program the way optimum's own runner does; runs INSIDE the optimum venv.

tests/test_optimum_route.py calls ``<venv>/bin/python tests/optimum_venv_runner.py PTE_DIR REQUEST OUT``.
The venv has transformers 5.0.0rc1 and none of this project's code, so the requests (token ids)
and results (logits, tokens) cross between the environments as files: REQUEST is JSON
``{"prompts": [[ids], ...], "max_new_tokens": n, "windows": [[ids], ...]}``, OUT an ``.npz``
(``*_i`` arrays per prompt and window).

The program's calling convention is optimum's: ``forward(input_ids[1, T], cache_position[T])``
into a static KV cache, every position's logits out. It is loaded and called with
``optimum.executorch.ExecuTorchModelForCausalLM`` (ExecuTorch's pybindings underneath):

* ``prefill_i``: the whole prompt in one call at positions 0..T-1, as its ``generate`` does for a
  dynamic-shape program;
* ``steps_i``/``tokens_i``: greedy decode, one token per call at the next cache position, stopping after an eos
  id the program declares (``get_eos_ids``), exactly its ``generate`` loop, with every row kept;
* ``generate_i``: optimum's own ``generate`` on the same prompt, to show the loop above is its loop;
* ``window_i``: each window alone from position 0 (quantization agreement over longer text).
"""
from __future__ import annotations

import json
import sys

import numpy as np
import torch


def main() -> None:
    pte_dir, request, out = sys.argv[1:4]
    req = json.load(open(request))
    from optimum.executorch import ExecuTorchModelForCausalLM

    model = ExecuTorchModelForCausalLM.from_pretrained(pte_dir)  # a .pte is there: no export, no hub
    names = set(model.model.method_names())
    meta = {}
    for key in ("get_max_seq_len", "get_bos_id", "get_vocab_size", "use_kv_cache", "enable_dynamic_shape",
                "use_sdpa_with_kv_cache", "get_eos_ids", "get_eos_id"):
        if key in names:
            vals = model.model.run_method(key)
            meta[key] = [v.item() if hasattr(v, "item") else v for v in vals]

    def forward(ids, start):
        logits = model.forward(
            input_ids=torch.tensor([ids], dtype=torch.long),
            cache_position=torch.arange(start, start + len(ids), dtype=torch.long),
        )
        return logits[0].float().numpy()  # [T, vocab]

    eos = set(model.eos_token_ids)
    result = {"meta": np.array(json.dumps(meta))}
    for i, prompt in enumerate(req["prompts"]):
        prefill = forward(prompt, 0)
        tokens, steps = [int(prefill[-1].argmax())], []
        while len(tokens) < req["max_new_tokens"] and tokens[-1] not in eos:
            row = forward([tokens[-1]], len(prompt) + len(tokens) - 1)[-1]
            steps.append(row)
            tokens.append(int(row.argmax()))
        generated = model.generate(prompt, max_seq_len=len(prompt) + req["max_new_tokens"])
        result[f"prefill_{i}"] = prefill
        result[f"steps_{i}"] = np.array(steps, dtype=np.float32).reshape(len(steps), prefill.shape[-1])
        result[f"tokens_{i}"] = np.array(tokens, dtype=np.int64)
        result[f"generate_{i}"] = np.array(generated, dtype=np.int64)
    for i, w in enumerate(req.get("windows", [])):
        result[f"window_{i}"] = forward(w, 0)
    np.savez(out, **result)


if __name__ == "__main__":
    main()
