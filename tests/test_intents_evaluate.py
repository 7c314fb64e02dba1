"""The DroidCall scorer: exact match with defaults filled in, soft argument accuracy."""
from phonelm_export.intents.evaluate import score, score_many

EMAIL = [
    {"id": 0, "name": "get_contact_info", "arguments": {"name": "Anna", "key": "email"}},
    {"id": 1, "name": "send_email", "arguments": {"to": [{"$ref": 0}], "subject": "Hi", "body": "x"}},
]


def test_exact_prediction_scores_one():
    text = 'result0 = get_contact_info(name="Anna", key="email")\nresult1 = send_email(to=[result0], subject="Hi", body="x")'
    assert score(text, EMAIL) == (True, 1.0)


def test_defaults_written_out_still_match():
    exp = [{"id": 0, "name": "ACTION_SET_ALARM", "arguments": {"EXTRA_HOUR": 7, "EXTRA_MINUTES": 30}}]
    assert score("ACTION_SET_ALARM(EXTRA_HOUR=7, EXTRA_MINUTES=30, EXTRA_SKIP_UI=True, EXTRA_DAYS=None)", exp) == (True, 1.0)
    assert score("ACTION_SET_ALARM(EXTRA_HOUR=7, EXTRA_MINUTES=30, EXTRA_SKIP_UI=False)", exp) == (False, 2 / 3)


def test_references_compare_by_position_not_by_number():
    text = 'result5 = get_contact_info(name="Anna", key="email")\nresult9 = send_email(to=[result5], subject="Hi", body="x")'
    assert score(text, EMAIL) == (True, 1.0)


def test_partial_credit_per_argument_and_zero_for_wrong_names():
    text = 'result0 = get_contact_info(name="Anna", key="phone")\nresult1 = send_email(to=[result0], subject="Hi", body="y")'
    exact, soft = score(text, EMAIL)
    assert not exact and abs(soft - (1 / 2 + 2 / 3) / 2) < 1e-12
    exact, soft = score('result0 = dial(phone_number="1")', EMAIL)
    assert (exact, soft) == (False, 0.0)


def test_missing_and_extra_calls_dilute_the_soft_score():
    one = 'result0 = get_contact_info(name="Anna", key="email")'
    assert score(one, EMAIL) == (False, 0.5)
    three = one + '\nresult1 = send_email(to=[result0], subject="Hi", body="x")\nresult2 = ACTION_SHOW_ALARMS()'
    assert score(three, EMAIL) == (False, 2 / 3)


def test_unparseable_output_scores_zero_and_aggregates():
    assert score("I cannot do that", EMAIL) == (False, 0.0)
    agg = score_many([("I cannot", EMAIL), ('result0 = get_contact_info(name="Anna", key="email")\nresult1 = send_email(to=[result0], subject="Hi", body="x")', EMAIL)])
    assert agg == {"n": 2, "accuracy": 0.5, "soft_accuracy": 0.5}
