"""``phonelm-export call``: the app's intent-calling flow on the desktop."""
import json

import pytest
from click.testing import CliRunner

from phonelm_export.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def call_model(tmp_path_factory):
    """A random model whose context holds the call prompt: with the toy 384-token vocabulary,
    three docs are ~1,500 tokens (the session checkpoint's 512 would be refused, rightly)."""
    from phonelm_export.random_model import make_random_checkpoint

    return make_random_checkpoint(tmp_path_factory.mktemp("ctx") / "ck", max_position_embeddings=2048, seed=1)


def test_given_output_is_mapped_to_intents_without_a_model():
    r = run("call", "call Anna", "--map", 'result0 = get_contact_info(name="Anna", key="phone")\nresult1 = dial(phone_number=result0)', "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["ok"] and out["parse_error"] is None
    assert out["intents"][1]["intent"] == {"action": "android.intent.action.DIAL", "data": "tel:result0", "type": None,
                                           "categories": [], "extras": [], "returns": None}


def test_human_output_shows_intents_and_per_call_errors():
    r = run("call", "--map", 'result0 = ACTION_SET_TIMER(duration="10 minutes")\nresult1 = dial(phone_number=5)')
    assert r.exit_code == 0
    assert "android.intent.action.SET_TIMER" in r.output and "android.intent.extra.alarm.LENGTH (int) = 600" in r.output
    assert "ERROR (bad_type) dial(): 'phone_number' must be str, got int" in r.output


def test_unparseable_output_is_reported_not_raised():
    r = run("call", "--map", "Sure, here you go", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["parse_error"] == "line 1, column 5: expected '(', found ','"


@pytest.mark.parametrize("args,msg", [
    (["--timezone", "Mars/Olympus", "--map", "x()"], "unknown time zone"),
    (["-k", "5", "q"], "--docs must be 1 to 4"),
    (["--function", "fly", "q"], "unknown function 'fly'"),
])
def test_bad_options_are_one_line_errors(args, msg):
    r = CliRunner().invoke(main, ["call", *args])
    assert r.exit_code == 2 and msg in r.output and "Traceback" not in r.output


def test_runs_a_real_model_end_to_end(call_model):
    """A random model says nonsense, but the whole flow runs: retrieval, prompt, generation, parser, mapper."""
    r = run("call", "wake me up at 7:30", "--model", str(call_model), "--max-new-tokens", "8", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["functions"][0] == "ACTION_SET_ALARM" and len(out["functions"]) == 3
    assert out["prompt_tokens"] > 100 and 0 <= out["new_tokens"] <= 8
    assert (out["parse_error"] is None) or out["parse_error"].startswith("line ")
    assert out["constrained"] is True  # the request's grammar is the default


def test_a_random_model_under_the_grammar_still_writes_a_call_prefix(call_model):
    """Whatever a random model prefers, the grammar forces the call format (the budget cuts it short)."""
    on = json.loads(run("call", "wake me up at 7:30", "--model", str(call_model), "--max-new-tokens", "24", "--json").output)
    assert on["output"].startswith("result0 = ACTION_")
    off = json.loads(run("call", "wake me up at 7:30", "--model", str(call_model), "--max-new-tokens", "24",
                         "--no-constrain", "--json").output)
    assert off["constrained"] is False and not off["output"].startswith("result0 = ")


def test_heldout_evaluation_reports_rates(call_model):
    r = run("call", "--heldout", "2", "--model", str(call_model), "--max-new-tokens", "4", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["n"] == 2 and len(out["examples"]) == 2
    assert out["constrained"] is True and out["split"] == "heldout"
    for key in ("accuracy", "soft_accuracy", "invalid", "right_intents", "retrieval_recall", "truncated"):
        assert 0.0 <= out[key] <= 1.0


def test_a_query_too_long_for_the_context_is_refused_before_its_grammar_is_built():
    """The grammar grows with the request; an over-long request must be one error line, not a
    grammar of thousands of spans that only gets refused after it is compiled."""
    r = CliRunner().invoke(main, ["call", "send a message to Anna saying " + "very " * 6000 + "late"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert r.output.strip().startswith("error: the prompt is") and "context holds" in r.output
