"""The call parser: accepted forms, and it never fails with anything but CallParseError."""
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
