"""PhoneLM's tokenizer and prompt formats, shared by every backend.

The tokenizer is byte-level BPE loaded with ``tokenizers`` from ``tokenizer.json``; it adds
no BOS/EOS. Prompts are data (``prompts/chatml.jinja``, ``prompts/call.toml``); a
checkpoint's own chat template, when present, wins over the built-in ChatML one.
Chat templates are rendered in jinja2's sandbox because they come from checkpoints.
"""
from __future__ import annotations

import json
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Sequence

from .errors import CheckpointError

ENDOFTEXT_ID = 0
IM_START_ID = 1
IM_END_ID = 2
STOP_IDS = (IM_END_ID, ENDOFTEXT_ID)  # <|im_end|> ends a turn, <|endoftext|> a document
#: the system prompt PhoneLM's chat template adds when a conversation has none (prompts/chatml.jinja)
DEFAULT_SYSTEM = "You are a helpful assistant."
SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>", "<file_sep>",
    "<filename>", "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>",
    "<jupyter_start>", "<jupyter_text>", "<jupyter_code>", "<jupyter_output>", "<jupyter_script>",
    "<empty_output>",
)  # ids 0..16, fixed


def _prompt_file(name: str) -> str:
    return resources.files("phonelm_export").joinpath("prompts", name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def chatml_template() -> str:
    """PhoneLM-Instruct's ChatML template with its default system prompt."""
    return _prompt_file("chatml.jinja")


@lru_cache(maxsize=None)
def call_format() -> dict:
    return tomllib.loads(_prompt_file("call.toml"))


def read_chat_template(directory: Path) -> str | None:
    """The chat template a checkpoint ships (tokenizer_config.json or chat_template.jinja), if any."""
    jinja = directory / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    cfg = directory / "tokenizer_config.json"
    if cfg.is_file():
        try:
            tmpl = json.loads(cfg.read_text(encoding="utf-8")).get("chat_template")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CheckpointError(f"{cfg}: not valid JSON") from None
        if isinstance(tmpl, str):
            return tmpl
    return None


@lru_cache(maxsize=16)
def _compiled(template: str):
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env.from_string(template)


def render_chat(messages: Sequence[dict], add_generation_prompt: bool = True, template: str | None = None) -> str:
    """Render messages with ``template`` (default: PhoneLM's ChatML)."""
    return _compiled(template or chatml_template()).render(
        messages=list(messages), add_generation_prompt=add_generation_prompt
    )


def call_messages(query: str, docs: Sequence[str]) -> list[dict]:
    """The chat messages of an intent-calling request (phonelm-facts §5)."""
    f = call_format()
    if len(docs) > f["max_docs"]:
        raise ValueError(f"at most {f['max_docs']} function docs fit the call prompt, got {len(docs)}")
    user = f["user_prefix"] + f["doc_separator"].join(docs) + f["user_middle"] + query + f["user_suffix"]
    return [{"role": "system", "content": f["system"]}, {"role": "user", "content": user}]


class PhoneLMTokenizer:
    """``tokenizers.Tokenizer`` plus PhoneLM's special ids, stop tokens and chat template."""

    def __init__(self, tokenizer, chat_template: str | None = None, path: Path | None = None):
        self.tok = tokenizer
        self.chat_template = chat_template
        self.path = path

    @classmethod
    def from_file(cls, path: str | Path, chat_template: str | None = None) -> "PhoneLMTokenizer":
        from tokenizers import Tokenizer

        path = Path(path)
        if path.is_dir():
            chat_template = chat_template or read_chat_template(path)
            path = path / "tokenizer.json"
        if not path.is_file():
            raise CheckpointError(f"{path}: no such tokenizer file")
        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as e:
            raise CheckpointError(f"{path}: not a valid tokenizer.json ({str(e).splitlines()[0] if str(e) else e})") from None
        return cls(tok, chat_template, path)

    @classmethod
    def from_checkpoint(cls, ckpt) -> "PhoneLMTokenizer":
        t = cls.from_file(ckpt.tokenizer_file, ckpt.chat_template)
        if t.vocab_size > ckpt.dims.vocab_size:
            raise CheckpointError(
                f"tokenizer has {t.vocab_size} tokens but the embedding only {ckpt.dims.vocab_size} rows"
            )
        return t

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        """Token ids; special tokens written in the text (``<|im_start|>``) become their ids."""
        return self.tok.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def token_to_id(self, token: str) -> int | None:
        return self.tok.token_to_id(token)

    def id_to_token(self, i: int) -> str | None:
        return self.tok.id_to_token(i)

    def render_chat(self, messages: Sequence[dict], add_generation_prompt: bool = True) -> str:
        return render_chat(messages, add_generation_prompt, self.chat_template)

    def encode_chat(self, messages: Sequence[dict], add_generation_prompt: bool = True) -> list[int]:
        return self.encode(self.render_chat(messages, add_generation_prompt))

    def summary(self) -> dict:
        model = json.loads(self.tok.to_str()).get("model", {})
        return {
            "file": str(self.path) if self.path else None,
            "type": model.get("type"),
            "vocab_size": self.vocab_size,
            "merges": len(model.get("merges", [])),
            "specials_ok": all(self.token_to_id(t) == i for i, t in enumerate(SPECIAL_TOKENS)),
            "chat_template": "checkpoint" if self.chat_template else "built-in ChatML",
        }
