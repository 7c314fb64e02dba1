"""Constrained decoding on llama.cpp: decode speed with vs without the request's call grammar.

    python -m bench.constrained_decode [--model MODEL] [--shape 0.5b] [--n 40] [--quick]

Both ways the Android demo and ``phonelm-export call`` constrain a GGUF are timed side by side
in one run, on the same requests (held-out synthetic queries with their retrieved docs) and
the same file:

* **llama.cpp's grammar sampler** (what the app's llama.cpp engine uses): llama-cpp-python
  in process, greedy, once without and once with ``LlamaGrammar.from_string(<the request's
  GBNF>)``; the grammar's parse time is reported apart from decoding.
* **llguidance in the runners' loop** (what ``phonelm-export call`` does on every backend): the
  GGUF runner's ``generate`` with and without ``constraint=``; the grammar build (Python) and
  compile (llguidance) time per request is reported apart.

Decode speed = generated tokens / time after the prompt is processed. The bundled Call model
is tiny (decode runs at thousands of tokens/s), so its relative cost over-states what a real
PhoneLM pays: ``--shape 0.5b`` adds a random PhoneLM-0.5B-shaped q4_0 file (same 49,152-token
vocabulary size class, forced to decode a fixed number of tokens) where the per-token grammar
cost is measured against a realistic decode step.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench._machine import busy_warning


def _requests(n: int):
    from phonelm_export.intents.evaluate import split_examples
    from phonelm_export.intents.retrieval import select_docs

    return [(ex["query"], select_docs(ex["query"], 3)) for ex in split_examples("heldout", n, seed=3)]


def _prompt(tok, query, fns):
    from phonelm_export.intents.flow import prompt_ids

    return prompt_ids(tok, query, fns)


def llama_cpp_sampler(gguf: Path, requests, tok, threads: int, max_new: int) -> dict:
    """llama.cpp's own grammar sampler through llama-cpp-python: tokens/s without and with the GBNF."""
    import llama_cpp

    from phonelm_export.intents.grammar import call_grammar

    llm = llama_cpp.Llama(model_path=str(gguf), n_ctx=1024, n_threads=threads, verbose=False, logits_all=False)
    out = {"plain": [0, 0.0], "grammar": [0, 0.0], "parse_s": []}
    for query, fns in requests:
        ids = _prompt(tok, query, fns)
        t0 = time.perf_counter()
        grammar = llama_cpp.LlamaGrammar.from_string(call_grammar(query, fns), verbose=False)
        out["parse_s"].append(time.perf_counter() - t0)
        for label, g in (("plain", None), ("grammar", grammar)):
            llm.reset()
            n, t0 = 0, None
            for tok_id in llm.generate(ids, temp=0.0, top_k=1, grammar=g):
                if t0 is None:  # the first token comes after the prompt: decode is timed from here
                    t0 = time.perf_counter()
                    if tok_id in (0, 2):
                        break
                    continue
                if tok_id in (0, 2) or n >= max_new:
                    break
                n += 1
            out[label][0] += n
            out[label][1] += time.perf_counter() - t0
    return {"plain_tok_s": out["plain"][0] / out["plain"][1], "grammar_tok_s": out["grammar"][0] / out["grammar"][1],
            "tokens_plain": out["plain"][0], "tokens_grammar": out["grammar"][0],
            "grammar_parse_ms_median": 1000 * statistics.median(out["parse_s"])}


