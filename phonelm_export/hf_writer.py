"""Write PhoneLM-format Hugging Face checkpoints (what the trainer and test fixtures produce).

The layout is the one real PhoneLM checkpoints have (phonelm-facts §1): ``config.json`` in
the transformers 4.x dialect with every PhoneLM key (``rope_theta``, ``torch_dtype``,
``auto_map``), ``model.safetensors`` without ``lm_head.weight`` (tied), tokenizer files and
``generation_config.json``. transformers 5 would write ``rope_parameters``/``dtype`` instead,
so the config is written by hand.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from .checkpoint import EMBED, TIED_HEAD, Dims, expected_shapes
from .tokenizer import chatml_template

AUTO_MAP = {
    "AutoConfig": "configuration_phonelm.PhoneLMConfig",
    "AutoModelForCausalLM": "modeling_phonelm.PhoneLMForCausalLM",
}
TORCH_DTYPE_NAMES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}


def phonelm_config(d: Dims, dtype: torch.dtype = torch.float32) -> dict:
    return {
        "architectures": ["PhoneLMForCausalLM"],
        "auto_map": AUTO_MAP,
        "model_type": "phonelm",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": d.bos_token_id,
        "eos_token_id": d.eos_token_id,
        "hidden_act": "relu",
        "hidden_size": d.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": d.intermediate_size,
        "max_position_embeddings": d.max_position_embeddings,
        "num_attention_heads": d.num_attention_heads,
        "num_hidden_layers": d.num_hidden_layers,
        "num_key_value_heads": d.num_key_value_heads,
        "pretraining_tp": 1,
        "rms_norm_eps": d.rms_norm_eps,
        "rope_scaling": None,
        "rope_theta": d.rope_theta,
        "tie_word_embeddings": True,
        "torch_dtype": TORCH_DTYPE_NAMES[dtype],
        "use_cache": True,
        "vocab_size": d.vocab_size,
    }


def generation_config(d: Dims) -> dict:
    return {
        "bos_token_id": d.bos_token_id,
        "eos_token_id": [d.eos_token_id, 0],
        "do_sample": True,
        "temperature": 0.7,
        "top_p": 0.7,
    }


def write_tokenizer_files(tokenizer_json: Path, out: Path, chat_template: str | None = None) -> None:
    """tokenizer.json plus the tokenizer_config.json / special_tokens_map.json transformers reads."""
    shutil.copyfile(tokenizer_json, out / "tokenizer.json")
    tcfg = {
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "bos_token": "<|im_start|>",
        "eos_token": "<|im_end|>",
        "pad_token": "<|im_end|>",
        "unk_token": "<|endoftext|>",
        "clean_up_tokenization_spaces": False,
        "model_max_length": 2048,
        "tokenizer_class": "GPT2Tokenizer",
        "chat_template": chat_template or chatml_template(),
    }
    (out / "tokenizer_config.json").write_text(json.dumps(tcfg, indent=2, ensure_ascii=False) + "\n")
    smap = {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>", "unk_token": "<|endoftext|>"}
    (out / "special_tokens_map.json").write_text(json.dumps(smap, indent=2) + "\n")


def save_phonelm(
    out: Path,
    state_dict: dict[str, torch.Tensor],
    dims: Dims,
    tokenizer_json: Path | None = None,
    dtype: torch.dtype = torch.float32,
    chat_template: str | None = None,
) -> None:
    """Write a PhoneLM checkpoint directory from a (Llama-keyed) state dict."""
    from safetensors.torch import save_file

    from .atomic import make_shareable

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for name in expected_shapes(dims):
        t = state_dict[name]
        tensors[name] = t.detach().to(dtype).contiguous()
    if TIED_HEAD in state_dict and state_dict[TIED_HEAD].data_ptr() != state_dict[EMBED].data_ptr():
        if not torch.equal(state_dict[TIED_HEAD], state_dict[EMBED]):
            raise ValueError("lm_head differs from the embedding; PhoneLM ties them")
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    make_shareable(out / "model.safetensors")
    (out / "config.json").write_text(json.dumps(phonelm_config(dims, dtype), indent=2) + "\n")
    (out / "generation_config.json").write_text(json.dumps(generation_config(dims), indent=2) + "\n")
    if tokenizer_json is not None:
        write_tokenizer_files(Path(tokenizer_json), out, chat_template)
