"""Synthetic intent-calling examples for training and evaluating the Call model.

Templates are data: ``data/phrasings.json`` holds groups of query phrasings that share one
target output written in DroidCall code with ``{slot}`` / ``{slot.attr}`` placeholders;
``data/slots.json`` holds the word lists slot values come from.

Splits are disjoint **by construction**:

* ``train``: the groups' ``train`` phrasings with slot values from the train partition.
* ``heldout``: the same phrasings with slot values from the held-out partition. Open-ended
  slots (names, numbers, times, dates, messages, places, ...) are partitioned by a stable hash
  of the value itself, so a held-out name or time never occurs in train. Closed slots (a setting
  page, a contact field, a search engine — the model must see every choice in training) are
  partitioned by a hash of (phrasing, choices): held-out combinations never occur in train.
  Phrasings without slots cannot be held out by value and only appear in ``train``.
* ``heldout_phrasing``: the groups' ``heldout`` phrasings, never used for train; slot values
  from the train partition, so this split measures phrasing generalization alone.

Multi-intent requests (:func:`make_multi_examples`, templates in ``data/multi.json``) follow the
same three splits: two single-intent phrasings of the split joined by a connector of the split
("{a}, then {b}"; the held-out connectors only in ``heldout_phrasing``), or one request whose later
call takes an earlier call's result (``find Bob's email and send him ...``). Each part's values are
drawn by the rules above, so a ``heldout`` multi-intent row holds only held-out values.

Each example is ``{"query", "functions", "output", "calls"}``: ``functions`` names the docs to
show (the needed ones plus BM25-retrieved or random distractors, 2-3 in all, shuffled), ``output``
the exact target text (one ``resultN = f(...)`` line per call), ``calls`` the structured calls
(``{"id", "name", "arguments"}``, references as ``{"$ref": n}``).
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from functools import lru_cache
from typing import Any

from .calls import Call, ResultRef, render_calls, render_value
from .parser import parse_calls
from .retrieval import select_docs
from .schema import FUNCTION_NAMES, data_text

SPLITS = ("train", "heldout", "heldout_phrasing")
HELDOUT_SHARE = 5  # one value (or combination) in five is held out
_PLACEHOLDER = re.compile(r"\{([a-z]+)([0-9]?)(?:\.([a-z]+))?\}")

# slot types whose values are few named choices: partitioned per (phrasing, choices) instead of per value
CLOSED_SLOTS = frozenset({"setting", "key", "pick", "engine", "media", "doctype", "days"})

_SETTINGS = {
    "wireless": ["wireless", "network"], "airplane_mode": ["airplane mode", "flight mode"],
    "wifi": ["wifi", "Wi-Fi"], "apn": ["APN", "access point"], "bluetooth": ["bluetooth"],
    "date": ["date and time", "clock"], "locale": ["language", "locale"], "input_method": ["keyboard", "input method"],
    "display": ["display", "screen"], "security": ["security", "lock screen"], "location": ["location", "GPS"],
    "internal_storage": ["storage", "internal storage"], "memory_card": ["SD card", "memory card"],
}
_KEYS = [("email", "email"), ("email address", "email"), ("phone number", "phone"), ("number", "phone"),
         ("address", "address"), ("home address", "address")]
_PICKS = [("contact", "ALL"), ("phone number", "PHONE"), ("email address", "EMAIL"), ("address", "ADDRESS")]
_ENGINES = [("Google", "google"), ("Baidu", "baidu")]
_MEDIA = [("an image", "images", "image/*"), ("a photo", "photos", "image/*"), ("a video", "videos", "video/*"),
          ("a song", "songs", "audio/*"), ("an audio file", "audio files", "audio/*"), ("a contact card", "contact cards", "text/x-vcard")]
_DOCTYPES = [("a PDF", "application/pdf"), ("a text file", "text/plain"), ("a CSV file", "text/csv"),
             ("an HTML page", "text/html")]
_DOCKINDS = [("text file", "text/plain", ".txt"), ("PDF", "application/pdf", ".pdf"), ("CSV file", "text/csv", ".csv")]
_WEEK = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class Slot:
    """One slot value: ``text`` goes into the query, ``value`` (and ``attrs``) into the output."""

    def __init__(self, key: str, text: str, value: Any = None, **attrs: Any):
        self.key = key  # what the train/held-out partition hashes
        self.text = text
        self.value = text if value is None else value
        self.attrs = attrs


@lru_cache(maxsize=None)
def _pools() -> dict:
    return json.loads(data_text("slots.json"))


@lru_cache(maxsize=None)
def groups() -> list[dict]:
    return json.loads(data_text("phrasings.json"))["groups"]


def _bucket(key: str) -> str:
    h = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    return "heldout" if h % HELDOUT_SHARE == 0 else "train"


def _time_text(rng: random.Random, h: int, m: int) -> str:
    h12 = h % 12 or 12
    ampm = "am" if h < 12 else "pm"
    forms = [f"{h12}:{m:02d} {ampm}", f"{h:02d}:{m:02d}"]
    if m == 0:
        forms += [f"{h12} {ampm}", f"{h12}{ampm}"]
    if h < 12 and h != 0:
        forms.append(f"{h}:{m:02d}")  # morning times are read as morning
    return rng.choice(forms)


def _draw(kind: str, rng: random.Random) -> Slot:
    p = _pools()
    if kind in ("name", "subject", "body", "label", "place", "search", "company", "street"):
        v = rng.choice(p[kind])
        return Slot(v, v)
    if kind == "event":
        v = rng.choice(p["event"])
        return Slot(v, v, title=v[0].upper() + v[1:])
    if kind == "email":
        first = rng.choice([n for n in p["name"] if " " not in n]).lower()
        v = f"{first}{rng.choice(['.', '_', ''])}{rng.choice(p['last_name'])}@{rng.choice(p['domain'])}"
        return Slot(v, v)
    if kind == "phone":
        n = rng.choice([7, 8, 10, 11])
        v = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(n - 1))
        return Slot(v, v)
    if kind == "time":
        h, m = rng.randint(0, 23), rng.randrange(0, 60, 5)
        return Slot(f"{h}:{m}", _time_text(rng, h, m), None, hour=h, minute=m)
    if kind == "duration":
        form = rng.randrange(4)
        if form == 0:
            n = rng.randint(1, 59)
            return Slot(f"{n}m", f"{n} minute" + ("s" if n > 1 else ""), f"{n} minutes")
        if form == 1:
            n = rng.randrange(10, 60, 5)
            return Slot(f"{n}s", f"{n} seconds", f"{n} seconds")
        if form == 2:
            n = rng.randint(1, 9)
            return Slot(f"{n}h", f"{n} hour" + ("s" if n > 1 else ""), f"{n} hours")
        h, m = rng.randint(1, 5), rng.randrange(5, 60, 5)
        text = f"{h} hour{'s' if h > 1 else ''} and {m} minutes"
        return Slot(f"{h}h{m}m", text, f"{h} hours {m} minutes")
    if kind in ("datetime", "date"):
        y, mo, d = rng.choice([2025, 2026, 2027]), rng.randint(1, 12), rng.randint(1, 28)
        day = f"{p['month'][mo - 1]} {d}, {y}"
        if kind == "date":
            return Slot(f"{y}-{mo}-{d}", day, None, iso=f"{y:04d}-{mo:02d}-{d:02d}")
        h, m = rng.randint(7, 21), rng.choice([0, 15, 30, 45])
        return Slot(f"{y}-{mo}-{d}T{h}:{m}", f"{day} at {_time_text(rng, h, m)}", None,
                    iso=f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{m:02d}:00")
    if kind == "doc":
        kind_text, mime, ext = rng.choice(_DOCKINDS)
        base = rng.choice(p["file"])
        return Slot(f"{kind_text}/{base}", f"{kind_text} called {base}", None, mime=mime,
                    name=base.replace(" ", "_") + ext)
    if kind == "setting":
        key = rng.choice(sorted(_SETTINGS))
        return Slot(key, rng.choice(_SETTINGS[key]), key)
    if kind == "key":
        text, v = rng.choice(_KEYS)
        return Slot(v, text, v)
    if kind == "pick":
        text, v = rng.choice(_PICKS)
        return Slot(v, text, v)
    if kind == "engine":
        text, v = rng.choice(_ENGINES)
        return Slot(v, text, v)
    if kind == "media":
        text, plural, mime = rng.choice(_MEDIA)
        return Slot(mime, text, mime, plural=plural)
    if kind == "doctype":
        text, mime = rng.choice(_DOCTYPES)
        return Slot(mime, text, mime)
    if kind == "days":
        form = rng.randrange(5)
        if form == 0:
            d = rng.choice(_WEEK)
            return Slot(d, f"every {d}", [d])
        if form == 1:
            a, b = sorted(rng.sample(range(7), 2))
            return Slot(f"{a}{b}", f"every {_WEEK[a]} and {_WEEK[b]}", [_WEEK[a], _WEEK[b]])
        if form == 2:
            return Slot("weekdays", "on weekdays", _WEEK[:5])
        if form == 3:
            return Slot("weekend", "on weekends", _WEEK[5:])
        return Slot("daily", "every day", list(_WEEK))
    raise KeyError(f"unknown slot type '{kind}'")


def _slot_names(template: str, out: str) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for text in (template, out):
        for m in _PLACEHOLDER.finditer(text):
            seen.setdefault(m.group(1) + m.group(2), m.group(1))
    return list(seen.items())


def _fill_query(template: str, slots: dict[str, Slot]) -> str:
    def sub(m):
        s = slots[m.group(1) + m.group(2)]
        return str(s.attrs[m.group(3)]) if m.group(3) else s.text
    return _PLACEHOLDER.sub(sub, template)


def _fill_output(out: str, slots: dict[str, Slot]) -> str:
    def sub(m):
        s = slots[m.group(1) + m.group(2)]
        return render_value(s.attrs[m.group(3)] if m.group(3) else s.value)
    return _PLACEHOLDER.sub(sub, out)


def _sample_slots(rng: random.Random, phrasing_id: str, names, bucket: str, tries: int = 200):
    """Slot values whose partition is ``bucket`` (None when the phrasing cannot give one)."""
    for _ in range(tries):
        slots: dict[str, Slot] = {}
        ok = True
        for name, kind in names:
            for _ in range(50):
                s = _draw(kind, rng)
                if kind in CLOSED_SLOTS:
                    break
                taken = {x.key for x in slots.values()}
                if _bucket(f"{kind}:{s.key}") == bucket and s.key not in taken:
                    break
            else:
                ok = False
                break
            slots[name] = s
        if not ok:
            continue
        closed = [f"{n}={slots[n].key}" for n, k in names if k in CLOSED_SLOTS]
        if closed and _bucket(phrasing_id + "|" + "|".join(closed)) != bucket:
            continue
        return slots
    return None


def _choose_docs(rng: random.Random, query: str, needed: list[str]) -> list[str]:
    total = max(len(needed), rng.choice([2, 3]) if len(needed) == 1 else 3)
    pool = [n for n in select_docs(query, k=len(needed) + 3) if n not in needed]
    out = list(needed)
    while len(out) < total:
        if pool and rng.random() < 0.7:
            out.append(pool.pop(0))
        else:
            choice = rng.choice([n for n in FUNCTION_NAMES if n not in out])
            out.append(choice)
            if choice in pool:
                pool.remove(choice)
    rng.shuffle(out)
    return out


def _phrasings(split: str) -> list[tuple[str, dict, str]]:
    """(phrasing id, group, template) usable in ``split``."""
    out = []
    for g in groups():
        source = g["heldout"] if split == "heldout_phrasing" else g["train"]
        for i, t in enumerate(source):
            pid = f"{g['id']}/{'h' if split == 'heldout_phrasing' else 't'}{i}"
            out_text = "\n".join(g["out"]) if isinstance(g["out"], list) else g["out"]
            if split == "heldout" and not _slot_names(t, out_text):
                continue  # nothing to hold out: the phrasing is the whole query
            out.append((pid, g, t))
    return out


@lru_cache(maxsize=None)
def _multi() -> dict:
    return json.loads(data_text("multi.json"))


# a first part ending in free text would swallow the connector ("text Anna I'll be late and ..."
# has no single reading), so those phrasings only come second
_OPEN_END = re.compile(r"\{(?:body|label|search|subject|event|place|street|company)[0-9]?\}[.!?]?$")
MAX_MULTI_FUNCTIONS = 3  # the app retrieves 3 docs: a request needing more could never be right


def _part(rng: random.Random, pid: str, g: dict, template: str, bucket: str):
    """One filled phrasing: (query text, calls) or None when no values of ``bucket`` fit."""
    out_text = "\n".join(g["out"]) if isinstance(g["out"], list) else g["out"]
    slots = _sample_slots(rng, pid, _slot_names(template, out_text), bucket)
    if slots is None:
        return None
    return _fill_query(template, slots), parse_calls(_fill_output(out_text, slots))


def _shifted(calls: list[Call], by: int) -> list[Call]:
    """``calls`` renumbered to follow ``by`` earlier calls (their ``resultN`` references too)."""
    def v(x):
        if isinstance(x, ResultRef):
            return ResultRef(x.n + by)
        if isinstance(x, list):
            return [v(y) for y in x]
        if isinstance(x, dict):
            return {k: v(y) for k, y in x.items()}
        return x
    return [Call(c.id + by, c.name, {k: v(a) for k, a in c.arguments.items()}) for c in calls]


def _multi_phrasings(split: str) -> list[tuple[str, dict, str]]:
    """Dependent multi-call phrasings (data/multi.json groups) usable in ``split``."""
    held = split == "heldout_phrasing"
    out = []
    for g in _multi()["groups"]:
        for i, t in enumerate(g["heldout"] if held else g["train"]):
            out.append((f"multi:{g['id']}/{'h' if held else 't'}{i}", g, t))
    return out


def make_multi_examples(n: int, seed: int = 0, split: str = "train") -> list[dict]:
    """``n`` multi-intent examples of ``split``: two joined requests (2/3 of them) or one request
    whose later call uses an earlier result, deterministic in ``seed``. Same row shape as
    :func:`make_call_examples` plus ``source`` (the phrasing ids and connector used); every
    example needs two or more calls."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    rng = random.Random(f"{seed}:multi:{split}")
    bucket = "train" if split in ("train", "heldout_phrasing") else "heldout"
    singles = _phrasings(split)
    firsts = [c for c in singles if not _OPEN_END.search(c[2])]
    dependent = _multi_phrasings(split)
    connectors = _multi()["connectors"]["heldout" if split == "heldout_phrasing" else "train"]
    examples: list[dict] = []
    failures = 0
    while len(examples) < n:
        if rng.random() < 1 / 3:
            pid, g, t = rng.choice(dependent)
            part = _part(rng, pid, g, t, bucket)
            if part is None:
                failures += 1
                continue
            query, calls = part
            source = {"phrasings": [pid], "connector": None}
        else:
            a, b = rng.choice(firsts), rng.choice(singles)
            if a[1]["id"] == b[1]["id"]:
                continue
            pa, pb = _part(rng, *a, bucket), _part(rng, *b, bucket)
            if pa is None or pb is None:
                failures += 1
                if failures > 10 * n + 1000:
                    raise RuntimeError(f"cannot draw {split} multi-intent values")  # a data bug
                continue
            connector = rng.choice(connectors)
            query = connector.format(a=pa[0], b=pb[0])
            calls = pa[1] + _shifted(pb[1], len(pa[1]))
            source = {"phrasings": [a[0], b[0]], "connector": connector}
        needed = list(dict.fromkeys(c.name for c in calls))
        if len(needed) > MAX_MULTI_FUNCTIONS:
            continue
        if rng.random() < 0.3:
            query = query[0].upper() + query[1:]
        examples.append({
            "query": query,
            "functions": _choose_docs(rng, query, needed),
            "output": render_calls(calls),
            "calls": [c.to_json() for c in calls],
            "source": source,  # which phrasings and connector built it: the splits' disjointness is checkable
        })
    return examples


