"""The grammar of the Call outputs that are valid for one request, in GBNF.

For a request and the function docs shown with it, :func:`call_grammar` writes the GBNF text
(llama.cpp's grammar format; llguidance reads it too) of every output the parser accepts
*and* the mapper maps, in the one canonical form the Call model is trained on
(:func:`~phonelm_export.intents.calls.render_calls`)::

    result0 = get_contact_info(name="Anna", key="phone")
    result1 = send_message(phone_number=result0, subject="", body="I'll be late")

* lines ``resultK = NAME(ARG=VALUE, ...)`` with K = 0, 1, 2, ... (at most ``max_calls``),
  joined by one newline; the end of the output is the end-of-turn token, which the decoder
  allows once the grammar is complete;
* NAME is one of the shown functions; arguments in the schema's order (the order the training
  targets use, so no argument can be given twice), required ones always present;
* values typed by ``data/verbatim.json``: ints in their range, ``True``/``False``, the
  schema's choices, ISO dates, durations and MIME types in the forms the mapper accepts,
  and, for arguments copied from the request (names, message bodies, titles, queries), only
  spans of the request text (JSON-escaped as the model writes strings), starting and ending
  at word boundaries (a contraction such as "I'll" is one word, a possessive "'s" is not),
  the first letter in either case (the training targets capitalise event
  titles);
* ``resultN`` only where the schema takes a value another call returns, and only naming an
  earlier call whose function returns something (the grammar tracks which earlier calls do).

The wrappers the parser also accepts (``$ ... $``, ``<tool_call>``, code fences, the JSON form)
are left out: the model never writes them, and a wider grammar only gives it ways to go wrong.

The Java core (``android_demo/core``, ``CallGrammar``) builds the byte-identical text for the
same request and docs; ``tests/golden/intents/grammar.json`` holds the shared vectors. The
rules are emitted as ``root`` first and the others sorted by name, so the text does not depend
on the order the builder visits them in.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from ..errors import PhoneLMError
from .parser import WHITESPACE
from .schema import FUNCTIONS, Arg, Function, data_text

GRAMMAR_VERSION = "phonelm-call-grammar v1"


class GrammarError(PhoneLMError):
    """No valid call exists for this request and these docs (e.g. an empty request)."""


@lru_cache(maxsize=None)
def value_specs() -> dict:
    """``data/verbatim.json``: the value shape of every argument (checked against the schema by the tests)."""
    return json.loads(data_text("verbatim.json"))


# --- text helpers (the Java twin implements each one the same way) ------------------------------

_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def json_char(ch: str) -> str:
    """One character as ``json.dumps(..., ensure_ascii=False)`` writes it inside a string."""
    if ch in _JSON_ESCAPES:
        return _JSON_ESCAPES[ch]
    if ord(ch) < 0x20:
        return f"\\u{ord(ch):04x}"
    return ch


def literal(text: str) -> str:
    """A GBNF string literal matching ``text`` exactly (only ``\\`` and ``"`` need escaping:
    JSON escaping has already removed every control character)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def is_word_char(ch: str) -> bool:
    """Letters, decimal digits and combining marks: a span never starts or ends inside a run of them."""
    cat = unicodedata.category(ch)
    return cat[0] == "L" or cat in ("Nd", "Mn", "Mc")


_APOSTROPHES = "'\u2019"


def _joined(text: str, i: int) -> bool:
    """Whether positions i - 1 and i are inside one word: two word characters, or a word character
    and the apostrophe of a contraction ("I'll", "don't"); a possessive "'s" ("Anna's") starts a new
    piece, so "Anna" stays a span."""
    n = len(text)

    def apostrophe_inside(a: int) -> bool:  # text[a] is an apostrophe between word characters, not "'s" + end of word
        if not (0 < a < n - 1 and text[a] in _APOSTROPHES and is_word_char(text[a - 1]) and is_word_char(text[a + 1])):
            return False
        return not (text[a + 1] in "sS" and (a + 2 == n or not is_word_char(text[a + 2])))

    if not 0 < i < n:
        return False
    if is_word_char(text[i - 1]) and is_word_char(text[i]):
        return True
    return apostrophe_inside(i) or apostrophe_inside(i - 1)


def span_starts(text: str) -> list[int]:
    """Positions a verbatim span may start at: not whitespace, not inside a word."""
    return [i for i, ch in enumerate(text) if ch not in WHITESPACE and not _joined(text, i)]


def span_ends(text: str) -> set[int]:
    """Positions (exclusive) a verbatim span may end at: after a non-whitespace character, not inside a word."""
    return {j for j in range(1, len(text) + 1) if text[j - 1] not in WHITESPACE and not _joined(text, j)}