def llguidance_loop(gguf: Path, requests, threads: int, max_new: int) -> dict:
    """The runners' common decode loop (GGUF runner, llama.cpp worker) without and with the llguidance constraint."""
    from phonelm_export.backend import Sampling
    from phonelm_export.registry import get_backend
    from phonelm_export.intents.flow import call_constraint

    runner = get_backend("gguf").load(gguf, threads=threads)
    tok = _hf_tokenizer()
    out = {"plain": [0, 0.0], "grammar": [0, 0.0], "setup_s": []}
    try:
        for query, fns in requests:
            ids = _prompt(tok, query, fns)
            for label in ("plain", "grammar"):
                c = None
                if label == "grammar":
                    t0 = time.perf_counter()
                    c = call_constraint(_Shim(runner, tok), query, fns)
                    out["setup_s"].append(time.perf_counter() - t0)
                runner.reset()
                # time decode only: generate() runs the prompt first, so time a 1-token run and subtract
                t0 = time.perf_counter()
                runner.generate(ids, max_new_tokens=0, sampling=Sampling())
                t_prompt = time.perf_counter() - t0
                t0 = time.perf_counter()
                new = runner.generate(ids, max_new_tokens=max_new, sampling=Sampling(), constraint=c)
                dt = time.perf_counter() - t0 - t_prompt
                out[label][0] += len(new)
                out[label][1] += max(dt, 1e-9)
    finally:
        runner.close()
    return {"plain_tok_s": out["plain"][0] / out["plain"][1], "grammar_tok_s": out["grammar"][0] / out["grammar"][1],
            "tokens_plain": out["plain"][0], "tokens_grammar": out["grammar"][0],
            "grammar_setup_ms_median": 1000 * statistics.median(out["setup_s"])}


class _Shim:
    """The runner with the HF tokenizer (the constraint needs tokenizer.json; ids are the same: tested)."""

    def __init__(self, runner, tok):
        self.tokenizer, self.stop_ids = tok, runner.stop_ids


def _hf_tokenizer(path: Path | None = None):
    from phonelm_export.cli_options import bundled_model_path
    from phonelm_export.tokenizer import PhoneLMTokenizer

    return PhoneLMTokenizer.from_file(path or bundled_model_path())


def _export(ckpt: Path, out: Path) -> Path:
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.progress import Progress
    from phonelm_export.recipes import parse_recipe
    from phonelm_export.registry import get_backend

    recipe = parse_recipe('purpose = "bench"\nfamily = "experimental"\nbase = "q4_0"\n', "q4_0", "gguf")
    return get_backend("gguf").export(open_checkpoint(ckpt), recipe, out, force=True, progress=Progress(quiet=True)).path


def _row(name: str, r: dict) -> str:
    cost = 1 - r["grammar_tok_s"] / r["plain_tok_s"]
    return (f"| {name} | {r['plain_tok_s']:.0f} | {r['grammar_tok_s']:.0f} | {cost:+.1%} | "
            f"{r['tokens_plain']} / {r['tokens_grammar']} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="checkpoint to export (default: the bundled Call model)")
    ap.add_argument("--shape", choices=["tiny", "small", "0.5b"], help="also a random PhoneLM of this shape (q4_0)")
    ap.add_argument("--n", type=int, default=40, help="requests")
    ap.add_argument("--max-new", type=int, default=96)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="6 requests, no extra shape: a smoke run of the harness")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.shape = 6, None
    busy = busy_warning()
    from phonelm_export.cli_options import bundled_model_path

    requests = _requests(args.n)
    tok = _hf_tokenizer(Path(args.model) if args.model else None)
    results = {}
    with tempfile.TemporaryDirectory(prefix="constrained-bench-") as tmp:
        gguf = _export(Path(args.model) if args.model else bundled_model_path(), Path(tmp) / "call-q4_0.gguf")
        results["bundled Call model, llama.cpp grammar sampler"] = llama_cpp_sampler(gguf, requests, tok, args.threads, args.max_new)
        results["bundled Call model, llguidance in Runner.generate"] = llguidance_loop(gguf, requests, args.threads, args.max_new)
        if args.shape:
            from bench._models import make_checkpoint

            big = _export(make_checkpoint(args.shape, Path(tmp)), Path(tmp) / f"{args.shape}-q4_0.gguf")
            results[f"random {args.shape} q4_0, llama.cpp grammar sampler"] = llama_cpp_sampler(big, requests, tok, args.threads, args.max_new)
    print(f"Constrained decoding on llama.cpp ({args.n} held-out requests, greedy, {args.threads} threads"
          f"{'; machine busy: ' + busy if busy else ''})\n")
    print("| model, constraint | decode tok/s plain | decode tok/s constrained | cost | tokens plain / constrained |")
    print("|---|---|---|---|---|")
    for k, r in results.items():
        print(_row(k, r))
    extra = {k: {kk: vv for kk, vv in r.items() if kk.endswith("_median")} for k, r in results.items()}
    print("\nper-request grammar set-up (not in the decode speed): " + json.dumps(extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
