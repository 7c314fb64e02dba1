"""How well a bundled model chats: held-out prompts and the first-word-copy / echo quirk.

Copy training (calls must copy names and messages from the request) taught the Call model a
habit that shows in chat: the reply starts with the question's first word ("What can you do?"
-> "What can set alarms ...") or repeats the question. :func:`quirk` names that defect;
:func:`heldout_chat_prompts` are prompts no training row contains (the ``heldout`` phrasings of
``prompts/synthetic_chat.json``, each lower-case as written and Capitalized), and the replies
the data file pairs with them never start with any prompt's first word, so every flagged reply
is a real defect, never a legitimate answer.
"""
from __future__ import annotations

import random
import re

_WORD = re.compile(r"[a-z0-9']+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def quirk(prompt: str, reply: str) -> str | None:
    """``"first-word"`` when the reply starts with the prompt's first word, ``"echo"`` when the
    reply contains the whole prompt (3+ words) or is empty; ``None`` for a clean reply."""
    p, r = _words(prompt), _words(reply)
    if not r:
        return "echo"
    if p and r[0] == p[0]:
        return "first-word"
    if len(p) >= 3 and f" {' '.join(p)} " in f" {' '.join(r)} ":
        return "echo"
    return None


def heldout_chat_prompts(seed: int = 0) -> list[str]:
    """Every held-out phrasing once lower-case and once Capitalized (arithmetic and spelling
    filled with values drawn from ``seed``)."""
    from ..corpus import _chat_data

    data = _chat_data()
    rng = random.Random(f"chat-eval:{seed}")
    base = [u for t in data["topics"] for u in t["heldout"]]
    base += [u.format(a=rng.randint(0, 99), b=rng.randint(0, 99)) for u in data["arithmetic"]["heldout"]]
    base += [u.format(w=rng.choice(data["spelling"]["words"])) for u in data["spelling"]["heldout"]]
    return base + [u[0].upper() + u[1:] for u in base]


def chat_reply(runner, prompt: str, max_new_tokens: int = 64) -> str:
    """The greedy reply of ``runner`` to one user turn (the chat template's default system prompt,
    as ``phonelm-export chat`` sends it)."""
    from ..backend import Sampling

    tok = runner.tokenizer
    ids = tok.encode(tok.render_chat([{"role": "user", "content": prompt}], add_generation_prompt=True))
    return tok.decode(runner.generate(ids, max_new_tokens=max_new_tokens, sampling=Sampling(temperature=0.0))).strip()


def measure_chat(runner, prompts: list[str] | None = None) -> dict:
    """Quirk rate over ``prompts`` (default: :func:`heldout_chat_prompts`) with every reply."""
    prompts = heldout_chat_prompts() if prompts is None else prompts
    rows = []
    for p in prompts:
        r = chat_reply(runner, p)
        rows.append({"prompt": p, "reply": r, "quirk": quirk(p, r)})
    bad = [x for x in rows if x["quirk"]]
    return {"n": len(rows), "quirks": len(bad), "quirk_rate": len(bad) / len(rows), "rows": rows}
