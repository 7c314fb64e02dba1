"""The 24 DroidCall functions as data, their prompt docs, and that each maps to an intent."""
import re

import pytest

from phonelm_export.intents.mapper import ContactQuery, Intent, map_call
from phonelm_export.intents.schema import FUNCTIONS, render_doc
from phonelm_export.tokenizer import call_messages

SAMPLE = {"int": 1, "str": "text/plain", "bool": True, "list[str]": ["text/plain"], "dict[str, str]": {"name": "A"}}


def test_the_24_droidcall_functions():
    assert len(FUNCTIONS) == 24
    assert {"ACTION_SET_ALARM", "ACTION_SET_TIMER", "ACTION_SHOW_ALARMS", "ACTION_INSERT_EVENT", "ACTION_IMAGE_CAPTURE",
            "ACTION_VIDEO_CAPTURE", "INTENT_ACTION_STILL_IMAGE_CAMERA", "INTENT_ACTION_VIDEO_CAMERA", "ACTION_PICK",
            "get_contact_info", "get_contact_info_from_uri", "ACTION_VIEW_CONTACT", "ACTION_EDIT_CONTACT",
            "ACTION_INSERT_CONTACT", "send_email", "send_message", "ACTION_GET_RINGTONE", "ACTION_GET_CONTENT",
            "ACTION_OPEN_DOCUMENT", "ACTION_CREATE_DOCUMENT", "dial", "web_search", "search_location",
            "open_settings"} == set(FUNCTIONS)
    for f in FUNCTIONS.values():
        for a in f.args:
            assert a.type in SAMPLE, (f.name, a.name)
            assert a.required or a.default is None or isinstance(a.default, (str, bool)), (f.name, a.name)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_doc_has_the_droidcall_sections_indented_by_four(name):
    doc = render_doc(name)
    heads = [l for l in doc.split("\n") if not l.startswith("    ")]
    assert heads == ["Name:", "Description:", "Args:", "Returns:", "Example:"]
    assert doc.split("\n")[1] == "    " + name
    for a in FUNCTIONS[name].args:
        assert re.search(rf"^    {a.name} \({re.escape(a.type)}(, optional)?\): \S", doc, re.M)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_every_function_maps_with_only_its_required_arguments(name):
    f = FUNCTIONS[name]
    args = {a.name: (a.choices[0] if a.choices else SAMPLE[a.type]) for a in f.args if a.required}
    if name == "ACTION_SET_TIMER":
        args["duration"] = "5 minutes"
    out = map_call(name, args)
    assert isinstance(out, ContactQuery) if name.startswith("get_contact_info") else isinstance(out, Intent)


def test_four_docs_fit_the_call_prompt():
    docs = [render_doc(n) for n in list(FUNCTIONS)[:4]]
    user = call_messages("wake me up at 7", docs)[1]["content"]
    assert user.count("=" * 50) == 3 and user.endswith("Now my query is: wake me up at 7\n")
