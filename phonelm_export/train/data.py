"""Training data: plain text / jsonl for pretraining, chat jsonl for supervised fine-tuning.

* Pretraining files: ``.txt`` (documents separated by blank lines) or ``.jsonl`` with a
  ``"text"`` field, or chat jsonl (``"messages"``) rendered with the chat template. Documents
  are joined with ``<|endoftext|>`` and cut into fixed-length blocks; the loss covers every
  token.
* SFT files: jsonl with ``"messages"`` (ChatML roles). The loss covers only the assistant
  replies and their ``<|im_end|>``, the tokens the model is asked to produce.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import torch

from ..errors import PhoneLMError
from ..tokenizer import ENDOFTEXT_ID, IM_END_ID, render_chat

IGNORE = -100


def read_jsonl(path: Path) -> Iterator[dict]:
    from ..schemas import read_text

    # read whole and decoded strictly: invalid UTF-8 is one line naming the file and the offset
    # (split on "\n" only: U+2028 and friends are legal inside JSON strings)
    for n, line in enumerate(read_text(Path(path), PhoneLMError, "JSON Lines file").split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise PhoneLMError(f"{path}:{n}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise PhoneLMError(f"{path}:{n}: expected a JSON object per line")
        yield row


def iter_documents(paths: Iterable[Path]) -> Iterator[str]:
    """Raw text documents from .txt / .jsonl files."""
    for p in map(Path, paths):
        if not p.is_file():
            raise PhoneLMError(f"{p}: no such data file")
        if p.suffix == ".jsonl":
            for n, row in enumerate(read_jsonl(p), 1):
                if "text" in row:
                    yield str(row["text"])
                elif "messages" in row:
                    yield render_chat(row["messages"], add_generation_prompt=False)
                else:
                    raise PhoneLMError(f"{p}:{n}: a pretraining row needs 'text' or 'messages'")
        else:
            from ..schemas import read_text

            text = read_text(p, PhoneLMError, "text file")
            for doc in text.split("\n\n"):
                if doc.strip():
                    yield doc.strip() + "\n"


def pack_blocks(docs: Iterable[str], encode, seq_len: int) -> torch.Tensor:
    """Concatenate documents with <|endoftext|> and cut into [N, seq_len + 1] blocks."""
    stream: list[int] = []
    for d in docs:
        stream.extend(encode(d))
        stream.append(ENDOFTEXT_ID)
    n = (len(stream) - 1) // seq_len
    if n == 0:
        raise PhoneLMError(f"not enough pretraining text for one block of {seq_len} tokens ({len(stream)} tokens)")
    return torch.tensor(stream[: n * seq_len + 1]).unfold(0, seq_len + 1, seq_len).contiguous()


@dataclass
class SFTExample:
    ids: list[int]
    labels: list[int]


def sft_example(messages: list[dict], encode, template: str | None = None, max_len: int = 1024) -> SFTExample:
    """Token ids and labels: only assistant content (and its <|im_end|>) is learned."""
    ids: list[int] = []
    labels: list[int] = []
    # render incrementally so the boundaries of each assistant reply are exact
    for i, msg in enumerate(messages):
        prefix = render_chat(messages[:i], add_generation_prompt=False, template=template) if i else ""
        if msg["role"] == "assistant":
            head = render_chat(messages[:i], add_generation_prompt=True, template=template)
            full = render_chat(messages[: i + 1], add_generation_prompt=False, template=template)
            prompt_part = encode(head[len(prefix):]) if len(head) > len(prefix) else []
            reply = encode(msg["content"]) + [IM_END_ID]
            tail = encode(full[len(head) + len(msg["content"]) + len("<|im_end|>"):])
            ids += prompt_part + reply + tail
            labels += [IGNORE] * len(prompt_part) + reply + [IGNORE] * len(tail)
        else:
            full = render_chat(messages[: i + 1], add_generation_prompt=False, template=template)
            part = encode(full[len(prefix):])
            ids += part
            labels += [IGNORE] * len(part)
    # predict token t+1 from t: shift happens in the model, labels align with ids
    return SFTExample(ids[:max_len], labels[:max_len])


def load_sft(paths: Iterable[Path], encode, max_len: int, template: str | None = None) -> list[SFTExample]:
    out = []
    for p in map(Path, paths):
        if not p.is_file():
            raise PhoneLMError(f"{p}: no such data file")
        for n, row in enumerate(read_jsonl(p), 1):
            msgs = row.get("messages")
            if not isinstance(msgs, list) or not any(m.get("role") == "assistant" for m in msgs):
                raise PhoneLMError(f"{p}:{n}: an SFT row needs 'messages' with an assistant reply")
            ex = sft_example(msgs, encode, template, max_len)
            if any(l != IGNORE for l in ex.labels):
                out.append(ex)
    if not out:
        raise PhoneLMError("no SFT examples with assistant tokens inside the length limit")
    return out


def collate_sft(batch: list[SFTExample]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad with <|endoftext|> (label ignored)."""
    T = max(len(e.ids) for e in batch)
    ids = torch.full((len(batch), T), ENDOFTEXT_ID, dtype=torch.long)
    labels = torch.full((len(batch), T), IGNORE, dtype=torch.long)
    for i, e in enumerate(batch):
        ids[i, : len(e.ids)] = torch.tensor(e.ids)
        labels[i, : len(e.labels)] = torch.tensor(e.labels)
    return ids, labels
