"""Tokenizer and chat metadata for GGUF, read from the checkpoint's ``tokenizer.json``.

PhoneLM's tokenizer is SmolLM's: byte-level BPE with a ``Digits(individual_digits)`` step
before ``ByteLevel``. llama.cpp's ``gpt2`` model with pre-tokenizer ``smollm`` reproduces that
id for id — checked against HF ``tokenizers`` in the pinned llama-cpp-python and in Debian's
llama.cpp 0.7.0 (tests/test_gguf_tokenizer.py, tests/test_stock_llamacpp.py). Tokens are written
in id order with their byte-level spelling (what llama.cpp's gpt2 vocab expects); ids 0-16 are
CONTROL tokens; no BOS is ever added.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from phonelm_export.errors import CheckpointError
from phonelm_export.tokenizer import SPECIAL_TOKENS, STOP_IDS, chatml_template

NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5  # gguf TokenType values


@dataclass
class GGUFVocab:
    tokens: list[str]
    types: list[int]
    merges: list[str]
    bos_id: int
    eos_id: int
    chat_template: str

    def write(self, writer) -> None:
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre("smollm")
        writer.add_token_list(self.tokens)
        writer.add_token_types(self.types)
        writer.add_token_merges(self.merges)
        writer.add_bos_token_id(self.bos_id)
        writer.add_eos_token_id(self.eos_id)
        # <|im_end|> ends a chat turn; <|endoftext|> (0) is recognised by llama.cpp as an
        # end-of-generation token by its text, which the worker checks (llama_vocab_is_eog).
        # llama.cpp also takes <reponame> (4) for a fill-in-the-middle "repo" token by its text
        # and ends generation on it (every SmolLM GGUF does); no key turns that heuristic off
        # short of naming a false FIM token, so it stays (README; tests/test_stock_llamacpp.py)
        writer.add_eot_token_id(self.eos_id)
        writer.add_add_bos_token(False)
        writer.add_add_eos_token(False)
        writer.add_chat_template(self.chat_template)


def _merges(model: dict) -> list[str]:
    out = []
    for m in model.get("merges", []):
        if isinstance(m, str):
            out.append(m)
        elif isinstance(m, (list, tuple)) and len(m) == 2:
            out.append(f"{m[0]} {m[1]}")
        else:
            raise CheckpointError(f"tokenizer.json: unreadable merge entry {m!r}")
    return out


def read_vocab(tokenizer_file: Path, n_vocab: int, chat_template: str | None, eos_id: int = 2, bos_id: int = 1) -> GGUFVocab:
    """The GGUF vocabulary for a tokenizer.json, padded to the embedding's ``n_vocab`` rows."""
    try:
        data = json.loads(Path(tokenizer_file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{tokenizer_file}: not a readable tokenizer.json ({e})") from None
    model = data.get("model") or {}
    if model.get("type") != "BPE":
        raise CheckpointError(f"{tokenizer_file}: a {model.get('type')} tokenizer; PhoneLM's is byte-level BPE")
    by_id: dict[int, str] = {int(i): t for t, i in model.get("vocab", {}).items()}
    special: set[int] = set()
    for added in data.get("added_tokens", []):
        by_id[int(added["id"])] = added["content"]
        if added.get("special", False):
            special.add(int(added["id"]))
    if not by_id:
        raise CheckpointError(f"{tokenizer_file}: empty vocabulary")
    size = max(by_id) + 1
    if size > n_vocab:
        raise CheckpointError(f"tokenizer has {size} tokens but the embedding only {n_vocab} rows")
    for i, t in enumerate(SPECIAL_TOKENS):
        if by_id.get(i) != t:
            raise CheckpointError(f"{tokenizer_file}: id {i} is {by_id.get(i)!r}, PhoneLM needs {t!r}")
    tokens, types = [], []
    for i in range(n_vocab):
        if i in by_id:
            tokens.append(by_id[i])
            types.append(CONTROL if (i < len(SPECIAL_TOKENS) or i in special) else NORMAL)
        else:  # embedding rows past the tokenizer (padding to a round size) are never produced
            tokens.append(f"[PAD{i}]")
            types.append(UNUSED)
    return GGUFVocab(
        tokens=tokens,
        types=types,
        merges=_merges(model),
        bos_id=bos_id,
        eos_id=eos_id,
        chat_template=chat_template or chatml_template(),
    )


__all__ = ["GGUFVocab", "read_vocab", "STOP_IDS"]
