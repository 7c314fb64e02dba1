"""The call parser: accepted forms, and it never fails with anything but CallParseError."""
import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phonelm_export.intents.calls import Call, ResultRef, render_calls
from phonelm_export.intents.parser import CallParseError, parse_calls


def test_all_wrappers_give_the_same_calls():
    core = 'result0 = get_contact_info(name="Anna", key="phone")\nresult1 = dial(phone_number=result0)'
    expected = [Call(0, "get_contact_info", {"name": "Anna", "key": "phone"}), Call(1, "dial", {"phone_number": ResultRef(0)})]
    for text in (core, f"${core}$", f"<tool_call>{core}</tool_call>", f"```\n{core}\n```",
                 '[{"name": "get_contact_info", "arguments": {"name": "Anna", "key": "phone"}},'
                 ' {"name": "dial", "arguments": {"phone_number": "#0"}}]'):
        assert parse_calls(text) == expected, text


def test_the_parser_never_evaluates_code():
    with pytest.raises(CallParseError):
        parse_calls('result0 = dial(phone_number=__import__("os").system("true"))')


def test_non_text_is_a_parse_error():
    with pytest.raises(CallParseError):
        parse_calls(None)


_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12)
    # a string holding a wrapper tag is taken for the wrapper, by both twins (a known limit)
    | st.text(max_size=12).filter(lambda s: "<tool_call>" not in s)
    | st.floats(allow_nan=False, allow_infinity=False, width=32),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
_names = st.text(string.ascii_letters + "_", min_size=1, max_size=10).filter(lambda s: not s[0].isdigit())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_names, st.dictionaries(_names.filter(lambda n: n not in ("True", "False", "None", "true", "false", "null")), _values, max_size=4)), max_size=4))
def test_rendered_calls_parse_back_exactly(spec):
    calls = [Call(i, name, args) for i, (name, args) in enumerate(spec)]
    assert parse_calls(render_calls(calls)) == calls


_ALPHABET = st.sampled_from(list('result0123456789 =(),[]{}:"\'\\$#<>/_\n\t.-+eEaTFNunx') + ["<tool_call>", "</tool_call>", "result0", "True", "None", "\\u", "```"])


@settings(max_examples=1500, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_fuzz_only_call_parse_errors_from_call_like_noise(text):
    try:
        calls = parse_calls(text)
    except CallParseError as e:
        assert str(e).startswith("line ") or "model output" in str(e)
        return
    assert all(isinstance(c, Call) for c in calls)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_only_call_parse_errors_from_arbitrary_text(text):
    try:
        parse_calls(text)
    except CallParseError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_fuzz_mutated_valid_output(noise):
    base = 'result0 = send_email(to=["a@b.c"], subject="s", body="x\\n", cc=None, attachments=[result0])'
    pos = noise[0] % len(base) if noise else 0
    text = base[:pos] + noise[1:].decode("latin-1") + base[pos:]
    try:
        parse_calls(text)
    except CallParseError:
        pass


# -- bounds: huge literals, deep nesting, absurd values end as the parser's / mapper's own errors --

@pytest.mark.parametrize("digits", [20, 400, 401, 5000, 100_000])
def test_huge_integer_literals_are_out_of_range_not_a_crash(digits):
    with pytest.raises(CallParseError, match="number out of range"):
        parse_calls(f"dial(phone_number={'9' * digits})")


@pytest.mark.parametrize("depth", [34, 1000, 100_000])  # 33 levels are allowed
def test_deep_nesting_is_refused_without_recursion(depth):
    with pytest.raises(CallParseError, match="nested deeper than 32"):
        parse_calls("f(x=" + "[" * depth + "]" * depth + ")")
    with pytest.raises(CallParseError, match="nested deeper than 32"):
        parse_calls('[{"name": "f", "arguments": ' + '{"a": ' * depth + "1" + "}" * depth + "}]")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30) | st.sampled_from(["9" * 400 + " hours", "1:99", "2024-02-30T10:00", "99999-01-01",
                                             "0001-01-01T00:00+18:00", "9999-12-31T23:59-18:00", "*/*", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _arguments_for(name):
    from phonelm_export.intents.schema import FUNCTIONS

    fn = FUNCTIONS[name]
    keys = [a.name for a in fn.args] + ["bogus"]
    return st.dictionaries(st.sampled_from(keys), _json_values, max_size=len(keys))


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(sorted(__import__("phonelm_export.intents.schema", fromlist=["FUNCTIONS"]).FUNCTIONS) + ["nope"])
       .flatmap(lambda n: st.tuples(st.just(n), _arguments_for(n) if n != "nope" else st.just({}))),
       st.sampled_from(["UTC", "Asia/Kolkata", "America/St_Johns"]))
def test_the_mapper_raises_only_mapping_errors(call, tz):
    """Any argument values for any function: an Intent / ContactQuery, or a MappingError."""
    from phonelm_export.intents.mapper import ContactQuery, Intent, MappingError, map_call

    name, args = call
    try:
        out = map_call(name, args, tz)
    except MappingError as e:
        assert e.code in ("unknown_function", "unknown_argument", "missing_argument", "bad_type", "bad_value")
        assert "\n" not in e.message
        return
    assert isinstance(out, (Intent, ContactQuery))
    json.dumps(out.to_json())  # serialisable for the app and the golden vectors


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join) | st.text(max_size=80))
def test_a_whole_output_plans_without_raising(text):
    """parse -> plan, as `call` does: a parse error or per-call steps, never another exception."""
    from phonelm_export.intents.mapper import DryRunDevice, SimulatedDevice, plan

    try:
        calls = parse_calls(text)
    except CallParseError:
        return
    for device in (SimulatedDevice([{"name": "Anna", "uri": "content://c/1", "email": "a@b.c"}]), DryRunDevice()):
        steps = plan(calls, device)
        assert len(steps) == len(calls)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40) | st.from_regex(r"[0-9]{1,500}(\.[0-9]{1,5})? ?(h|hours|m|min|s|seconds)( [0-9]{1,30} ?(m|s))?", fullmatch=True))
def test_durations_are_seconds_or_value_errors(text):
    from phonelm_export.intents.conversions import LONG_MAX, duration_seconds

    try:
        s = duration_seconds(text)
    except ValueError:
        return
    assert isinstance(s, int) and 0 <= s <= LONG_MAX  # what the Java twin's long holds


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40) | st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?)?(Z|[+-][0-9]{2}:[0-9]{2})?", fullmatch=True))
def test_iso_times_are_epoch_ms_or_value_errors(text):
    from phonelm_export.intents.conversions import iso_to_epoch_ms

    try:
        ms = iso_to_epoch_ms(text, "Europe/Berlin")
    except ValueError:
        return
    assert isinstance(ms, int) and -2**63 <= ms < 2**63
