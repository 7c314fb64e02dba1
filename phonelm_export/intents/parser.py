"""Parse a Call model's output into :class:`~phonelm_export.intents.calls.Call` objects.

Accepted forms (phonelm-facts §5), possibly wrapped in ``$ ... $``, in ``<tool_call> ...
</tool_call>`` blocks or in a Markdown code fence:

* DroidCall code lines: ``result0 = get_contact_info(name="Anna", key="email")`` — one call per
  line (or ``;``-separated), keyword arguments only; values are JSON strings, numbers, lists
  and dicts, Python-style ``True``/``False``/``None`` (JSON's ``true``/``false``/``null`` too),
  single-quoted strings, and bare ``resultN`` naming an earlier call's result. A line without
  ``resultN =`` gets its position as id.
* JSON: a list of ``{"name": ..., "arguments": {...}}`` objects (or a sequence of such objects);
  a string ``"#N"`` is a reference to the result of element N. ``arguments`` may be a string
  holding the JSON object (OpenAI style).

This is a hand-written recursive-descent parser — model output is never ``eval``-ed. Every
problem raises :class:`CallParseError` with ``line L, column C: what`` (positions in the text
after the wrapper was removed). The Kotlin twin (``android_demo/core``) produces the same
calls and the same messages; ``tests/golden/intents`` holds the shared vectors.
"""
from __future__ import annotations

import re
from typing import Any

from ..errors import PhoneLMError
from .calls import Call, ResultRef
from .values import WHITESPACE

MAX_DEPTH = 32  # lists/dicts nested deeper than this are refused (no recursion blow-up)
_REF_NAME = re.compile(r"result(0|[1-9][0-9]{0,5})")
_HASH_REF = re.compile(r"#(0|[1-9][0-9]{0,5})")
_INT_MAX = 2**63 - 1

MAX_NUMBER_CHARS = 400  # longer literals are out of range (and int() refuses 4,300+ digits); quoted shortened


class CallParseError(PhoneLMError):
    """The model output is not a well-formed list of function calls."""


def unwrap(text: str) -> str:
    """Remove ``<tool_call>`` tags, a code fence and ``$ ... $`` around the calls."""
    s = text.strip(WHITESPACE)
    if "<tool_call>" in s:
        parts = []
        rest = s
        while "<tool_call>" in rest:
            rest = rest[rest.index("<tool_call>") + len("<tool_call>"):]
            end = rest.find("</tool_call>")
            parts.append(rest if end < 0 else rest[:end])
            rest = "" if end < 0 else rest[end + len("</tool_call>"):]
        s = "\n".join(p.strip(WHITESPACE) for p in parts).strip(WHITESPACE)
    if s.startswith("```"):
        nl = s.find("\n")
        s = "" if nl < 0 else s[nl + 1:]
        if s.rstrip(WHITESPACE).endswith("```"):
            s = s.rstrip(WHITESPACE)[:-3]
        s = s.strip(WHITESPACE)
    if len(s) >= 2 and s.startswith("$") and s.endswith("$"):
        s = s[1:-1].strip(WHITESPACE)
    return s


def parse_calls(text: str) -> list[Call]:
    """All calls in a model output, in order (an empty output gives an empty list)."""
    if not isinstance(text, str):
        raise CallParseError("model output must be text")
    s = unwrap(text)
    if not s:
        return []
    p = _Parser(s)
    if s[0] in "[{":
        return p.json_form()
    return p.code_form()


def _shown(number: str) -> str:
    """A number literal as error messages quote it: whole up to MAX_NUMBER_CHARS, else its start
    and its length (the Java twin shortens the same way)."""
    if len(number) <= MAX_NUMBER_CHARS:
        return number
    return f"{number[:20]}... ({len(number)} characters)"


def _is_ident_start(c: str) -> bool:
    return c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_ident_char(c: str) -> bool:
    return _is_ident_start(c) or ("0" <= c <= "9")