def make_call_examples(n: int, seed: int = 0, split: str = "train") -> list[dict]:
    """``n`` examples of ``split`` (train | heldout | heldout_phrasing), deterministic in ``seed``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    rng = random.Random(f"{seed}:{split}")
    bucket = "train" if split in ("train", "heldout_phrasing") else "heldout"
    candidates = _phrasings(split)
    by_group: dict[str, list] = {}
    for c in candidates:
        by_group.setdefault(c[1]["id"], []).append(c)
    group_ids = sorted(by_group)
    examples: list[dict] = []
    failures = 0
    while len(examples) < n:
        pid, g, template = rng.choice(by_group[rng.choice(group_ids)])
        out_text = "\n".join(g["out"]) if isinstance(g["out"], list) else g["out"]
        slots = _sample_slots(rng, pid, _slot_names(template, out_text), bucket)
        if slots is None:
            failures += 1
            if failures > 10 * n + 1000:
                raise RuntimeError(f"cannot draw {split} slot values")  # a data bug, not a user error
            continue
        query = _fill_query(template, slots)
        if rng.random() < 0.3:
            query = query[0].upper() + query[1:]
        calls = parse_calls(_fill_output(out_text, slots))
        needed = list(dict.fromkeys(c.name for c in calls))
        examples.append({
            "query": query,
            "functions": _choose_docs(rng, query, needed),
            "output": render_calls(calls),
            "calls": [c.to_json() for c in calls],
        })
    return examples
