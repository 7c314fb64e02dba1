"""Declared schemas for what users hand us, and one-line errors when a file does not fit.

Files are validated with pydantic models declared next to their format (:mod:`phonelm_export.schemas_checkpoint`:
config.json, safetensors headers, tokenizer.json, shard indexes; each backend declares its
recipe schema with :class:`SchemaModel` and loads recipe files with :func:`read_toml`). A
validation failure becomes one line naming the file, the key and what was expected::

    config.json: max_position_embeddings: expected a positive integer, got null

Models are strict (no ``"1e-6"`` string silently becoming a float, no ``true`` becoming 1);
each field's ``description`` is the "expected ..." text, so the words live with the declaration.
"""
from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any, Type, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import SchemaError, first_line

M = TypeVar("M", bound=BaseModel)


class SchemaModel(BaseModel):
    """Base of every declared schema: strict types, unknown keys kept (formats grow keys)."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


class ClosedSchemaModel(SchemaModel):
    """A schema whose unknown keys are errors (recipes: a typo must not be silently ignored)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def render_value(v: Any, limit: int = 40) -> str:
    """A value as the user wrote it in JSON/TOML, shortened."""
    if isinstance(v, float) and not math.isfinite(v):
        text = str(v)
    else:
        try:
            text = json.dumps(v, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "float_type": "a number",
    "float_parsing": "a number", "finite_number": "a finite number", "string_type": "a string",
    "bool_type": "true or false", "dict_type": "an object", "model_type": "an object",
    "model_attributes_type": "an object", "list_type": "a list", "tuple_type": "a list",
    "missing": "this key (it is missing)", "extra_forbidden": "no such key",
    "too_short": "more items", "too_long": "fewer items",
}


def _bounds(ctx: dict) -> str:
    words = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    return " and ".join(f"{words[k]} {ctx[k]}" for k in ("gt", "ge", "lt", "le") if k in ctx)


def _expected(err: dict, description: str | None) -> str:
    if err["type"] == "extra_forbidden":
        return "no such key"
    if err["type"] == "missing":
        return f"{description or 'a value'} (it is missing)"
    ctx = err.get("ctx") or {}
    if err["type"] == "value_error":  # a validator's own words are the most precise
        return str(ctx.get("error") or err["msg"]).removeprefix("Value error, ")
    if description:
        return description
    if err["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"a number {_bounds(ctx)}"
    if err["type"] == "literal_error":
        return f"one of {ctx.get('expected')}"
    if err["type"] == "value_error":
        return str(ctx.get("error") or err["msg"]).removeprefix("Value error, ")
    return _EXPECTED.get(err["type"], err["msg"][0].lower() + err["msg"][1:])


def _resolve(model: Type[BaseModel], loc: tuple, data: Any) -> tuple[str, str | None, Any]:
    """The user-facing key path for an error location, the deepest field's description, and
    the value found there. Union members' tags ('int', 'list[int]'...) are not keys: skipped."""
    path: list[str] = []
    description = None
    current: Any = model
    value = data
    for part in loc:
        fields = getattr(current, "model_fields", None) if isinstance(current, type) else None
        if isinstance(part, int):
            path.append(f"[{part}]")
            value = value[part] if isinstance(value, (list, tuple)) and -len(value) <= part < len(value) else None
            continue
        if fields is not None and part in fields:
            info = fields[part]
            description = info.description or description
            current = _model_inside(info.annotation)
            key = info.alias or part
        elif fields is not None and isinstance(value, dict) and part in value:
            key = part  # an extra/unknown key
            current = None
        elif current is None and isinstance(value, dict) and part in value:
            key = part  # a key of a free-form mapping (e.g. a tensor name)
        else:
            continue  # a union tag
        path.append(("." if path else "") + str(key))
        value = value.get(key) if isinstance(value, dict) else None
    return "".join(path), description, value


def _fields_at(model: Type[BaseModel], loc: tuple) -> list[str]:
    """The declared keys (aliases) of the model reached by following ``loc`` from ``model``."""
    current: Any = model
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            break
        current = _model_inside(fields[part].annotation)
    fields = getattr(current, "model_fields", None) or {}
    return [info.alias or name for name, info in fields.items()]


def _model_inside(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_inside(arg)
        if found is not None:
            return found
    return None


def describe_validation_error(e: ValidationError, model: Type[BaseModel], data: Any, file: str) -> str:
    """One line for the first problem (and how many more there are)."""
    errors = e.errors(include_url=False)
    err = errors[0]
    key, description, value = _resolve(model, tuple(err["loc"]), data)
    same_key = {tuple(x["loc"][:1]) for x in errors}
    n = len(same_key) - 1
    more = f" (and {n} more problem{'s' if n > 1 else ''})" if n else ""
    if err["type"] == "extra_forbidden":  # a typo, most likely: say which keys there are
        parent, _, name = key.rpartition(".")
        fields = _fields_at(model, tuple(err["loc"])[:-1])
        known = f" (known: {', '.join(fields)})" if fields else ""
        return f"{file}: {parent + ': ' if parent else ''}unknown key '{name}'{known}{more}"
    where = f"{file}: {key}: " if key else f"{file}: "
    expected = _expected(err, description)
    if err["type"] == "missing":
        return f"{where}expected {expected}{more}"
    return f"{where}expected {expected}, got {render_value(value)}{more}"


def validate(model: Type[M], data: Any, file: str | Path, error: type[Exception] = SchemaError) -> M:
    """``model`` validated from ``data`` (parsed JSON/TOML); ``error`` with one line otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise error(describe_validation_error(e, model, data, str(file))) from None


def decode_utf8(raw: bytes, file: str | Path, error: type[Exception] = SchemaError) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{file}: not valid UTF-8 text (byte 0x{raw[e.start:e.start + 1].hex()} at offset {e.start})") from None


def read_text(path: Path, error: type[Exception] = SchemaError, what: str = "file") -> str:
    """A user's text file as str: a clear error for a directory, a missing file or invalid UTF-8."""
    path = Path(path)
    if path.is_dir():
        raise error(f"{path}: is a directory, expected a {what}")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise error(f"{path}: cannot be read ({e.strerror or first_line(e)})") from None
    return decode_utf8(raw, path, error)


def read_json(path: Path, error: type[Exception] = SchemaError, what: str = "JSON file") -> Any:
    text = read_text(path, error, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise error(f"{path}: not valid JSON ({first_line(e)})") from None
    except RecursionError:
        raise error(f"{path}: not valid JSON (nested too deeply)") from None


def read_json_object(path: Path, error: type[Exception] = SchemaError, what: str = "JSON file") -> dict:
    data = read_json(path, error, what)
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object, got {type(data).__name__ if data is not None else 'null'}")
    return data


def parse_toml(text_or_bytes: str | bytes, file: str | Path, error: type[Exception] = SchemaError) -> dict:
    text = decode_utf8(text_or_bytes, file, error) if isinstance(text_or_bytes, bytes) else text_or_bytes
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise error(f"{file}: invalid TOML ({first_line(e)})") from None


def read_toml(path: Path, error: type[Exception] = SchemaError) -> dict:
    """A TOML file (a recipe) as a dict: invalid UTF-8 and TOML syntax are one line each."""
    return parse_toml(read_text(path, error, "TOML file"), path, error)
