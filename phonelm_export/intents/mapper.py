"""Turn parsed calls into Android intents, as data.

``map_call(call_name, args)`` validates one call against the schema (unknown function,
unknown or missing argument, bad type, bad value) and returns an :class:`Intent` (action,
data URI, MIME type, categories, typed extras) or a :class:`ContactQuery` (the two
``get_contact_info*`` functions read the contacts provider instead of firing an intent).

``plan(calls, device)`` runs a whole model output the way the app does: call by call,
resolving nested ``resultN`` references to what the earlier call actually returned (the
original DroidCall app passed the literal text ``result0`` on). ``device`` answers contact
queries and returns what an intent started for a result would give back;
:class:`SimulatedDevice` does this deterministically for tests and golden vectors,
:class:`DryRunDevice` names results ``resultN`` for the desktop's ``phonelm-export call``.
Errors are per call: a failing call becomes an error step and only the calls that use its
result fail with it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import android_values as A
from .calls import Call, ResultRef
from .parser import WHITESPACE
from .schema import FUNCTIONS, Function


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


# --- value helpers shared by the mappings ----------------------------------------------------

_UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def url_encode(s: str) -> str:
    """Percent-encode everything but RFC 3986 unreserved characters (UTF-8, uppercase hex)."""
    out = []
    for ch in s:
        if ch in _UNRESERVED:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    return "".join(out)


_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)


def iso_to_epoch_ms(text: str, tz: str) -> int:
    """``2024-06-01T09:30[:00[.123]][Z|+08:00]`` (or a date alone) to epoch milliseconds.

    A time without an offset is local time in ``tz`` (an IANA zone, the phone's zone on Android).
    Raises ValueError for anything else.
    """
    m = _ISO.fullmatch(text.strip(WHITESPACE))
    if not m:
        raise ValueError("not an ISO 8601 date/time")
    y, mo, d, hh, mm, ss, frac, off = m.groups()
    ms = int((frac or "0").ljust(3, "0")[:3])
    naive = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0), ms * 1000)
    if off:
        if off == "Z":
            zone = dt_timezone.utc
        else:
            sign = -1 if off[0] == "-" else 1
            digits = off[1:].replace(":", "")
            h, mi = int(digits[:2]), int(digits[2:])
            if mi > 59 or h * 60 + mi > 18 * 60:  # java.time's limit, so both twins agree
                raise ValueError("bad UTC offset")
            zone = dt_timezone(sign * timedelta(hours=h, minutes=mi))
        aware = naive.replace(tzinfo=zone)
    else:
        aware = naive.replace(tzinfo=ZoneInfo(tz))
    return round(aware.replace(microsecond=0).timestamp()) * 1000 + ms


_UNITS = {
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
}
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?) *([a-z]+)")


def duration_seconds(text: str) -> int:
    """``"1 hours 30 minutes"``, ``"90 seconds"``, ``"1h30m"``, ``"1:30:00"`` (h:m:s) or ``"5:00"`` (m:s) to seconds."""
    s = text.strip(WHITESPACE).lower()
    m = _CLOCK.fullmatch(s)
    if m:
        a, b, c = m.groups()
        if c is None:
            total = int(a) * 60 + int(b)
        else:
            total = int(a) * 3600 + int(b) * 60 + int(c)
        if int(b) > 59 or (c is not None and int(c) > 59):
            raise ValueError("not a duration")
        return total
    s = re.sub(r"[,]|(?<![a-z0-9_])and(?![a-z0-9_])", " ", s)
    total = 0.0
    pos = 0
    found = False
    for part in _PART.finditer(s):
        if s[pos:part.start()].strip(WHITESPACE):
            raise ValueError("not a duration")
        unit = _UNITS.get(part.group(2))
        if unit is None:
            raise ValueError("not a duration")
        total += float(part.group(1)) * unit
        pos = part.end()
        found = True
    if not found or s[pos:].strip(WHITESPACE):
        raise ValueError("not a duration")
    return int(math.floor(total + 0.5))


_MIME = re.compile(r"(\*|[A-Za-z0-9][A-Za-z0-9.+_-]*)/(\*|[A-Za-z0-9][A-Za-z0-9.+_-]*)")


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


def _check_type(fn: str, arg: str, typ: str, v: Any) -> Any:
    def bad():
        got = type_name(v)
        if typ == "list[str]" and isinstance(v, list):
            got = "list containing " + next(type_name(x) for x in v if not isinstance(x, str))
        if typ == "dict[str, str]" and isinstance(v, dict):
            got = "dict containing " + next(type_name(x) for x in v.values() if not isinstance(x, str))
        return MappingError("bad_type", f"{fn}(): '{arg}' must be {typ}, got {got}")

    if typ == "int":
        if isinstance(v, bool):
            raise bad()
        if isinstance(v, int):
            return v
        if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
            return int(v)
        raise bad()
    if typ == "str":
        if isinstance(v, str):
            return v
        raise bad()
    if typ == "bool":
        if isinstance(v, bool):
            return v
        raise bad()
    if typ == "list[str]":
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return list(v)
        raise bad()
    if typ == "dict[str, str]":
        if isinstance(v, dict) and all(isinstance(x, str) for x in v.values()):
            return dict(v)
        raise bad()
    raise AssertionError(f"schema type {typ}")


def normalize_arguments(fn: Function, args: dict[str, Any]) -> dict[str, Any]:
    """Validated arguments with defaults filled in (ResultRefs must be resolved already)."""
    for k in args:
        if fn.arg(k) is None:
            raise MappingError("unknown_argument", f"{fn.name}() has no argument '{k}'")
    out: dict[str, Any] = {}
    for a in fn.args:
        v = args.get(a.name)
        if v is None:
            if a.required:
                if a.name in args:
                    raise MappingError("bad_type", f"{fn.name}(): '{a.name}' must be {a.type}, got None")
                raise MappingError("missing_argument", f"{fn.name}() needs the argument '{a.name}'")
            out[a.name] = a.default
            continue
        v = _check_type(fn.name, a.name, a.type, v)
        if a.choices:
            match = [c for c in a.choices if c.lower() == v.lower()]
            if not match:
                raise MappingError(
                    "bad_value", f"{fn.name}(): '{a.name}' must be one of {', '.join(a.choices)}, got '{v}'"
                )
            v = match[0]
        out[a.name] = v
    return out


def _bad(fn: str, arg: str, problem: str) -> MappingError:
    return MappingError("bad_value", f"{fn}(): '{arg}' {problem}")


def _nonempty(fn: str, arg: str, v: str) -> str:
    if not v.strip(WHITESPACE):
        raise _bad(fn, arg, "must not be empty")
    return v


def _mime(fn: str, arg: str, v: str) -> str:
    if not _MIME.fullmatch(v):
        raise _bad(fn, arg, f"is not a MIME type: '{v}'")
    return v


def _contact_extras(fn: str, info: dict[str, str]) -> list[Extra]:
    keys = {"name": A.INSERT_NAME, "email": A.INSERT_EMAIL, "phone": A.INSERT_PHONE,
            "company": A.INSERT_COMPANY, "address": A.INSERT_POSTAL}
    extras = []
    for k, v in info.items():
        if k not in keys:
            raise _bad(fn, "contact_info", f"has an unknown key '{k}' (use name, email, phone, company, address)")
        extras.append(Extra(keys[k], "string", v))
    return extras


def _streams(attachments: list[str]) -> tuple[str, list[Extra]]:
    if len(attachments) == 1:
        return A.ACTION_SEND, [Extra(A.EXTRA_STREAM, "uri", attachments[0])]
    return A.ACTION_SEND_MULTIPLE, [Extra(A.EXTRA_STREAM, "uri_list", list(attachments))]


def map_call(name: str, args: dict[str, Any], tz: str = "UTC") -> Intent | ContactQuery:
    """One call (references already resolved) as an Intent or a ContactQuery; MappingError if invalid."""
    fn = FUNCTIONS.get(name)
    if fn is None:
        raise MappingError("unknown_function", f"unknown function '{name}'")
    a = normalize_arguments(fn, args)
    n = name
    if n == "ACTION_SET_ALARM":
        if not 0 <= a["EXTRA_HOUR"] <= 23:
            raise _bad(n, "EXTRA_HOUR", f"must be 0 to 23, got {a['EXTRA_HOUR']}")
        if not 0 <= a["EXTRA_MINUTES"] <= 59:
            raise _bad(n, "EXTRA_MINUTES", f"must be 0 to 59, got {a['EXTRA_MINUTES']}")
        extras = [Extra(A.EXTRA_HOUR, "int", a["EXTRA_HOUR"]), Extra(A.EXTRA_MINUTES, "int", a["EXTRA_MINUTES"])]
        if a["EXTRA_MESSAGE"]:
            extras.append(Extra(A.EXTRA_MESSAGE, "string", a["EXTRA_MESSAGE"]))
        if a["EXTRA_DAYS"] is not None:
            days = []
            for d in a["EXTRA_DAYS"]:
                key = d.strip(WHITESPACE).lower()
                num = A.CALENDAR_DAYS.get(key) or next(
                    (v for k, v in A.CALENDAR_DAYS.items() if len(key) >= 3 and k.startswith(key)), None
                )
                if num is None:
                    raise _bad(n, "EXTRA_DAYS", f"has an unknown weekday '{d}'")
                if num not in days:
                    days.append(num)
            extras.append(Extra(A.EXTRA_DAYS, "int_list", days))
        if a["EXTRA_RINGTONE"] is not None:
            extras.append(Extra(A.EXTRA_RINGTONE, "string", a["EXTRA_RINGTONE"]))
        extras.append(Extra(A.EXTRA_VIBRATE, "boolean", a["EXTRA_VIBRATE"]))
        extras.append(Extra(A.EXTRA_SKIP_UI, "boolean", a["EXTRA_SKIP_UI"]))
        return Intent(A.ACTION_SET_ALARM, extras=extras)
    if n == "ACTION_SET_TIMER":
        try:
            seconds = duration_seconds(a["duration"])
        except ValueError:
            raise _bad(n, "duration", f"is not a duration: '{a['duration']}'") from None
        if not 1 <= seconds <= 86400:
            raise _bad(n, "duration", f"must be 1 second to 24 hours, got {seconds} seconds")
        extras = [Extra(A.EXTRA_LENGTH, "int", seconds)]
        if a["EXTRA_MESSAGE"]:
            extras.append(Extra(A.EXTRA_MESSAGE, "string", a["EXTRA_MESSAGE"]))
        extras.append(Extra(A.EXTRA_SKIP_UI, "boolean", a["EXTRA_SKIP_UI"]))
        return Intent(A.ACTION_SET_TIMER, extras=extras)
    if n == "ACTION_SHOW_ALARMS":
        return Intent(A.ACTION_SHOW_ALARMS)
    if n == "ACTION_INSERT_EVENT":
        extras = [Extra(A.CAL_TITLE, "string", a["TITLE"]), Extra(A.CAL_DESCRIPTION, "string", a["DESCRIPTION"])]
        if a["EVENT_LOCATION"] is not None:
            extras.append(Extra(A.CAL_EVENT_LOCATION, "string", a["EVENT_LOCATION"]))
        extras.append(Extra(A.CAL_EXTRA_EVENT_ALL_DAY, "boolean", a["EXTRA_EVENT_ALL_DAY"]))
        times = {}
        for arg, key in (("EXTRA_EVENT_BEGIN_TIME", A.CAL_EXTRA_EVENT_BEGIN_TIME),
                         ("EXTRA_EVENT_END_TIME", A.CAL_EXTRA_EVENT_END_TIME)):
            if a[arg] is not None:
                try:
                    times[arg] = iso_to_epoch_ms(a[arg], tz)
                except ValueError:
                    raise _bad(n, arg, f"is not an ISO 8601 time: '{a[arg]}'") from None
                extras.append(Extra(key, "long", times[arg]))
        if len(times) == 2 and times["EXTRA_EVENT_END_TIME"] < times["EXTRA_EVENT_BEGIN_TIME"]:
            raise _bad(n, "EXTRA_EVENT_END_TIME", "is before EXTRA_EVENT_BEGIN_TIME")
        if a["EXTRA_EMAIL"]:
            # CalendarContract reads the invitees as one comma-separated string
            extras.append(Extra(A.EXTRA_EMAIL, "string", ",".join(a["EXTRA_EMAIL"])))
        return Intent(A.ACTION_INSERT, data=A.EVENTS_CONTENT_URI, extras=extras)
    if n == "ACTION_IMAGE_CAPTURE":
        return Intent(A.ACTION_IMAGE_CAPTURE, returns="uri")
    if n == "ACTION_VIDEO_CAPTURE":
        return Intent(A.ACTION_VIDEO_CAPTURE, returns="uri")
    if n == "INTENT_ACTION_STILL_IMAGE_CAMERA":
        return Intent(A.INTENT_ACTION_STILL_IMAGE_CAMERA)
    if n == "INTENT_ACTION_VIDEO_CAMERA":
        return Intent(A.INTENT_ACTION_VIDEO_CAMERA)
    if n == "ACTION_PICK":
        mime = {"ALL": A.CONTACTS_CONTENT_TYPE, "PHONE": A.PHONE_CONTENT_TYPE,
                "EMAIL": A.EMAIL_CONTENT_TYPE, "ADDRESS": A.POSTAL_CONTENT_TYPE}[a["data_type"]]
        return Intent(A.ACTION_PICK, type=mime, returns="uri")
    if n == "get_contact_info":
        return ContactQuery("name", _nonempty(n, "name", a["name"]), a["key"])
    if n == "get_contact_info_from_uri":
        return ContactQuery("uri", _nonempty(n, "contact_uri", a["contact_uri"]), a["key"])
    if n == "ACTION_VIEW_CONTACT":
        return Intent(A.ACTION_VIEW, data=_nonempty(n, "contact_uri", a["contact_uri"]))
    if n == "ACTION_EDIT_CONTACT":
        extras = _contact_extras(n, a["contact_info"] or {})
        extras.append(Extra(A.EXTRA_FINISH_ON_SAVE, "boolean", True))
        return Intent(A.ACTION_EDIT, data=_nonempty(n, "contact_uri", a["contact_uri"]), extras=extras)
    if n == "ACTION_INSERT_CONTACT":
        if not a["contact_info"]:
            raise _bad(n, "contact_info", "must not be empty")
        return Intent(A.ACTION_INSERT, type=A.RAW_CONTACTS_CONTENT_TYPE, extras=_contact_extras(n, a["contact_info"]))
    if n == "send_email":
        if not a["to"]:
            raise _bad(n, "to", "must not be empty")
        extras = [Extra(A.EXTRA_EMAIL, "string_array", a["to"])]
        if a["cc"]:
            extras.append(Extra(A.EXTRA_CC, "string_array", a["cc"]))
        if a["bcc"]:
            extras.append(Extra(A.EXTRA_BCC, "string_array", a["bcc"]))
        extras += [Extra(A.EXTRA_SUBJECT, "string", a["subject"]), Extra(A.EXTRA_TEXT, "string", a["body"])]
        if not a["attachments"]:
            return Intent(A.ACTION_SENDTO, data="mailto:", extras=extras)
        action, streams = _streams(a["attachments"])
        return Intent(action, type="*/*", extras=extras + streams)
    if n == "send_message":
        phone = _nonempty(n, "phone_number", a["phone_number"])
        extras = [Extra("sms_body", "string", a["body"])]
        if a["subject"]:
            extras.append(Extra("subject", "string", a["subject"]))
        if not a["attachments"]:
            return Intent(A.ACTION_SENDTO, data="smsto:" + url_encode(phone), extras=extras)
        action, streams = _streams(a["attachments"])
        return Intent(action, type="*/*", extras=[Extra("address", "string", phone)] + extras + streams)
    if n == "ACTION_GET_RINGTONE":
        return Intent(A.ACTION_RINGTONE_PICKER, returns="uri")
    if n == "ACTION_GET_CONTENT":
        many = a["allow_multiple"]
        return Intent(A.ACTION_GET_CONTENT, type=_mime(n, "mime_type", a["mime_type"]),
                      categories=[A.CATEGORY_OPENABLE],
                      extras=[Extra(A.EXTRA_ALLOW_MULTIPLE, "boolean", many)],
                      returns="uri_list" if many else "uri")
    if n == "ACTION_OPEN_DOCUMENT":
        types = [_mime(n, "mime_types", t) for t in a["mime_types"]]
        if not types:
            raise _bad(n, "mime_types", "must not be empty")
        many = a["allow_multiple"]
        extras = [Extra(A.EXTRA_MIME_TYPES, "string_array", types)] if len(types) > 1 else []
        extras.append(Extra(A.EXTRA_ALLOW_MULTIPLE, "boolean", many))
        return Intent(A.ACTION_OPEN_DOCUMENT, type=types[0] if len(types) == 1 else "*/*",
                      categories=[A.CATEGORY_OPENABLE], extras=extras,
                      returns="uri_list" if many else "uri")
    if n == "ACTION_CREATE_DOCUMENT":
        return Intent(A.ACTION_CREATE_DOCUMENT, type=_mime(n, "mime_type", a["mime_type"]),
                      categories=[A.CATEGORY_OPENABLE],
                      extras=[Extra(A.EXTRA_TITLE, "string", _nonempty(n, "initial_name", a["initial_name"]))],
                      returns="uri")
    if n == "dial":
        return Intent(A.ACTION_DIAL, data="tel:" + url_encode(_nonempty(n, "phone_number", a["phone_number"])))
    if n == "web_search":
        q = url_encode(_nonempty(n, "query", a["query"]))
        base = "https://www.google.com/search?q=" if a["engine"] == "google" else "https://www.baidu.com/s?wd="
        return Intent(A.ACTION_VIEW, data=base + q)
    if n == "search_location":
        return Intent(A.ACTION_VIEW, data="geo:0,0?q=" + url_encode(_nonempty(n, "query", a["query"])))
    if n == "open_settings":
        return Intent(A.SETTINGS_ACTIONS[a["setting_type"]])
    raise AssertionError(f"no mapping for {n}")  # every schema function is mapped (tested)


# --- running a whole output ------------------------------------------------------------------

class SimulatedDevice:
    """A deterministic phone: a contact book, and made-up content URIs for intents with results.

    ``contacts``: list of dicts with name, email, phone, address, uri. ACTION_PICK returns the
    first contact's URI (the user "picks" it); other intents with a result return
    ``content://simulated/<function>/<call id>`` (a one-element list for ``uri_list``).
    """

    def __init__(self, contacts: list[dict] | None = None):
        self.contacts = list(contacts or [])

    def query(self, q: ContactQuery) -> Any:
        for c in self.contacts:
            if (q.by == "name" and c.get("name", "").lower() == q.value.strip(WHITESPACE).lower()) or (
                q.by == "uri" and c.get("uri") == q.value
            ):
                return c.get(q.key)
        return None

    def start(self, call: int, function: str, intent: Intent) -> Any:
        if intent.returns is None:
            return None
        if function == "ACTION_PICK":
            return self.contacts[0]["uri"] if self.contacts else None
        uri = f"content://simulated/{function}/{call}"
        return [uri] if intent.returns == "uri_list" else uri


class DryRunDevice(SimulatedDevice):
    """For the desktop: nothing is executed; the result of call N is the text ``resultN``."""

    def query(self, q: ContactQuery) -> Any:
        return None

    def start(self, call: int, function: str, intent: Intent) -> Any:
        return None


def _resolve(v: Any, results: dict[int, Any], steps: dict[int, Step], fn: str) -> Any:
    if isinstance(v, ResultRef):
        step = steps.get(v.n)
        if step is None:
            raise MappingError("unresolved_reference", f"{fn}(): result{v.n} does not exist")
        if step.error is not None:
            raise MappingError("unresolved_reference", f"{fn}(): result{v.n} is not available (that call failed)")
        value = results.get(v.n)
        if value is None:
            raise MappingError("unresolved_reference", f"{fn}(): result{v.n} has no value ({step.function} returned nothing)")
        return value
    if isinstance(v, list):
        return [_resolve(x, results, steps, fn) for x in v]
    if isinstance(v, dict):
        return {k: _resolve(x, results, steps, fn) for k, x in v.items()}
    return v


def plan(calls: list[Call], device: SimulatedDevice | None = None, tz: str = "UTC") -> list[Step]:
    """Map and "execute" calls in order; each step holds its intent/query or its error, and its result."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{tz}'") from None
    device = device if device is not None else SimulatedDevice()
    dry = isinstance(device, DryRunDevice)
    steps: dict[int, Step] = {}
    results: dict[int, Any] = {}
    out: list[Step] = []
    for call in calls:
        step = Step(call.id, call.name)
        try:
            if dry:
                args = _dry_resolve(call.arguments, steps, call.name)
            else:
                args = _resolve(call.arguments, results, steps, call.name)
            action = map_call(call.name, args, tz)
            if isinstance(action, Intent):
                step.intent = action
                step.result = device.start(call.id, call.name, action)
            else:
                step.query = action
                step.result = device.query(action)
            if dry and (step.intent is None or step.intent.returns is not None):
                step.result = f"result{call.id}"
        except MappingError as e:
            step.error = e
        steps[call.id] = step
        results[call.id] = step.result
        out.append(step)
    return out


def _dry_resolve(v: Any, steps: dict[int, Step], fn: str) -> Any:
    if isinstance(v, ResultRef):
        step = steps.get(v.n)
        if step is not None and step.error is not None:
            raise MappingError("unresolved_reference", f"{fn}(): result{v.n} is not available (that call failed)")
        return f"result{v.n}"
    if isinstance(v, list):
        return [_dry_resolve(x, steps, fn) for x in v]
    if isinstance(v, dict):
        return {k: _dry_resolve(x, steps, fn) for k, x in v.items()}
    return v
