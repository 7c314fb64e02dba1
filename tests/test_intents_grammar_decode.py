"""Constrained decoding with the bundled Call model, on real runtimes: whatever the model prefers,
the request's grammar makes every output parse and map, copied values are spans of the request.

* the PyTorch reference and the GGUF runner (llama.cpp worker) through the common decode loop
  (``Runner.generate(constraint=...)``, llguidance masks; the GGUF runner's own vocabulary);
* llama.cpp's own grammar sampler (llama-cpp-python ``LlamaGrammar``, what the Android llama.cpp
  engine uses) on the same GBNF text.
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

from phonelm_export.cli_options import bundled_model_path
from phonelm_export.intents.evaluate import split_examples
from phonelm_export.intents.flow import map_output, prompt_ids, run_call
from phonelm_export.intents.grammar import call_grammar
from phonelm_export.intents.retrieval import select_docs

from test_intents_grammar import check_sound  # the soundness property: parses, maps, spans, references

N = 12  # per runtime: decoding on 2 shared cores is slow; the random walks cover the grammar itself


def _requests():
    # held-out values and phrasings and multi-intent requests, with the docs the app would retrieve
    ex = split_examples("heldout", 5, seed=21) + split_examples("heldout_phrasing", 4, seed=21) \
        + split_examples("heldout_multi", 3, seed=21)
    return [(e["query"], select_docs(e["query"], 3)) for e in ex[:N]]


@pytest.fixture(scope="module")
def reference():
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.reference import ReferenceRunner

    return ReferenceRunner.from_checkpoint(open_checkpoint(bundled_model_path()))


@pytest.fixture(scope="module")
def gguf_file(tmp_path_factory):
    from phonelm_export.registry import get_backend, names

    if "gguf" not in names() or not get_backend("gguf").available():
        pytest.skip("the gguf backend (llama-cpp-python) is not installed")
    from phonelm_export.checkpoint import open_checkpoint

    from phonelm_export.recipes import load_recipe

    backend = get_backend("gguf")
    out = tmp_path_factory.mktemp("gguf") / "call.gguf"  # the default (balanced) recipe, as users export
    return backend.export(open_checkpoint(bundled_model_path()), load_recipe(backend, backend.default_recipe), out).path


def test_reference_runner_decodes_only_valid_calls(reference):
    for query, fns in _requests():
        res = run_call(reference, query, functions=fns, constrain=True)
        assert res.constrained and res.complete, (query, res.output)
        check_sound(query, fns, res.output)


@pytest.mark.gguf
def test_gguf_runner_decodes_only_valid_calls_with_its_own_vocabulary(gguf_file):
    from phonelm_export.registry import get_backend

    runner = get_backend("gguf").load(gguf_file)
    try:
        for query, fns in _requests():
            res = run_call(runner, query, functions=fns, constrain=True)
            assert res.constrained and res.complete, (query, res.output)
            check_sound(query, fns, res.output)
    finally:
        runner.close()


@pytest.mark.gguf
def test_llama_cpp_grammar_sampler_accepts_our_gbnf_and_decodes_only_valid_calls(gguf_file):
    """The Android path: llama.cpp parses the GBNF and its grammar sampler constrains greedy decoding."""
    llama_cpp = pytest.importorskip("llama_cpp")
    from phonelm_export.tokenizer import PhoneLMTokenizer

    tok = PhoneLMTokenizer.from_file(bundled_model_path())
    llm = llama_cpp.Llama(model_path=str(gguf_file), n_ctx=1024, n_threads=2, verbose=False)
    for query, fns in _requests():
        grammar = llama_cpp.LlamaGrammar.from_string(call_grammar(query, fns), verbose=False)
        llm.reset()
        out = []
        for t in llm.generate(prompt_ids(tok, query, fns), temp=0.0, top_k=1, grammar=grammar):
            if t in (0, 2) or len(out) >= 200:
                break
            out.append(t)
        text = llm.detokenize(out).decode("utf-8")
        assert len(out) < 200, text
        check_sound(query, fns, text)
        assert map_output(query, fns, text).ok
