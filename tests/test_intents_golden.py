"""The shared golden vectors (tests/golden/intents/*.json) hold for the Python implementation.

The Android core's JVM tests read the same files, so both implementations parse, map,
retrieve and convert identically.
"""
import json
from pathlib import Path

import pytest

from phonelm_export.intents.calls import Call
from phonelm_export.intents.mapper import SimulatedDevice, duration_seconds, iso_to_epoch_ms, plan, url_encode
from phonelm_export.intents.parser import CallParseError, parse_calls
from phonelm_export.intents.retrieval import select_docs
from phonelm_export.intents.schema import FUNCTIONS, render_doc

GOLDEN = Path(__file__).parent / "golden" / "intents"


def load(name):
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


PARSE = load("parse.json")["cases"]
PLAN = load("plan.json")
DOCS = load("docs.json")
VALUES = load("values.json")


def test_golden_files_cover_success_and_every_error_class():
    assert sum("error" in c for c in PARSE) >= 15 and sum("calls" in c for c in PARSE) >= 15
    codes = {s["error"]["code"] for c in PLAN["cases"] for s in c["steps"] if "error" in s}
    assert codes == {"unknown_function", "unknown_argument", "missing_argument", "bad_type", "bad_value",
                     "unresolved_reference"}
    mapped = {s["function"] for c in PLAN["cases"] for s in c["steps"] if "error" not in s}
    assert mapped == set(FUNCTIONS), "every one of the 24 functions has a mapped golden step"


@pytest.mark.parametrize("case", PARSE, ids=[c["name"] for c in PARSE])
def test_parse_golden(case):
    if "error" in case:
        with pytest.raises(CallParseError) as e:
            parse_calls(case["output"])
        assert str(e.value) == case["error"]
    else:
        assert [c.to_json() for c in parse_calls(case["output"])] == case["calls"]


@pytest.mark.parametrize("case", PLAN["cases"], ids=[c["name"] for c in PLAN["cases"]])
def test_plan_golden(case):
    steps = plan(parse_calls(case["output"]), SimulatedDevice(PLAN["contacts"]), PLAN["timezone"])
    assert [s.to_json() for s in steps] == case["steps"]


def test_parsed_calls_render_back_to_the_same_calls():
    for case in PARSE:
        if case.get("calls"):
            calls = [Call.from_json(c) for c in case["calls"]]
            text = "\n".join(c.render() for c in calls)
            assert [c.to_json() for c in parse_calls(text)] == case["calls"], case["name"]


def test_docs_golden():
    assert DOCS["docs"] == {n: render_doc(n) for n in FUNCTIONS}


@pytest.mark.parametrize("case", DOCS["retrieval"], ids=[c["query"] or "empty" for c in DOCS["retrieval"]])
def test_retrieval_golden(case):
    assert select_docs(case["query"], 3) == case["top3"]


def _or_none(f, *a):
    try:
        return f(*a)
    except ValueError:
        return None


def test_value_conversions_golden():
    for c in VALUES["durations"]:
        assert _or_none(duration_seconds, c["text"]) == c["seconds"], c
    for c in VALUES["iso8601"]:
        assert _or_none(iso_to_epoch_ms, c["text"], c["timezone"]) == c["epoch_ms"], c
    for c in VALUES["url_encode"]:
        assert url_encode(c["text"]) == c["encoded"], c


def test_prompts_golden():
    from phonelm_export.intents.flow import prompt_ids  # noqa: F401  (the CLI builds prompts the same way)
    from phonelm_export.tokenizer import call_messages, render_chat

    for c in DOCS["call_prompts"]:
        assert select_docs(c["query"], 3) == c["functions"]
        assert render_chat(call_messages(c["query"], [render_doc(n) for n in c["functions"]])) == c["chatml"]
    for c in DOCS["chat_prompts"]:
        assert render_chat(c["messages"]) == c["chatml"]
