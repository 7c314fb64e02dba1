"""What mapping a call produces, as data: :class:`Intent` (action, data URI, MIME type,
categories, typed extras), :class:`ContactQuery`, one :class:`Step` per call of a plan, and
:class:`MappingError`. Twins of Extra / IntentSpec / ContactQuery / Step / MappingException in
``android_demo/core``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class MappingError(Exception):
    """One call cannot become an intent. ``code`` is stable (golden vectors compare it)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Extra:
    key: str
    type: str  # string | int | long | boolean | string_array | int_list | uri | uri_list
    value: Any

    def to_json(self) -> dict:
        return {"key": self.key, "type": self.type, "value": self.value}


@dataclass
class Intent:
    action: str
    data: str | None = None
    type: str | None = None
    categories: list[str] = field(default_factory=list)
    extras: list[Extra] = field(default_factory=list)
    returns: str | None = None  # None: fire and forget; "uri" / "uri_list": started for a result

    def to_json(self) -> dict:
        return {
            "action": self.action,
            "data": self.data,
            "type": self.type,
            "categories": list(self.categories),
            "extras": [e.to_json() for e in self.extras],
            "returns": self.returns,
        }


@dataclass
class ContactQuery:
    by: str  # "name" | "uri"
    value: str
    key: str  # email | phone | address | uri

    def to_json(self) -> dict:
        return {"by": self.by, "value": self.value, "key": self.key}


@dataclass
class Step:
    call: int
    function: str
    intent: Intent | None = None
    query: ContactQuery | None = None
    error: MappingError | None = None
    result: Any = None

    def to_json(self) -> dict:
        out: dict[str, Any] = {"call": self.call, "function": self.function}
        if self.error is not None:
            out["error"] = {"code": self.error.code, "message": self.error.message}
        elif self.intent is not None:
            out["intent"] = self.intent.to_json()
        else:
            out["query"] = self.query.to_json()
        out["result"] = self.result
        return out
