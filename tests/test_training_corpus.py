"""The bundled model's training corpus: random stand-ins teach copying without leaking held-out values."""
import json
import random
import re

import pytest

from phonelm_export.intents.parser import parse_calls
from phonelm_export.intents.synth import _bucket
from phonelm_export.corpus import _surrogate, build_corpus, copy_text, randomize_copied_values


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    return build_corpus(out, n_call=600, n_chat=20, n_heldout=20, seed=3, max_docs=2, randomize=1.0, n_copy=50,
                        n_copy_text=2000)


def test_stand_ins_keep_the_shape_of_the_value():
    rng = random.Random(0)
    for value, pattern in [("94765537117", r"\d{11}"), ("Li Na", r"[A-Z][a-z]+ [A-Z][a-z]+"),
                           ("nina.khan@example.com", r"[a-z]+\.[a-z]+@[a-z]+\.(com|io|net|org)"),
                           ("54 minutes", r"\d{1,2} minutes"), ("Please send the report", r"[A-Z][a-z]+( [a-z]+){3}")]:
        for _ in range(20):
            assert re.fullmatch(pattern, _surrogate(value, rng)), (value, _surrogate(value, rng))


def test_randomized_rows_copy_the_stand_in_from_query_to_call():
    ex = {"query": "send a message to 94765537117 saying Please send the report",
          "output": 'result0 = send_message(phone_number="94765537117", subject="", body="Please send the report")',
          "calls": [{"id": 0, "name": "send_message",
                     "arguments": {"phone_number": "94765537117", "subject": "", "body": "Please send the report"}}]}
    new = randomize_copied_values(ex, random.Random(1))
    args = parse_calls(new["output"])[0].arguments
    assert args["phone_number"] != "94765537117" and args["phone_number"] in new["query"]
    assert args["body"] != "Please send the report" and args["body"] in new["query"]
    assert new["calls"][0]["arguments"] == args


def test_no_heldout_duration_or_time_enters_the_training_text(corpus):
    # the queries are where slot values live (function docs carry fixed examples of their own)
    queries = [json.loads(l).get("query", "") for l in corpus["train"].read_text().splitlines()]
    text = "\n".join(queries) + corpus["copy"].read_text()
    units = {"minute": "m", "minutes": "m", "second": "s", "seconds": "s", "hour": "h", "hours": "h"}
    # single durations only: "4 hours and 10 minutes" is one slot value (4h10m), not two
    durations = re.findall(r"(?<![\d:])(?<!and )(\d+) (minutes?|seconds?|hours?)\b(?! and)", text)
    assert len(durations) > 100
    leaked = {f"{n} {u}" for n, u in durations if _bucket(f"duration:{int(n)}{units[u]}") == "heldout"}
    assert not leaked, sorted(leaked)[:10]
    times = re.findall(r"(?<![\d:])(\d{1,2}):(\d\d)(?!\d)", corpus["copy"].read_text())
    assert len(times) > 50
    assert not [t for t in times if _bucket(f"time:{int(t[0])}:{int(t[1])}") == "heldout"]


def test_copy_text_states_values_then_repeats_them():
    lines = copy_text(200, seed=0)
    assert len(lines) == 200 and lines == copy_text(200, seed=0)
    for line in lines:
        if " | " in line:
            a, b = line.split(" | ")
            assert a == b
        elif " -> f(" in line:
            said, call = line.split(" -> f(")
            assert all(v in said for v in re.findall(r'="([^"]*)"', call))


def test_corpus_files(corpus):
    assert set(corpus) == {"train", "heldout", "heldout_phrasing", "copy"}
    rows = [json.loads(l) for l in corpus["train"].read_text().splitlines()]
    assert {r["kind"] for r in rows} == {"call", "chat", "copy"}
    assert corpus["copy"].read_text().count("\n\n") >= 1999  # one document per line for the packer


def test_stand_in_words_never_include_a_heldout_name():
    from phonelm_export.intents.synth import _pools
    from phonelm_export.corpus import _train_words

    words = set(_train_words())
    assert len(words) > 300  # real words, so copying cannot be faked by a syllable prior
    held = [n for n in _pools()["name"] if _bucket(f"name:{n}") == "heldout"]
    assert held and not [n for n in held if n.lower() in words]


def test_heldout_chat_prompts_never_occur_in_training_and_number_at_least_50():
    from phonelm_export.train.chat_eval import heldout_chat_prompts
    from phonelm_export.corpus import chat_examples

    prompts = heldout_chat_prompts()
    assert len(prompts) >= 50 and len(set(prompts)) == len(prompts)
    trained = {r["messages"][-2]["content"].lower() for r in chat_examples(20000, seed=0)}
    assert not trained & {p.lower() for p in prompts}, sorted(trained & {p.lower() for p in prompts})[:5]
    held_rows = chat_examples(500, seed=0, split="heldout")
    assert not trained & {r["messages"][-2]["content"].lower() for r in held_rows}


def test_no_chat_reply_starts_with_a_word_a_prompt_starts_with():
    """So a reply that copies the prompt's first word is always a defect of the model, never the data."""
    from phonelm_export.corpus import chat_examples

    rows = chat_examples(3000, seed=1) + chat_examples(500, seed=1, split="heldout")
    firsts = {re.findall(r"[a-z0-9']+", r["messages"][-2]["content"].lower())[0] for r in rows}
    for r in rows:
        assert re.findall(r"[a-z0-9']+", r["messages"][-1]["content"].lower())[0] not in firsts, r


def test_quirk_names_first_word_copies_and_echoes_only():
    from phonelm_export.train.chat_eval import quirk

    assert quirk("What can you do?", "What can set alarms and timers.") == "first-word"
    assert quirk("what can you do?", "What can set alarms") == "first-word"  # case does not hide it
    assert quirk("tell me a joke", "Sure, tell me a joke is what you said") == "echo"
    assert quirk("hi", "") == "echo"
    assert quirk("What can you do?", "I can set alarms and timers.") is None
    assert quirk("tell me a joke", "Why did the phone wear glasses? It lost its contacts.") is None


def test_multi_intent_rows_enter_the_corpus_and_their_own_heldout_file(tmp_path):
    paths = build_corpus(tmp_path, n_call=100, n_multi=60, n_chat=10, n_heldout=12, seed=4, max_docs=3)
    assert set(paths) == {"train", "heldout", "heldout_phrasing", "heldout_multi"}
    rows = [json.loads(l) for l in paths["train"].read_text().splitlines()]
    assert sum(r["kind"] == "call" and len(r["calls"]) >= 2 for r in rows) >= 60
    held = [json.loads(l) for l in paths["heldout_multi"].read_text().splitlines()]
    assert len(held) == 12 and all(len(r["calls"]) >= 2 for r in held)
    assert not {r["query"] for r in held} & {r.get("query") for r in rows}
