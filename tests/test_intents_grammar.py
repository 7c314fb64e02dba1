"""The call grammar (phonelm_export/intents/grammar.py) as a specification, checked with
llguidance on the bundled model's real tokenizer (phonelm_export/constrain.py):

* it accepts every output the synthetic corpus trains and scores on (single and multi-intent);
* everything it accepts parses, maps, copies verbatim values from the request and references
  only earlier calls that return something (random walks through the token masks, and
  hypothesis-generated calls);
* it rejects the ways a free-running model goes wrong (unknown names, wrong types and ranges,
  invented values, forward or void references, wrappers, trailing text);
* verbatim.json describes exactly the schema's arguments.
"""
from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phonelm_export.cli_options import bundled_model_path
from phonelm_export.constrain import GrammarConstraint
from phonelm_export.intents.calls import Call, ResultRef, render_calls
from phonelm_export.intents.flow import map_output
from phonelm_export.intents.grammar import (GrammarError, call_grammar, int_range, span_ends, span_starts,
                                            value_specs)
from phonelm_export.intents.parser import parse_calls
from phonelm_export.intents.schema import FUNCTIONS
from phonelm_export.intents.synth import make_call_examples, make_multi_examples
from phonelm_export.tokenizer import PhoneLMTokenizer

STOP = (2, 0)


@pytest.fixture(scope="module")
def tok():
    return PhoneLMTokenizer.from_file(bundled_model_path())


def accepts(tok, query, functions, text) -> bool:
    return GrammarConstraint(call_grammar(query, functions), tok, STOP).accepts(tok.encode(text))


# --- the data file ------------------------------------------------------------------------------

KINDS = {"int": "int", "bool": "bool", "choice": "str", "span": "str", "span_or_empty": "str", "text": "str",
         "iso8601": "str", "duration": "str", "mime": "str", "weekday": "str"}


def test_value_specs_cover_exactly_the_schema_arguments_with_matching_types():
    specs = value_specs()["args"]
    for fn in FUNCTIONS.values():
        assert set(specs.get(fn.name, {})) == {a.name for a in fn.args}, fn.name
        for a in fn.args:
            s = specs[fn.name][a.name]
            if a.type == "list[str]":
                assert KINDS[s["items"]["kind"]] == "str" and s["max_items"] >= 1
            elif a.type == "dict[str, str]":
                assert KINDS[s["values"]["kind"]] == "str" and s["keys"]
            else:
                assert KINDS[s["kind"]] == a.type, (fn.name, a.name)
            assert (s.get("kind") == "choice") == bool(a.choices), (fn.name, a.name)
    assert set(specs) <= set(FUNCTIONS)


def test_int_ranges():
    import re

    for lo, hi in [(0, 23), (0, 59), (1, 12), (5, 5), (0, 99), (10, 31)]:
        alts = [a.strip() for a in int_range(lo, hi).split("|")]
        regex = "|".join(a.replace(" ", "") for a in alts)
        got = [v for v in range(0, 150) if re.fullmatch(regex, str(v))]
        assert got == list(range(lo, hi + 1)), (lo, hi)


def test_span_boundaries_are_word_boundaries():
    text = "text Anna I'll be late, Bo's x"
    starts = {text[i:] for i in span_starts(text)}
    ends = {text[:j] for j in span_ends(text)}
    assert "Anna I'll be late, Bo's x" in starts and "I'll be late, Bo's x" in starts
    assert not any(s.startswith(("nna", "'ll", "ll ", " ")) for s in starts)
    assert "text Anna I'll be late, Bo" in ends  # a possessive 's is not part of the name
    assert "text Anna I" not in ends and "text Anna I'll be lat" not in ends and "text " not in ends


# --- completeness: the training and evaluation targets ----------------------------------------------

@pytest.mark.parametrize("split", ["train", "heldout", "heldout_phrasing"])
def test_every_synthetic_target_is_accepted(tok, split):
    examples = make_call_examples(60, seed=7, split=split) + make_multi_examples(40, seed=7, split=split)
    rejected = [ex for ex in examples if not accepts(tok, ex["query"], ex["functions"], ex["output"])]
    assert not rejected, rejected[:3]


