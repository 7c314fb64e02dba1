"""The call grammar's golden vectors (tests/golden/intents/grammar.json): the Python builder
writes exactly the stored GBNF for every request + docs case; the Android core's JVM test
(GrammarGoldenTest, run by tests/test_android_core.py) checks its twin against the same file.

Regenerate after an intended grammar change: ``python tests/test_intents_grammar_golden.py``.
"""
import json
import sys
from pathlib import Path

import pytest

from phonelm_export.intents.grammar import GrammarError, call_grammar
from phonelm_export.intents.schema import FUNCTIONS

GOLDEN = Path(__file__).parent / "golden" / "intents" / "grammar.json"

# requests chosen to reach every value kind, every escape and boundary rule of the spans,
# functions without arguments, and the reference tracking; each function appears at least once
CASES = [
    ("wake me up at 7:30 tomorrow", ["ACTION_SET_ALARM", "ACTION_SET_TIMER", "ACTION_SHOW_ALARMS"]),
    ("set a 10 minute timer for tea", ["ACTION_SET_TIMER", "ACTION_SHOW_ALARMS"]),
    ("Add dentist appointment at Main St. on June 1, 2026 at 9 am", ["ACTION_INSERT_EVENT", "web_search"]),
    ("take a photo and email it to anna.smith@example.com with subject Hi: see you", ["ACTION_IMAGE_CAPTURE", "send_email", "ACTION_VIDEO_CAPTURE"]),
    ("open the camera", ["INTENT_ACTION_STILL_IMAGE_CAMERA", "INTENT_ACTION_VIDEO_CAMERA", "ACTION_PICK"]),
    ("text Anna I'll be late", ["get_contact_info", "send_message", "dial"]),
    ("let me pick a contact and get their email", ["ACTION_PICK", "get_contact_info_from_uri", "ACTION_VIEW_CONTACT"]),
    ("change Bo's number to 5550101", ["get_contact_info", "ACTION_EDIT_CONTACT"]),
    ("save 5550101 as José Müller", ["ACTION_INSERT_CONTACT", "dial"]),
    ("pick a ringtone, then wake me at 6 with it", ["ACTION_GET_RINGTONE", "ACTION_SET_ALARM"]),
    ("let me choose several photos", ["ACTION_GET_CONTENT", "ACTION_OPEN_DOCUMENT", "ACTION_CREATE_DOCUMENT"]),
    ('search for "C:\\temp" files\ton google  ', ["web_search", "search_location"]),
    ("where does 李雷 live?", ["get_contact_info", "search_location"]),
    ("open wifi settings", ["open_settings"]),
    ("set an alarm at 7 and text 5550101 on my way", ["ACTION_SET_ALARM", "send_message", "get_contact_info", "open_settings"]),
    ("smile \U0001F600 at Ann", ["send_message"]),
    ("show Anna\u2019s contact and tell her we\u2019re late, don't wait", ["get_contact_info", "ACTION_VIEW_CONTACT", "send_message"]),
]
ERROR_CASES = [
    ("", ["dial"]),
    ("   ", ["web_search", "search_location"]),
]


def build_cases() -> dict:
    out = {"format": "phonelm-export call grammar golden vectors: query + functions -> the GBNF text both twins build",
           "cases": [], "errors": []}
    for query, fns in CASES:
        out["cases"].append({"query": query, "functions": fns, "grammar": call_grammar(query, fns)})
    for query, fns in ERROR_CASES:
        with pytest.raises(GrammarError) as e:
            call_grammar(query, fns)
        out["errors"].append({"query": query, "functions": fns, "error": str(e.value)})
    return out


def load():
    if not GOLDEN.is_file() and __name__ == "__main__":
        return {"cases": [], "errors": []}  # being regenerated
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_golden_cases_reach_every_function_and_value_kind():
    data = load()
    seen = {f for c in data["cases"] for f in c["functions"]}
    assert seen == set(FUNCTIONS)
    text = "".join(c["grammar"] for c in data["cases"])
    for rule in ("iso8601 ::=", "duration ::=", "mime ::=", "weekday ::=", "text ::=", "span-body ::=",
                 "ref-r1 ::=", "int-0-23 ::=", "bool ::=", "-choice ::="):
        assert rule in text, rule
    assert data["errors"], "the no-valid-call error is pinned too"


@pytest.mark.parametrize("case", load()["cases"], ids=lambda c: c["query"][:40])
def test_python_builds_the_golden_grammar(case):
    assert call_grammar(case["query"], case["functions"]) == case["grammar"]


@pytest.mark.parametrize("case", load()["errors"], ids=lambda c: repr(c["query"]))
def test_python_refuses_the_golden_impossible_requests(case):
    with pytest.raises(GrammarError) as e:
        call_grammar(case["query"], case["functions"])
    assert str(e.value) == case["error"]


def test_golden_file_matches_the_case_list():
    """The stored cases are exactly CASES (nobody edited the file by hand)."""
    data = load()
    assert [(c["query"], c["functions"]) for c in data["cases"]] == [(q, f) for q, f in CASES]
    assert [(c["query"], c["functions"]) for c in data["errors"]] == [(q, f) for q, f in ERROR_CASES]


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(build_cases(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size} bytes)", file=sys.stderr)
