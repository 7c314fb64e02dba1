"""The 24 DroidCall functions as data (``data/functions.json``) and their prompt docs.

``render_doc`` writes the doc block the Call model sees in its prompt (phonelm-facts §5):
sections ``Name:``, ``Description:``, ``Args:``, ``Returns:``, ``Example:``, bodies indented by
four spaces, one ``name (type): text`` line per argument.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from .calls import render_value

INDENT = "    "


@dataclass(frozen=True)
class Arg:
    name: str
    type: str  # int | str | bool | list[str] | dict[str, str]
    required: bool
    description: str
    default: Any = None
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Function:
    name: str
    description: str
    args: tuple[Arg, ...]
    returns_type: str
    returns_description: str
    examples: tuple[str, ...]

    def arg(self, name: str) -> Arg | None:
        for a in self.args:
            if a.name == name:
                return a
        return None

    @property
    def required(self) -> list[str]:
        return [a.name for a in self.args if a.required]

    def defaults(self) -> dict[str, Any]:
        return {a.name: a.default for a in self.args if not a.required}


def data_text(name: str) -> str:
    return resources.files("phonelm_export.intents").joinpath("data", name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _load() -> dict[str, Function]:
    raw = json.loads(data_text("functions.json"))
    out: dict[str, Function] = {}
    for f in raw["functions"]:
        args = tuple(
            Arg(
                name=a["name"],
                type=a["type"],
                required=bool(a["required"]),
                description=a["description"],
                default=a.get("default"),
                choices=tuple(a["choices"]) if a.get("choices") else None,
            )
            for a in f["args"]
        )
        out[f["name"]] = Function(
            name=f["name"],
            description=f["description"],
            args=args,
            returns_type=f["returns"]["type"],
            returns_description=f["returns"]["description"],
            examples=tuple(f["examples"]),
        )
    return out


FUNCTIONS: dict[str, Function] = _load()
FUNCTION_NAMES: tuple[str, ...] = tuple(FUNCTIONS)


def _arg_line(a: Arg) -> str:
    kind = a.type if a.required else f"{a.type}, optional"
    text = a.description
    if not a.required:
        text += f" Defaults to {render_value(a.default)}."
    return f"{INDENT}{a.name} ({kind}): {text}"


@lru_cache(maxsize=None)
def render_doc(name: str) -> str:
    """The prompt doc of function ``name`` (KeyError for an unknown name)."""
    f = FUNCTIONS[name]
    lines = ["Name:", INDENT + f.name, "Description:", INDENT + f.description, "Args:"]
    lines += [_arg_line(a) for a in f.args] or [INDENT + "None"]
    ret = "None" if f.returns_type == "None" else f"{f.returns_type}: {f.returns_description}"
    lines += ["Returns:", INDENT + ret, "Example:"]
    lines += [INDENT + e for e in f.examples]
    return "\n".join(lines)


def render_docs(names) -> list[str]:
    return [render_doc(n) for n in names]