def test_a_grammar_is_small_and_says_what_it_is():
    g = call_grammar("text Anna I'll be late", ["get_contact_info", "send_message", "dial"])
    assert g.startswith("# phonelm-call-grammar v1") and "\nroot ::= " in g
    assert len(g) < 60_000
    names = [line.split(" ::= ")[0] for line in g.splitlines()[1:]]
    assert len(names) == len(set(names))


# --- soundness: whatever the grammar lets through parses and maps ------------------------------------

def _verbatim_values(calls: list[Call]):
    specs = value_specs()["args"]
    for c in calls:
        for k, v in c.arguments.items():
            s = specs[c.name][k]
            leaf = s.get("items") or s.get("values") or s
            if leaf["kind"] not in ("span", "span_or_empty"):
                continue
            vals = v if isinstance(v, list) else list(v.values()) if isinstance(v, dict) else [v]
            for x in vals:
                if isinstance(x, str) and x:
                    yield c.name, k, x


def check_sound(query: str, functions: list[str], text: str) -> None:
    """The grammar accepted ``text``: it must parse, map, copy spans and reference only returning earlier calls."""
    res = map_output(query, functions, text)
    assert res.ok, (text, res.parse_error, [s.to_json() for s in res.steps])
    assert [c.id for c in res.calls] == list(range(len(res.calls)))
    assert all(c.name in functions for c in res.calls)
    returning = {c.id for c in res.calls if FUNCTIONS[c.name].returns_type != "None"}

    def refs(v):
        if isinstance(v, ResultRef):
            yield v.n
        elif isinstance(v, list):
            for x in v:
                yield from refs(x)
        elif isinstance(v, dict):
            for x in v.values():
                yield from refs(x)

    for c in res.calls:
        for n in refs(c.arguments):
            assert n < c.id and n in returning, (text, c.id, n)
    for fn, arg, v in _verbatim_values(res.calls):
        assert v in query or (v[0].swapcase() + v[1:]) in query, (fn, arg, v, query)


def random_walk(c: GrammarConstraint, rng: random.Random, limit: int = 600) -> list[int]:
    """Uniformly random allowed tokens until a stop token is drawn (stopping is likely once allowed)."""
    out: list[int] = []
    for _ in range(limit):
        allowed = np.flatnonzero(c.mask())
        stops = [t for t in allowed if t in STOP]
        choices = [int(t) for t in allowed if t not in STOP]
        if stops and (not choices or rng.random() < 0.5):
            return out  # complete: stop (always, once nothing else may follow)
        assert choices, "the grammar allows nothing at all"
        t = rng.choice(choices)
        c.advance(t)
        out.append(t)
    raise AssertionError("a random walk did not finish")


WALK_REQUESTS = [
    ("text Anna I'll be late", ["get_contact_info", "send_message", "dial"]),
    ("wake me up at 7:30 every Monday", ["ACTION_SET_ALARM", "ACTION_SET_TIMER", "ACTION_SHOW_ALARMS"]),
    ("add dentist at Main St on June 1 at 9am", ["ACTION_INSERT_EVENT", "web_search", "search_location"]),
    ("take a photo and email it to bo@example.com saying hi", ["ACTION_IMAGE_CAPTURE", "send_email", "get_contact_info"]),
    ("let me pick a contact and show it", ["ACTION_PICK", "ACTION_VIEW_CONTACT", "get_contact_info_from_uri"]),
    ("save José as a contact with number 5550101 and edit Bo", ["ACTION_INSERT_CONTACT", "ACTION_EDIT_CONTACT", "get_contact_info"]),
    ("open a PDF or make a new text file called notes", ["ACTION_OPEN_DOCUMENT", "ACTION_CREATE_DOCUMENT", "ACTION_GET_CONTENT"]),
    ('search "a\\b" on google, then open wifi settings', ["web_search", "open_settings", "ACTION_GET_RINGTONE"]),
    ("record a video", ["ACTION_VIDEO_CAPTURE", "INTENT_ACTION_VIDEO_CAMERA", "INTENT_ACTION_STILL_IMAGE_CAMERA"]),
]


