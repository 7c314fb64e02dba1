"""Tokenizer pipeline and prompt formats shared by every backend (phonelm-facts §4-§5)."""
from __future__ import annotations

import json

import pytest

from phonelm_export.tokenizer import (
    SPECIAL_TOKENS,
    STOP_IDS,
    PhoneLMTokenizer,
    call_messages,
    render_chat,
)

MIXED = "Wake me at 07:30, call +1 (555) 012-3456 — café 東京 😀\ndef f(x):\n    return x**2  # 1234"


@pytest.fixture(scope="module")
def tok(random_checkpoint):
    return PhoneLMTokenizer.from_file(random_checkpoint)


def test_special_tokens_have_phonelm_ids(tok):
    assert [tok.token_to_id(t) for t in SPECIAL_TOKENS] == list(range(17))
    assert STOP_IDS == (2, 0)


def test_pipeline_matches_smollm(random_checkpoint):
    spec = json.loads((random_checkpoint / "tokenizer.json").read_text())
    pre = spec["pre_tokenizer"]
    assert pre["type"] == "Sequence"
    digits, bl = pre["pretokenizers"]
    assert digits == {"type": "Digits", "individual_digits": True}
    assert bl["type"] == "ByteLevel" and bl["add_prefix_space"] is False and bl["use_regex"] is True
    assert spec["normalizer"] is None and spec["post_processor"] is None
    assert spec["decoder"]["type"] == "ByteLevel" and spec["model"]["type"] == "BPE"


def test_no_bos_or_eos_is_added_and_digits_split(tok):
    ids = tok.encode("2024")
    assert len(ids) == 4  # individual digits
    assert ids[0] not in range(17) and ids[-1] not in range(17)


def test_round_trip_of_mixed_text(tok):
    assert tok.decode(tok.encode(MIXED)) == MIXED


def test_special_tokens_in_text_become_their_ids(tok):
    ids = tok.encode("<|im_start|>user\nhi<|im_end|>")
    assert ids[0] == 1 and ids[-1] == 2


def test_chatml_template_is_phonelms():
    msgs = [{"role": "user", "content": "Hi"}]
    assert render_chat(msgs) == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )
    sys_first = [{"role": "system", "content": "Be brief."}] + msgs
    assert render_chat(sys_first, add_generation_prompt=False) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
    )


def test_call_prompt_is_droidcall_code_short_format():
    msgs = call_messages("wake me at 7", ["DOC A", "DOC B"])
    assert msgs[0] == {"role": "system", "content": "You are an expert in composing functions."}
    assert msgs[1]["content"] == (
        "\nHere is a list of functions:\nDOC A\n" + "=" * 50 + "\nDOC B"
        + "\n\n\n\n\n\n\n\nNow my query is: wake me at 7\n"
    )
    with pytest.raises(ValueError):
        call_messages("q", ["d"] * 5)


def test_checkpoint_template_wins_and_runs_sandboxed(random_checkpoint, tmp_path):
    import shutil

    from jinja2.exceptions import SecurityError

    d = tmp_path / "t"
    shutil.copytree(random_checkpoint, d)
    cfg = json.loads((d / "tokenizer_config.json").read_text())
    cfg["chat_template"] = "{% for m in messages %}[{{ m['content'] }}]{% endfor %}"
    (d / "tokenizer_config.json").write_text(json.dumps(cfg))
    t = PhoneLMTokenizer.from_file(d)
    assert t.render_chat([{"role": "user", "content": "x"}]) == "[x]"
    evil = PhoneLMTokenizer(t.tok, "{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(SecurityError):
        evil.render_chat([])


def test_the_default_system_prompt_has_one_home():
    from phonelm_export.tokenizer import DEFAULT_SYSTEM, render_chat

    assert render_chat([{"role": "user", "content": "hi"}]).startswith(
        f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n")
