"""PhoneLM registered with ExecuTorch: the metadata through which a program announces itself.

ExecuTorch has no architecture registry: our export module (:mod:`.model`) *is* the architecture,
and a program tells ExecuTorch's LLM runner what it is through the metadata below.

The metadata are *constant methods* in the ``.pte`` (``get_max_seq_len()`` and friends):
ExecuTorch's text LLM runner — the one behind Android's ``LlmModule`` — calls them at load.
Measured on executorch 1.5.1: ``get_max_seq_len`` is required (loading fails without it),
``get_eos_ids`` must be a list, and BOS id and vocabulary size are taken from the
**tokenizer**, so the ``tokenizer.json`` beside the ``.pte`` must have exactly ``vocab_size``
entries (checked by the exporter). ``enable_dynamic_shape`` true lets the runner prefill a
prompt in one call instead of token by token.
"""
from __future__ import annotations

from phonelm_export.tokenizer import STOP_IDS

#: prefix of our own constant methods (the runner ignores names it does not know)
OWN_PREFIX = "phonelm_"


def runner_metadata(dims, max_seq_len: int, full_logits: bool, rope: str, recipe_name: str) -> dict:
    """Constant methods stored in the program: the LLM runner's keys, then ours."""
    return {
        "get_max_seq_len": max_seq_len,
        "get_max_context_len": max_seq_len,
        "get_vocab_size": dims.vocab_size,
        "get_n_layers": dims.num_hidden_layers,
        "get_bos_id": dims.bos_token_id,
        "get_eos_ids": list(STOP_IDS),
        "use_kv_cache": True,
        "use_sdpa_with_kv_cache": True,
        "enable_dynamic_shape": True,
        # ours: what our runner needs to know about the graph; recipe name for humans
        OWN_PREFIX + "full_logits": full_logits,
        OWN_PREFIX + "rope_int8": rope == "int8",
        OWN_PREFIX + "recipe": recipe_name,
    }