@pytest.mark.parametrize("query,functions", WALK_REQUESTS, ids=[q[:30] for q, _ in WALK_REQUESTS])
def test_random_walks_through_the_masks_give_only_valid_calls(tok, query, functions):
    rng = random.Random(query)
    g = call_grammar(query, functions)
    for _ in range(25):
        c = GrammarConstraint(g, tok, STOP)
        ids = random_walk(c, rng)
        assert c.complete
        check_sound(query, functions, tok.decode(ids))


# hypothesis: calls built from the schema with spans of the request are accepted; any accepted
# mutation of them is still sound
QUERY = "text Anna I'll be late and call Bo at 5550101, then search pizza near Main St"
FNS = ["get_contact_info", "send_message", "dial", "web_search", "ACTION_SET_ALARM", "ACTION_IMAGE_CAPTURE"]
_SPANS = sorted({QUERY[i:j] for i in span_starts(QUERY) for j in span_ends(QUERY) if j > i})


@st.composite
def valid_calls(draw):
    n = draw(st.integers(1, 4))
    calls, returning = [], []
    for k in range(n):
        name = draw(st.sampled_from(FNS))
        fn = FUNCTIONS[name]
        args = {}
        for a in fn.args:
            spec = value_specs()["args"][name][a.name]
            if not a.required and draw(st.booleans()):
                continue
            kind = spec.get("kind")
            if kind == "span":
                v = draw(st.sampled_from(_SPANS))
                if spec.get("refs") and returning and draw(st.booleans()):
                    v = ResultRef(draw(st.sampled_from(returning)))
            elif kind == "span_or_empty":
                v = draw(st.sampled_from(["", *_SPANS]))
            elif kind == "int":
                v = draw(st.integers(spec["min"], spec["max"]))
            elif kind == "bool":
                v = draw(st.booleans())
            elif kind == "choice":
                v = draw(st.sampled_from(a.choices))
            elif "items" in spec and spec["items"]["kind"] == "weekday":
                v = draw(st.lists(st.sampled_from(["Monday", "Sunday", "Friday"]), min_size=1, max_size=3))
            elif kind == "text" or "items" in spec:
                text = draw(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2FF, exclude_characters='"\\'),
                                    min_size=1, max_size=20))
                v = [text] if "items" in spec else text
            else:
                raise AssertionError((name, a.name, spec))
            args[a.name] = v
        calls.append(Call(k, name, args))
        if fn.returns_type != "None":
            returning.append(k)
    return calls


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=valid_calls())
def test_schema_valid_calls_with_request_spans_are_accepted(tok, calls):
    text = render_calls(calls)
    assert accepts(tok, QUERY, FNS, text), text
    check_sound(QUERY, FNS, text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=valid_calls(), data=st.data())
def test_mutated_calls_are_rejected_or_still_sound(tok, calls, data):
    text = render_calls(calls)
    i = data.draw(st.integers(0, len(text)))
    j = data.draw(st.integers(i, min(len(text), i + 4)))
    repl = data.draw(st.sampled_from(["", "x", '"', "0", "9", ", ", "result5", ")", "\n", "None", "A", "]"]))
    mutated = text[:i] + repl + text[j:]
    if accepts(tok, QUERY, FNS, mutated):
        check_sound(QUERY, FNS, mutated)


# --- rejection: what free-running small models get wrong ------------------------------------------