def _first_char(ch: str) -> str:
    """The first character of a span: an ASCII letter in either case, anything else as it is."""
    if ch.isascii() and ch.isalpha():
        return f"[{ch.lower()}{ch.upper()}]"
    return literal(json_char(ch))


def int_range(lo: int, hi: int) -> str:
    """GBNF for the decimal integers lo..hi (0 <= lo <= hi <= 99, no leading zeros)."""
    if not 0 <= lo <= hi <= 99:
        raise ValueError(f"int range {lo}..{hi} is not within 0..99")
    alts = []
    if lo <= 9:
        a, b = lo, min(hi, 9)
        alts.append(f"[{a}]" if a == b else f"[{a}-{b}]")
    tens: list[tuple[int, int, int]] = []  # (tens digit, first unit, last unit)
    for t in range(max(1, lo // 10), hi // 10 + 1):
        u0 = max(0, lo - 10 * t)
        u1 = min(9, hi - 10 * t)
        if u0 <= u1:
            tens.append((t, u0, u1))
    k = 0
    while k < len(tens):
        t, u0, u1 = tens[k]
        if (u0, u1) == (0, 9):
            e = k
            while e + 1 < len(tens) and tens[e + 1][1:] == (0, 9):
                e += 1
            t_end = tens[e][0]
            alts.append(f"[{t}] [0-9]" if t == t_end else f"[{t}-{t_end}] [0-9]")
            k = e + 1
        else:
            alts.append(f"[{t}] " + (f"[{u0}]" if u0 == u1 else f"[{u0}-{u1}]"))
            k += 1
    return " | ".join(alts)


def _rule_name(text: str) -> str:
    """GBNF rule names are ``[a-zA-Z0-9-]+``: lower case, ``_`` -> ``-``."""
    return text.lower().replace("_", "-")


# --- shared value rules --------------------------------------------------------------------------

def _iso_rules() -> dict[str, str]:
    return {
        "iso8601": '"\\"" date ( "T" clock )? "\\""',
        "date": 'year "-" month-day | leap-year "-02-29"',
        "year": '"20" [0-9] [0-9]',
        "leap-year": '"20" ( [02468] [048] | [13579] [26] )',
        "month-day": '( "01" | "03" | "05" | "07" | "08" | "10" | "12" ) "-" day31 '
                     '| ( "04" | "06" | "09" | "11" ) "-" day30 | "02-" day28',
        "day31": '"0" [1-9] | [12] [0-9] | "3" [01]',
        "day30": '"0" [1-9] | [12] [0-9] | "30"',
        "day28": '"0" [1-9] | "1" [0-9] | "2" [0-8]',
        "clock": '( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9]',
    }


def _duration_rules() -> dict[str, str]:
    # canonical plural units, as the training targets write them; every form maps to 1 s .. 23:59:59
    return {
        "duration": '"\\"" ( dur-hours ( " " dur-minutes )? ( " " dur-seconds )? '
                    '| dur-minutes-60 " minutes" ( " " dur-seconds )? | dur-seconds-alone " seconds" ) "\\""',
        "dur-hours": '( [1-9] | "1" [0-9] | "2" [0-3] ) " hours"',
        "dur-minutes": 'dur-minutes-60 " minutes"',
        "dur-seconds": 'dur-minutes-60 " seconds"',
        "dur-minutes-60": '[1-9] | [1-5] [0-9]',
        "dur-seconds-alone": '[1-9] [0-9]? [0-9]? [0-9]?',
    }


def _text_rules(max_chars: int) -> dict[str, str]:
    return {
        "text": f'"\\"" text-first text-char{{0,{max_chars - 1}}} "\\""',
        "text-first": '[^"\\\\\\x00-\\x20] | "\\\\\\"" | "\\\\\\\\"',
        "text-char": '[^"\\\\\\x00-\\x1f] | "\\\\\\"" | "\\\\\\\\"',
    }


_MIME_RULES = {
    "mime": '"\\"" mime-part "/" mime-part "\\""',
    "mime-part": '"*" | [a-zA-Z0-9] [a-zA-Z0-9.+_-]{0,39}',
}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass
class _Builder:
    query: str
    functions: list[Function]
    max_calls: int
    max_chars: int

    def __post_init__(self):
        self.rules: dict[str, str] = {}
        self.starts = span_starts(self.query)
        self.ends = span_ends(self.query)

    def add(self, name: str, body: str) -> str:
        old = self.rules.get(name)
        if old is not None and old != body:
            raise AssertionError(f"rule {name} defined twice")  # a builder bug, not a user error
        self.rules[name] = body
        return name

    # the request's spans: span-body matches text[i:j] (JSON-escaped) for an allowed start i and end j > i;
    # q{j} matches text[j:e] for the allowed ends e >= j, one rule per position (O(n) rules)
    def span_body(self) -> str | None:
        max_end = max(self.ends, default=0)
        starts = [i for i in self.starts if i + 1 <= max_end]
        if not starts:
            return None
        if "span-body" not in self.rules:
            # cont[j]: the rest of a span from position j; "" where it can only end (the last allowed end)
            cont = {max_end: ""}
            for j in range(max_end - 1, 0, -1):
                more = literal(json_char(self.query[j])) + (f" {cont[j + 1]}" if cont[j + 1] else "")
                cont[j] = self.add(f"q{j}", f"( {more} )?" if j in self.ends else more)
            alts = []
            for i in starts:
                first = _first_char(self.query[i])
                alts.append(f"{first} {cont[i + 1]}" if cont.get(i + 1) else first)
            self.add("span-body", " | ".join(alts))
        return "span-body"

    def refs(self, mask: int) -> str | None:
        ids = [k for k in range(self.max_calls) if mask >> k & 1]
        if not ids:
            return None
        return self.add(f"ref-r{mask}", " | ".join(literal(f"result{k}") for k in ids))

    def scalar(self, fn: Function, arg: Arg, spec: dict, mask: int, name: str) -> str | None:
        """The alternatives of one (non-list, non-dict) value, or None when there are none."""
        kind = spec["kind"]
        alts: list[str] = []
        if kind == "int":
            alts.append(self.add(f"int-{spec['min']}-{spec['max']}", int_range(spec["min"], spec["max"])))
        elif kind == "bool":
            alts.append(self.add("bool", '"True" | "False"'))
        elif kind == "choice":
            if not arg.choices:
                raise AssertionError(f"{fn.name}.{arg.name}: kind choice without schema choices")
            alts.append(self.add(f"{name}-choice", " | ".join(literal(json.dumps(c, ensure_ascii=False)) for c in arg.choices)))
        elif kind == "weekday":
            alts.append(self.add("weekday", " | ".join(literal(f'"{d}"') for d in _WEEKDAYS)))
        elif kind in ("span", "span_or_empty"):
            body = self.span_body()
            if body is not None:
                alts.append(self.add("span", f'"\\"" {body} "\\""'))
            if kind == "span_or_empty":
                alts.append('"\\"\\""')
        elif kind == "text":
            for k, v in _text_rules(self.max_chars).items():
                self.add(k, v)
            alts.append("text")
        elif kind == "iso8601":
            for k, v in _iso_rules().items():
                self.add(k, v)
            alts.append("iso8601")
        elif kind == "duration":
            for k, v in _duration_rules().items():
                self.add(k, v)
            alts.append("duration")
        elif kind == "mime":
            for k, v in _MIME_RULES.items():
                self.add(k, v)
            alts.append("mime")
        else:
            raise AssertionError(f"{fn.name}.{arg.name}: unknown value kind {kind!r}")
        if spec.get("refs"):
            ref = self.refs(mask)
            if ref:
                alts.append(ref)
        return " | ".join(alts) if alts else None

    def value(self, fn: Function, arg: Arg, mask: int, name: str) -> str | None:
        """Rule name of the values of ``arg`` (refs allowed to the calls in ``mask``), or None if none is possible."""
        spec = value_specs()["args"][fn.name][arg.name]
        if "items" in spec:
            item = self.scalar(fn, arg, spec["items"], mask, name)
            if item is None:
                body = None
            else:
                item_rule = self.add(f"{name}-item", item)
                body = f'"[" {item_rule} ( ", " {item_rule} ){{0,{spec["max_items"] - 1}}} "]"'
        elif "keys" in spec:
            val = self.scalar(fn, arg, spec["values"], mask, name)
            if val is None:
                body = None
            else:
                val_rule = self.add(f"{name}-value", val)
                keys = [f'{literal(json.dumps(k) + ": ")} {val_rule}' for k in spec["keys"]]
                body = '"{" ' + self.chain(keys, [False] * len(keys), f"{name}-key") + ' "}"'
        else:
            body = self.scalar(fn, arg, spec, mask, name)
        if not arg.required and arg.default is None:
            body = '"None"' if body is None else f'{body} | "None"'
        return None if body is None else self.add(name, body)

    def chain(self, items: list[str], required: list[bool], prefix: str, suffixes: list[str] | None = None) -> str:
        """``items`` in order joined by ", ": required ones present, optional ones not, at least one
        item when none is required. Returns the expression of the whole list; its tails are rules
        named prefix-N plus the suffix of the first item in them that has one (a mask variant)."""
        n = len(items)
        suffixes = suffixes or [""] * n
        tails: list[str | None] = [None] * (n + 1)  # tails[i]: ", " items[i:] in order (None = empty)
        for i in range(n - 1, 0, -1):  # the first item is never preceded by ", ": no tails[0]
            part = f'", " {items[i]}'
            rest = f" {tails[i + 1]}" if tails[i + 1] else ""
            suffix = next((x for x in suffixes[i:] if x), "")
            tails[i] = self.add(f"{prefix}-{i}{suffix}", f"{part}{rest}" if required[i] else f"( {part} )?{rest}")
        # the first item written: any optional one before the first required one, or the first required one
        alts = []
        for i in range(n):
            alts.append(items[i] + (f" {tails[i + 1]}" if tails[i + 1] else ""))
            if required[i]:
                break
        head = " | ".join(alts)
        return f"( {head} )" if len(alts) > 1 else head

    def call(self, fn: Function, mask: int) -> str | None:
        """Rule name of a call of ``fn`` that may reference the calls in ``mask`` (None if impossible).
        Only the rules that hold a reference get a ``-rMASK`` variant; the others are shared."""
        base = _rule_name(fn.name)
        specs = value_specs()["args"].get(fn.name, {})
        items, required, suffixes = [], [], []
        for a in fn.args:
            suffix = f"-r{mask}" if mask and _takes_refs(specs[a.name]) else ""
            v = self.value(fn, a, mask, f"{base}-{_rule_name(a.name)}{suffix}")
            if v is None:
                if a.required:
                    return None
                continue
            items.append(f"{literal(a.name + '=')} {v}")
            required.append(a.required)
            suffixes.append(suffix)
        inner = ""
        if items:
            inner = " " + self.chain(items, required, base + "-arg", suffixes)
            if not any(required):  # a function whose arguments are all optional may be called with none
                inner = f" ( {inner[1:]} )?"
        suffix = next((x for x in suffixes if x), "")
        return self.add(f"call-{base}{suffix}", f"{literal(fn.name + '(')}{inner} {literal(')')}")

    def line(self, k: int, mask: int) -> str | None:
        """Rule for line k onward, given the earlier calls that return something (bitmask)."""
        name = f"line{k}-r{mask}"
        if name in self.rules:
            return name
        ret, noret = [], []
        for fn in self.functions:
            c = self.call(fn, mask)
            if c is not None:
                (noret if fn.returns_type == "None" else ret).append(c)
        alts = []
        for group, nxt_mask, label in ((ret, mask | (1 << k), "returning"), (noret, mask, "plain")):
            if not group:
                continue
            g = self.add(f"calls-{label}-r{mask}", " | ".join(group)) if len(group) > 1 else group[0]
            nxt = self.line(k + 1, nxt_mask) if k + 1 < self.max_calls else None
            alts.append(f'{g} ( "\\n" {nxt} )?' if nxt else g)
        if not alts:
            return None
        return self.add(name, f"{literal(f'result{k} = ')} ( {' | '.join(alts)} )" if len(alts) > 1
                        else f"{literal(f'result{k} = ')} {alts[0]}")

    def text(self) -> str:
        first = self.line(0, 0)
        if first is None:
            raise GrammarError("no valid call exists for this request with these function docs")
        self.rules["root"] = first
        names = ["root"] + sorted(n for n in self.rules if n != "root")
        out = [f"# {GRAMMAR_VERSION}: the valid outputs for one request; see phonelm_export/intents/grammar.py"]
        out += [f"{n} ::= {self.rules[n]}" for n in names]
        return "\n".join(out) + "\n"


def _takes_refs(spec: dict) -> bool:
    return bool(spec.get("refs") or spec.get("items", {}).get("refs") or spec.get("values", {}).get("refs"))


def call_grammar(query: str, functions: Sequence[str], *, max_calls: int | None = None) -> str:
    """The GBNF text of the valid Call outputs for ``query`` with the docs of ``functions`` shown.

    Raises GrammarError when no call is possible (a request without any word for the functions
    that need one), KeyError for an unknown function name.
    """
    specs = value_specs()
    fns = [FUNCTIONS[n] for n in dict.fromkeys(functions)]
    b = _Builder(query, fns, max_calls or specs["max_calls"], specs["max_chars"])
    return b.text()