_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class _Parser:
    def __init__(self, s: str):
        self.s = s
        self.i = 0
        self.defined: set[int] = set()

    # --- positions and errors -------------------------------------------------------------
    def error(self, msg: str, at: int | None = None) -> CallParseError:
        at = self.i if at is None else at
        line = self.s.count("\n", 0, at) + 1
        col = at - (self.s.rfind("\n", 0, at) + 1) + 1
        return CallParseError(f"line {line}, column {col}: {msg}")

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def describe(self) -> str:
        c = self.peek()
        if not c:
            return "end of output"
        if c == "\n":
            return "end of line"
        if ord(c) < 32 or ord(c) == 127:
            return f"character U+{ord(c):04X}"
        return f'"{c}"' if c == "'" else f"'{c}'"

    def skip_ws(self, newlines: bool = True) -> None:
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == " " or c == "\t" or c == "\r" or (newlines and c == "\n"):
                self.i += 1
            else:
                break

    def expect(self, c: str) -> None:
        if self.peek() != c:
            raise self.error(f"expected '{c}', found {self.describe()}")
        self.i += 1

    def ident(self, what: str) -> str:
        if not _is_ident_start(self.peek()):
            raise self.error(f"expected {what}, found {self.describe()}")
        start = self.i
        while self.i < len(self.s) and _is_ident_char(self.s[self.i]):
            self.i += 1
        return self.s[start:self.i]

    # --- the code form --------------------------------------------------------------------
    def code_form(self) -> list[Call]:
        calls: list[Call] = []
        while True:
            while self.i < len(self.s) and self.s[self.i] in " \t\r\n;":
                self.i += 1
            if self.i >= len(self.s):
                return calls
            calls.append(self.statement(len(calls)))
            self.skip_ws(newlines=False)
            c = self.peek()
            if c and c not in "\n;":
                raise self.error(f"expected end of line after the call, found {self.describe()}")

    def statement(self, position: int) -> Call:
        start = self.i
        first = self.ident("a function call")
        self.skip_ws(newlines=False)
        if self.peek() == "=":
            m = _REF_NAME.fullmatch(first)
            if not m:
                raise self.error(f"expected resultN on the left of '=', found '{first}'", start)
            call_id = int(m.group(1))
            self.i += 1
            self.skip_ws(newlines=False)
            name = self.ident("a function name")
        else:
            call_id, name = position, first
        if call_id in self.defined:
            raise self.error(f"result{call_id} is assigned twice", start)
        self.skip_ws(newlines=False)
        self.expect("(")
        args = self.arguments()
        self.defined.add(call_id)
        return Call(call_id, name, args)

    def arguments(self) -> dict[str, Any]:
        args: dict[str, Any] = {}
        while True:
            self.skip_ws()
            if self.peek() == ")":
                self.i += 1
                return args
            key_at = self.i
            if not _is_ident_start(self.peek()):
                if self.peek() and self.peek() in "\"'[{-0123456789":
                    raise self.error("positional arguments are not accepted; write name=value")
                raise self.error(f"expected an argument name or ')', found {self.describe()}")
            key = self.ident("an argument name")
            self.skip_ws()
            if self.peek() != "=":
                if self.peek() in (",", ")"):
                    raise self.error("positional arguments are not accepted; write name=value", key_at)
                raise self.error(f"expected '=' after '{key}', found {self.describe()}")
            self.i += 1
            if key in args:
                raise self.error(f"argument '{key}' is given twice", key_at)
            self.skip_ws()
            args[key] = self.value(0)
            self.skip_ws()
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c != ")":
                raise self.error(f"expected ',' or ')', found {self.describe()}")

    # --- values ---------------------------------------------------------------------------
    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.error(f"values nested deeper than {MAX_DEPTH} levels")
        c = self.peek()
        if c == '"' or c == "'":
            return self.string()
        if c == "[":
            return self.list_value(depth)
        if c == "{":
            return self.dict_value(depth)
        if c == "-" or ("0" <= c <= "9"):
            return self.number()
        if _is_ident_start(c):
            at = self.i
            word = self.ident("a value")
            if word in ("True", "true"):
                return True
            if word in ("False", "false"):
                return False
            if word in ("None", "null"):
                return None
            m = _REF_NAME.fullmatch(word)
            if m:
                n = int(m.group(1))
                if n not in self.defined:
                    raise self.error(f"result{n} is used before it is assigned", at)
                return ResultRef(n)
            raise self.error(f"unknown name '{word}' (strings need quotes)", at)
        raise self.error(f"expected a value, found {self.describe()}")

    def string(self) -> str:
        start = self.i
        quote = self.s[self.i]
        self.i += 1
        out: list[str] = []
        while True:
            if self.i >= len(self.s):
                raise self.error("unterminated string", start)
            c = self.s[self.i]
            if c == quote:
                self.i += 1
                return "".join(out)
            if c == "\\":
                if self.i + 1 >= len(self.s):
                    raise self.error("unterminated string", start)
                e = self.s[self.i + 1]
                if e in _ESCAPES:
                    out.append(_ESCAPES[e])
                    self.i += 2
                elif e == "u":
                    hexs = self.s[self.i + 2:self.i + 6]
                    if len(hexs) != 4 or any(h not in "0123456789abcdefABCDEF" for h in hexs):
                        raise self.error("bad \\u escape in string")
                    code = int(hexs, 16)
                    self.i += 6
                    if 0xD800 <= code <= 0xDBFF and self.s[self.i:self.i + 2] == "\\u":
                        low_hex = self.s[self.i + 2:self.i + 6]
                        if len(low_hex) == 4 and all(h in "0123456789abcdefABCDEF" for h in low_hex):
                            low = int(low_hex, 16)
                            if 0xDC00 <= low <= 0xDFFF:
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                                self.i += 6
                    if 0xD800 <= code <= 0xDFFF:
                        code = 0xFFFD  # a lone surrogate is not text
                    out.append(chr(code))
                else:
                    raise self.error(f"unknown escape '\\{e}' in string")
            else:
                out.append(c)
                self.i += 1

    def number(self) -> int | float:
        start = self.i
        if self.peek() == "-":
            self.i += 1
        digits = self.i
        while "0" <= self.peek() <= "9" and self.peek():
            self.i += 1
        if self.i == digits:
            raise self.error("expected a digit after '-'")
        is_float = False
        if self.peek() == "." and self.i + 1 < len(self.s) and "0" <= self.s[self.i + 1] <= "9":
            is_float = True
            self.i += 1
            while self.peek() and "0" <= self.peek() <= "9":
                self.i += 1
        if self.peek() in ("e", "E") and self.peek():
            j = self.i + 1
            if j < len(self.s) and self.s[j] in "+-":
                j += 1
            if j < len(self.s) and "0" <= self.s[j] <= "9":
                is_float = True
                self.i = j
                while self.peek() and "0" <= self.peek() <= "9":
                    self.i += 1
        text = self.s[start:self.i]
        if _is_ident_char(self.peek()):
            raise self.error(f"malformed number '{_shown(text + self.peek())}'", start)
        if len(text) > MAX_NUMBER_CHARS:
            raise self.error(f"number out of range '{_shown(text)}'", start)
        if is_float:
            v = float(text)
            if v != v or v in (float("inf"), float("-inf")):
                raise self.error(f"number out of range '{_shown(text)}'", start)
            return v
        v = int(text)
        if not -_INT_MAX - 1 <= v <= _INT_MAX:
            raise self.error(f"number out of range '{_shown(text)}'", start)
        return v

    def list_value(self, depth: int) -> list:
        self.i += 1
        items: list = []
        while True:
            self.skip_ws()
            if self.peek() == "]":
                self.i += 1
                return items
            items.append(self.value(depth + 1))
            self.skip_ws()
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c != "]":
                raise self.error(f"expected ',' or ']', found {self.describe()}")

    def dict_value(self, depth: int) -> dict:
        self.i += 1
        items: dict = {}
        while True:
            self.skip_ws()
            if self.peek() == "}":
                self.i += 1
                return items
            if self.peek() not in ('"', "'") or not self.peek():
                raise self.error(f"expected a quoted key or '}}', found {self.describe()}")
            key_at = self.i
            key = self.string()
            if key in items:
                raise self.error(f"key '{key}' is given twice", key_at)
            self.skip_ws()
            self.expect(":")
            self.skip_ws()
            items[key] = self.value(depth + 1)
            self.skip_ws()
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c != "}":
                raise self.error(f"expected ',' or '}}', found {self.describe()}")

    # --- the JSON form --------------------------------------------------------------------
    def json_form(self) -> list[Call]:
        objects: list[tuple[int, Any]] = []
        while True:
            self.skip_ws()
            if self.i >= len(self.s):
                break
            at = self.i
            if self.peek() not in ("[", "{"):
                raise self.error(f"expected a JSON call object or list, found {self.describe()}")
            v = self.value(0)
            for item in v if isinstance(v, list) else [v]:
                objects.append((at, item))
        calls: list[Call] = []
        for n, (at, obj) in enumerate(objects):
            if not isinstance(obj, dict):
                raise self.error(f"call {n}: expected an object with \"name\" and \"arguments\"", at)
            name = obj.get("name")
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise self.error(f"call {n}: \"name\" must be a function name", at)
            extra = sorted(set(obj) - {"name", "arguments"})
            if extra:
                raise self.error(f"call {n}: unexpected key \"{extra[0]}\"", at)
            args = obj.get("arguments", {})
            if isinstance(args, str):
                sub = _Parser(args.strip(WHITESPACE) or "{}")
                if sub.peek() != "{":
                    raise self.error(f"call {n}: \"arguments\" must be an object", at)
                try:
                    args = sub.value(0)
                    sub.skip_ws()
                    if sub.i < len(sub.s):
                        raise sub.error("unexpected text after the arguments")
                except CallParseError as e:
                    raise self.error(f"call {n}: \"arguments\" string: {e}", at) from None
            if args is None:
                args = {}
            if not isinstance(args, dict):
                raise self.error(f"call {n}: \"arguments\" must be an object", at)
            calls.append(Call(n, name, {k: self._hash_refs(v, n, at) for k, v in args.items()}))
        return calls

    def _hash_refs(self, v: Any, n: int, at: int) -> Any:
        if isinstance(v, str):
            m = _HASH_REF.fullmatch(v)
            if m:
                ref = int(m.group(1))
                if ref >= n:
                    raise self.error(f"call {n}: \"#{ref}\" refers to a call that is not before it", at)
                return ResultRef(ref)
            return v
        if isinstance(v, ResultRef):
            if v.n >= n:
                raise self.error(f"call {n}: result{v.n} refers to a call that is not before it", at)
            return v
        if isinstance(v, list):
            return [self._hash_refs(x, n, at) for x in v]
        if isinstance(v, dict):
            return {k: self._hash_refs(x, n, at) for k, x in v.items()}
        return v
