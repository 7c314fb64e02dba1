"""The value types a parsed model output is made of, and how they are written back.

A call's arguments hold plain JSON-like values (str, int, float, bool, None, list, dict)
plus :class:`ResultRef` for a bare ``resultN`` naming an earlier call's result.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ResultRef:
    """A reference to the result of the call with id ``n`` (``resultN`` in the model output)."""

    n: int

    def __str__(self) -> str:
        return f"result{self.n}"


@dataclass
class Call:
    """One function call: ``result{id} = {name}(**arguments)``."""

    id: int
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "arguments": value_to_json(self.arguments)}

    @classmethod
    def from_json(cls, obj: dict) -> "Call":
        return cls(int(obj["id"]), obj["name"], value_from_json(obj.get("arguments") or {}))

    def render(self) -> str:
        """The DroidCall line for this call, e.g. ``result0 = dial(phone_number="1")``."""
        args = ", ".join(f"{k}={render_value(v)}" for k, v in self.arguments.items())
        return f"result{self.id} = {self.name}({args})"


def render_value(v: Any) -> str:
    """A value as the model writes it: JSON strings/lists/dicts, Python True/False/None, bare refs."""
    if isinstance(v, ResultRef):
        return str(v)
    if v is None:
        return "None"
    if v is True:
        return "True"
    if v is False:
        return "False"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (int, float)):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(render_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {render_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot render {type(v).__name__}")


def render_calls(calls: list[Call]) -> str:
    """The whole model output for ``calls``: one ``resultN = f(...)`` line per call."""
    return "\n".join(c.render() for c in calls)


def value_to_json(v: Any) -> Any:
    """JSON-safe form: a ResultRef becomes ``{"$ref": n}`` (the golden files' notation)."""
    if isinstance(v, ResultRef):
        return {"$ref": v.n}
    if isinstance(v, list):
        return [value_to_json(x) for x in v]
    if isinstance(v, dict):
        return {k: value_to_json(x) for k, x in v.items()}
    return v


def value_from_json(v: Any) -> Any:
    if isinstance(v, dict):
        if set(v) == {"$ref"}:
            return ResultRef(int(v["$ref"]))
        return {k: value_from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [value_from_json(x) for x in v]
    return v