R_QUERY = "text Anna I'll be late"
R_FNS = ["get_contact_info", "send_message", "ACTION_SET_ALARM"]
GOOD = 'result0 = get_contact_info(name="Anna", key="phone")\nresult1 = send_message(phone_number=result0, subject="", body="I\'ll be late")'
REJECTED = {
    "function not among the docs": 'result0 = dial(phone_number="Anna")',
    "unknown function": 'result0 = send_sms(phone_number="Anna")',
    "missing required argument": 'result0 = get_contact_info(name="Anna")',
    "unknown argument": 'result0 = get_contact_info(name="Anna", key="phone", extra=1)',
    "argument given twice": 'result0 = get_contact_info(name="Anna", name="Anna", key="phone")',
    "invented value (not in the request)": 'result0 = send_message(phone_number="Bob", subject="", body="hi")',
    "body looping past the request": GOOD[:-2] + ' late")',
    "span starting inside a word": 'result0 = get_contact_info(name="nna", key="phone")',
    "span ending inside a word": 'result0 = get_contact_info(name="Ann", key="phone")',
    "bad choice": 'result0 = get_contact_info(name="Anna", key="mobile")',
    "string where an int belongs": 'result0 = ACTION_SET_ALARM(EXTRA_HOUR="7", EXTRA_MINUTES=30)',
    "hour out of range": 'result0 = ACTION_SET_ALARM(EXTRA_HOUR=24, EXTRA_MINUTES=0)',
    "minutes out of range": 'result0 = ACTION_SET_ALARM(EXTRA_HOUR=7, EXTRA_MINUTES=60)',
    "JSON boolean": 'result0 = ACTION_SET_ALARM(EXTRA_HOUR=7, EXTRA_MINUTES=0, EXTRA_VIBRATE=true)',
    "None for a required argument": 'result0 = get_contact_info(name=None, key="phone")',
    "reference at the first call": 'result0 = send_message(phone_number=result0, subject="", body="late")',
    "reference to a later call": 'result0 = get_contact_info(name="Anna", key="phone")\nresult1 = send_message(phone_number=result2, subject="", body="late")',
    "reference to a call returning nothing": 'result0 = ACTION_SET_ALARM(EXTRA_HOUR=7, EXTRA_MINUTES=0)\nresult1 = send_message(phone_number=result0, subject="", body="late")',
    "ids not counted from 0": 'result1 = get_contact_info(name="Anna", key="phone")',
    "line without resultN": 'get_contact_info(name="Anna", key="phone")',
    "wrapped in $": '$result0 = get_contact_info(name="Anna", key="phone")$',
    "JSON form": '[{"name": "get_contact_info", "arguments": {"name": "Anna", "key": "phone"}}]',
    "trailing text": 'result0 = get_contact_info(name="Anna", key="phone") ok',
    "empty output": "",
    "arguments out of schema order": 'result0 = get_contact_info(key="phone", name="Anna")',
}


def test_the_canonical_answer_is_accepted(tok):
    assert accepts(tok, R_QUERY, R_FNS, GOOD)


@pytest.mark.parametrize("why", sorted(REJECTED))
def test_invalid_outputs_are_rejected(tok, why):
    assert not accepts(tok, R_QUERY, R_FNS, REJECTED[why]), why


def test_typed_strings_take_only_the_forms_that_map(tok):
    q, fns = "timer and event", ["ACTION_SET_TIMER", "ACTION_INSERT_EVENT", "ACTION_GET_CONTENT"]
    ok = ['result0 = ACTION_SET_TIMER(duration="1 hours 30 minutes")', 'result0 = ACTION_SET_TIMER(duration="45 seconds")',
          'result0 = ACTION_INSERT_EVENT(TITLE="Timer", DESCRIPTION="event", EXTRA_EVENT_BEGIN_TIME="2028-02-29T23:59:00")',
          'result0 = ACTION_GET_CONTENT(mime_type="image/*")']
    bad = ['result0 = ACTION_SET_TIMER(duration="0 minutes")', 'result0 = ACTION_SET_TIMER(duration="ten minutes")',
           'result0 = ACTION_SET_TIMER(duration="24 hours")',
           'result0 = ACTION_INSERT_EVENT(TITLE="Timer", DESCRIPTION="event", EXTRA_EVENT_BEGIN_TIME="2027-02-29")',
           'result0 = ACTION_INSERT_EVENT(TITLE="Timer", DESCRIPTION="event", EXTRA_EVENT_BEGIN_TIME="2026-04-31")',
           'result0 = ACTION_INSERT_EVENT(TITLE="Timer", DESCRIPTION="event", EXTRA_EVENT_BEGIN_TIME="2026-06-01T24:00:00")',
           'result0 = ACTION_GET_CONTENT(mime_type="image")']
    for t in ok:
        assert accepts(tok, q, fns, t), t
        check_sound(q, fns, t)
    for t in bad:
        assert not accepts(tok, q, fns, t), t


def test_a_request_without_any_usable_word_has_no_grammar():
    with pytest.raises(GrammarError):
        call_grammar("   ", ["dial"])
    call_grammar("   ", ["dial", "ACTION_SHOW_ALARMS"])  # a call without arguments is still possible


def test_unknown_function_is_a_key_error():
    with pytest.raises(KeyError):
        call_grammar("x", ["no_such_function"])
