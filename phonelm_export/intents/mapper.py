"""Turn parsed calls into Android intents, as data (the twin of ``IntentMapper.java``).

``map_call(call_name, args)`` validates one call against the schema (unknown function,
unknown or missing argument, bad type, bad value) and returns an :class:`Intent` (action,
data URI, MIME type, categories, typed extras) or a :class:`ContactQuery` (the two
``get_contact_info*`` functions read the contacts provider instead of firing an intent).
Every problem is a :class:`MappingError`; nothing else escapes.

The rest of the pipeline lives beside it, split as in ``android_demo/core``: the result types
(:mod:`.intent_types`), value conversions (:mod:`.conversions`), the simulated phone
(:mod:`.device`) and running a whole output (:mod:`.planner`, ``plan``). The names are
re-exported here, so ``from phonelm_export.intents.mapper import plan`` keeps working.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from . import android_values as A
from .conversions import duration_seconds, iso_to_epoch_ms, url_encode
from .intent_types import ContactQuery, Extra, Intent, MappingError, Step
from .schema import FUNCTIONS, Function
from .values import WHITESPACE, type_name

_MIME = re.compile(r"(\*|[A-Za-z0-9][A-Za-z0-9.+_-]*)/(\*|[A-Za-z0-9][A-Za-z0-9.+_-]*)")


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



# --- one mapping per function (a: normalized arguments, n: the function's name) --------------

def _set_alarm(n: str, a: dict, tz: str) -> Intent:
    if not 0 <= a["EXTRA_HOUR"] <= 23:
        raise _bad(n, "EXTRA_HOUR", f"must be 0 to 23, got {a['EXTRA_HOUR']}")
    if not 0 <= a["EXTRA_MINUTES"] <= 59:
        raise _bad(n, "EXTRA_MINUTES", f"must be 0 to 59, got {a['EXTRA_MINUTES']}")
    extras = [Extra(A.EXTRA_HOUR, "int", a["EXTRA_HOUR"]), Extra(A.EXTRA_MINUTES, "int", a["EXTRA_MINUTES"])]
    if a["EXTRA_MESSAGE"]:
        extras.append(Extra(A.EXTRA_MESSAGE, "string", a["EXTRA_MESSAGE"]))
    if a["EXTRA_DAYS"] is not None:
        extras.append(Extra(A.EXTRA_DAYS, "int_list", _weekdays(n, a["EXTRA_DAYS"])))
    if a["EXTRA_RINGTONE"] is not None:
        extras.append(Extra(A.EXTRA_RINGTONE, "string", a["EXTRA_RINGTONE"]))
    extras.append(Extra(A.EXTRA_VIBRATE, "boolean", a["EXTRA_VIBRATE"]))
    extras.append(Extra(A.EXTRA_SKIP_UI, "boolean", a["EXTRA_SKIP_UI"]))
    return Intent(A.ACTION_SET_ALARM, extras=extras)


def _weekdays(n: str, names: list[str]) -> list[int]:
    days: list[int] = []
    for d in names:
        key = d.strip(WHITESPACE).lower()
        num = A.CALENDAR_DAYS.get(key) or next(
            (v for k, v in A.CALENDAR_DAYS.items() if len(key) >= 3 and k.startswith(key)), None
        )
        if num is None:
            raise _bad(n, "EXTRA_DAYS", f"has an unknown weekday '{d}'")
        if num not in days:
            days.append(num)
    return days


def _set_timer(n: str, a: dict, tz: str) -> Intent:
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


def _insert_event(n: str, a: dict, tz: str) -> Intent:
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


def _pick(n: str, a: dict, tz: str) -> Intent:
    mime = {"ALL": A.CONTACTS_CONTENT_TYPE, "PHONE": A.PHONE_CONTENT_TYPE,
            "EMAIL": A.EMAIL_CONTENT_TYPE, "ADDRESS": A.POSTAL_CONTENT_TYPE}[a["data_type"]]
    return Intent(A.ACTION_PICK, type=mime, returns="uri")


def _edit_contact(n: str, a: dict, tz: str) -> Intent:
    extras = _contact_extras(n, a["contact_info"] or {})
    extras.append(Extra(A.EXTRA_FINISH_ON_SAVE, "boolean", True))
    return Intent(A.ACTION_EDIT, data=_nonempty(n, "contact_uri", a["contact_uri"]), extras=extras)


def _insert_contact(n: str, a: dict, tz: str) -> Intent:
    if not a["contact_info"]:
        raise _bad(n, "contact_info", "must not be empty")
    return Intent(A.ACTION_INSERT, type=A.RAW_CONTACTS_CONTENT_TYPE, extras=_contact_extras(n, a["contact_info"]))


def _send_email(n: str, a: dict, tz: str) -> Intent:
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


def _send_message(n: str, a: dict, tz: str) -> Intent:
    phone = _nonempty(n, "phone_number", a["phone_number"])
    extras = [Extra("sms_body", "string", a["body"])]
    if a["subject"]:
        extras.append(Extra("subject", "string", a["subject"]))
    if not a["attachments"]:
        return Intent(A.ACTION_SENDTO, data="smsto:" + url_encode(phone), extras=extras)
    action, streams = _streams(a["attachments"])
    return Intent(action, type="*/*", extras=[Extra("address", "string", phone)] + extras + streams)


def _get_content(n: str, a: dict, tz: str) -> Intent:
    many = a["allow_multiple"]
    return Intent(A.ACTION_GET_CONTENT, type=_mime(n, "mime_type", a["mime_type"]),
                  categories=[A.CATEGORY_OPENABLE],
                  extras=[Extra(A.EXTRA_ALLOW_MULTIPLE, "boolean", many)],
                  returns="uri_list" if many else "uri")


def _open_document(n: str, a: dict, tz: str) -> Intent:
    types = [_mime(n, "mime_types", t) for t in a["mime_types"]]
    if not types:
        raise _bad(n, "mime_types", "must not be empty")
    many = a["allow_multiple"]
    extras = [Extra(A.EXTRA_MIME_TYPES, "string_array", types)] if len(types) > 1 else []
    extras.append(Extra(A.EXTRA_ALLOW_MULTIPLE, "boolean", many))
    return Intent(A.ACTION_OPEN_DOCUMENT, type=types[0] if len(types) == 1 else "*/*",
                  categories=[A.CATEGORY_OPENABLE], extras=extras,
                  returns="uri_list" if many else "uri")


def _create_document(n: str, a: dict, tz: str) -> Intent:
    return Intent(A.ACTION_CREATE_DOCUMENT, type=_mime(n, "mime_type", a["mime_type"]),
                  categories=[A.CATEGORY_OPENABLE],
                  extras=[Extra(A.EXTRA_TITLE, "string", _nonempty(n, "initial_name", a["initial_name"]))],
                  returns="uri")


def _web_search(n: str, a: dict, tz: str) -> Intent:
    q = url_encode(_nonempty(n, "query", a["query"]))
    base = "https://www.google.com/search?q=" if a["engine"] == "google" else "https://www.baidu.com/s?wd="
    return Intent(A.ACTION_VIEW, data=base + q)


_MAPPINGS: dict[str, Callable[[str, dict, str], Intent | ContactQuery]] = {
    "ACTION_SET_ALARM": _set_alarm,
    "ACTION_SET_TIMER": _set_timer,
    "ACTION_SHOW_ALARMS": lambda n, a, tz: Intent(A.ACTION_SHOW_ALARMS),
    "ACTION_INSERT_EVENT": _insert_event,
    "ACTION_IMAGE_CAPTURE": lambda n, a, tz: Intent(A.ACTION_IMAGE_CAPTURE, returns="uri"),
    "ACTION_VIDEO_CAPTURE": lambda n, a, tz: Intent(A.ACTION_VIDEO_CAPTURE, returns="uri"),
    "INTENT_ACTION_STILL_IMAGE_CAMERA": lambda n, a, tz: Intent(A.INTENT_ACTION_STILL_IMAGE_CAMERA),
    "INTENT_ACTION_VIDEO_CAMERA": lambda n, a, tz: Intent(A.INTENT_ACTION_VIDEO_CAMERA),
    "ACTION_PICK": _pick,
    "get_contact_info": lambda n, a, tz: ContactQuery("name", _nonempty(n, "name", a["name"]), a["key"]),
    "get_contact_info_from_uri": lambda n, a, tz: ContactQuery("uri", _nonempty(n, "contact_uri", a["contact_uri"]), a["key"]),
    "ACTION_VIEW_CONTACT": lambda n, a, tz: Intent(A.ACTION_VIEW, data=_nonempty(n, "contact_uri", a["contact_uri"])),
    "ACTION_EDIT_CONTACT": _edit_contact,
    "ACTION_INSERT_CONTACT": _insert_contact,
    "send_email": _send_email,
    "send_message": _send_message,
    "ACTION_GET_RINGTONE": lambda n, a, tz: Intent(A.ACTION_RINGTONE_PICKER, returns="uri"),
    "ACTION_GET_CONTENT": _get_content,
    "ACTION_OPEN_DOCUMENT": _open_document,
    "ACTION_CREATE_DOCUMENT": _create_document,
    "dial": lambda n, a, tz: Intent(A.ACTION_DIAL, data="tel:" + url_encode(_nonempty(n, "phone_number", a["phone_number"]))),
    "web_search": _web_search,
    "search_location": lambda n, a, tz: Intent(A.ACTION_VIEW, data="geo:0,0?q=" + url_encode(_nonempty(n, "query", a["query"]))),
    "open_settings": lambda n, a, tz: Intent(A.SETTINGS_ACTIONS[a["setting_type"]]),
}


def map_call(name: str, args: dict[str, Any], tz: str = "UTC") -> Intent | ContactQuery:
    """One call (references already resolved) as an Intent or a ContactQuery; MappingError if invalid."""
    fn = FUNCTIONS.get(name)
    if fn is None:
        raise MappingError("unknown_function", f"unknown function '{name}'")
    a = normalize_arguments(fn, args)
    mapping = _MAPPINGS.get(name)
    if mapping is None:
        raise AssertionError(f"no mapping for {name}")  # every schema function is mapped (tested)
    return mapping(name, a, tz)


# re-exported: the planner and the simulated phone used to live in this module
from .device import DryRunDevice, SimulatedDevice  # noqa: E402


def __getattr__(name: str):
    if name == "plan":  # lazily: planner imports map_call from here
        from .planner import plan

        return plan
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ContactQuery", "DryRunDevice", "Extra", "Intent", "MappingError", "SimulatedDevice", "Step",
    "duration_seconds", "iso_to_epoch_ms", "map_call", "normalize_arguments", "plan", "type_name", "url_encode",
]
