"""Helpers on argument values shared by the parser and the mapper (the twin of ``Values.java``)."""
from __future__ import annotations

from typing import Any

WHITESPACE = " \t\n\r\f\v"  # what strip() removes here; the Kotlin/Java twin strips the same set


def type_name(v: Any) -> str:
    """The name a value's type has in error messages (same words in the Kotlin core)."""
    if v is None:
        return "None"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "dict"
    return type(v).__name__
