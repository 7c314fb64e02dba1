"""Value conversions the intents need: URL encoding, durations, ISO 8601 times (the twin of
``Conversions.java``). Each raises ValueError for text it does not accept; results stay in the
ranges the Java twin's ``long`` holds, so both give the same answers for absurd inputs.
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

from .values import WHITESPACE

LONG_MAX = 2**63 - 1


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
    naive = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0), ms * 1000)  # ValueError if no such date
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
    try:
        return round(aware.replace(microsecond=0).timestamp()) * 1000 + ms
    except (OverflowError, OSError):  # a date at the edge of datetime's range
        raise ValueError("not an ISO 8601 date/time") from None


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
    # "<400 nines> hours" is inf: saturate like Java's (long) cast, so the caller's range check
    # reports it (the twin gives the same number)
    rounded = math.floor(total + 0.5) if math.isfinite(total) else LONG_MAX
    return int(min(rounded, LONG_MAX))
