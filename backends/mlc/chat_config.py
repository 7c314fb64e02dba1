"""``mlc-chat-config.json``: what MLC's engine and apps read beside the weights.

The schema is MLC-LLM's (``MLCChatConfig`` + ``Conversation``, config version 0.1.0). PhoneLM's
conversation template is ChatML with a default system prompt, no BOS, and two stop tokens
(``<|im_end|>`` 2 ends a turn, ``<|endoftext|>`` 0 ends a document). :func:`render_conversation`
renders a template the way MLC's ``Conversation.as_prompt`` documents it, so tests can prove the
template produces exactly PhoneLM's ChatML prompt.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from phonelm_export.tokenizer import DEFAULT_SYSTEM, STOP_IDS

CHAT_CONFIG = "mlc-chat-config.json"
CONFIG_VERSION = "0.1.0"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                   "special_tokens_map.json", "generation_config.json")


def phonelm_conv_template(system_message: str = DEFAULT_SYSTEM) -> dict:
    return {
        "name": "phonelm_chatml",
        "system_template": "<|im_start|>system\n{system_message}<|im_end|>\n",
        "system_message": system_message,
        "system_prefix_token_ids": None,  # PhoneLM adds no BOS
        "add_role_after_system_message": True,
        "roles": {"user": "<|im_start|>user", "assistant": "<|im_start|>assistant"},
        "role_templates": {"user": "{user_message}", "assistant": "{assistant_message}", "tool": "{tool_message}"},
        "messages": [],
        "seps": ["<|im_end|>\n"],
        "role_content_sep": "\n",
        "role_empty_sep": "\n",
        "stop_str": ["<|im_end|>", "<|endoftext|>"],
        "stop_token_ids": list(STOP_IDS),
        "function_string": "",
        "use_function_calling": False,
    }


def render_conversation(conv: dict, messages: list[dict], add_generation_prompt: bool = True) -> str:
    """A prompt from an MLC conversation template, following ``Conversation.as_prompt``."""
    system_message = conv["system_message"]
    history = []
    for m in messages:
        if m["role"] == "system":
            system_message = m["content"]
        else:
            history.append((m["role"], m["content"]))
    if add_generation_prompt:
        history.append(("assistant", None))
    seps = list(conv["seps"]) * (2 if len(conv["seps"]) == 1 else 1)
    system = conv["system_template"].replace("{system_message}", system_message)
    out = [system]
    for i, (role, content) in enumerate(history):
        sep = seps[role == "assistant"]
        if content is None:
            out.append(conv["roles"][role] + conv["role_empty_sep"])
            continue
        skip_role = not conv["add_role_after_system_message"] and system and i == 0
        prefix = "" if skip_role else conv["roles"][role] + conv["role_content_sep"]
        out.append(prefix + conv["role_templates"][role].replace("{" + role + "_message}", content) + sep)
    return "".join(out)


def chat_config(ckpt, cfg, s, *, temperature: float = 0.7, top_p: float = 0.7) -> dict:
    """The full mlc-chat-config.json for a compiled PhoneLM (sampling defaults: PhoneLM's published 0.7/0.7)."""
    d = ckpt.dims
    model_config = {
        "model_type": "phonelm",
        "hidden_size": d.hidden_size,
        "intermediate_size": d.intermediate_size,
        "num_attention_heads": d.num_attention_heads,
        "num_key_value_heads": d.num_key_value_heads,
        "head_dim": d.head_dim,
        "num_hidden_layers": d.num_hidden_layers,
        "rms_norm_eps": d.rms_norm_eps,
        "vocab_size": d.vocab_size,
        "hidden_act": "relu",
        "tie_word_embeddings": True,
        "position_embedding_base": d.rope_theta,
        "rope_mode": cfg.rope_mode,
        "context_window_size": cfg.context_window_size,
        "prefill_chunk_size": cfg.prefill_chunk_size,
        "tensor_parallel_shards": 1,
        "pipeline_parallel_stages": 1,
        "max_batch_size": cfg.max_batch_size,
    }
    return {
        "version": CONFIG_VERSION,
        "model_type": "phonelm",
        "quantization": s.name,
        "model_config": model_config,
        "vocab_size": d.vocab_size,
        "context_window_size": cfg.context_window_size,
        "sliding_window_size": -1,
        "prefill_chunk_size": cfg.prefill_chunk_size,
        "attention_sink_size": -1,
        "tensor_parallel_shards": 1,
        "pipeline_parallel_stages": 1,
        "temperature": temperature,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "repetition_penalty": 1.0,
        "top_p": top_p,
        "tokenizer_files": [f for f in TOKENIZER_FILES if (ckpt.path / f).is_file()],
        # byte-level BPE without a normalizer or prefix space (phonelm-facts §4)
        "tokenizer_info": {"token_postproc_method": "byte_level", "prepend_space_in_encode": False,
                           "strip_space_in_decode": False},
        "conv_template": phonelm_conv_template(),
        "pad_token_id": 0,
        "bos_token_id": d.bos_token_id,
        "eos_token_id": list(STOP_IDS),
    }


def write_chat_config(ckpt, cfg, s, out_dir: Path, **sampling) -> dict:
    conf = chat_config(ckpt, cfg, s, **sampling)
    for name in conf["tokenizer_files"]:
        shutil.copyfile(ckpt.path / name, out_dir / name)
    (out_dir / CHAT_CONFIG).write_text(json.dumps(conf, indent=2) + "\n", encoding="utf-8")
    return conf


def read_chat_config(model_dir: Path) -> dict:
    from phonelm_export.errors import PhoneLMError

    p = Path(model_dir) / CHAT_CONFIG
    try:
        conf = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PhoneLMError(f"{model_dir}: no {CHAT_CONFIG} (not an MLC model directory)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PhoneLMError(f"{p}: not valid JSON ({e})") from None
    if conf.get("model_type") != "phonelm":
        raise PhoneLMError(f"{p}: model_type {conf.get('model_type')!r}, expected 'phonelm'")
    return conf
