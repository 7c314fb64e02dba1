"""Measure a bundled model and write its model card (``README.md`` in the model directory).

Usage: ``python -m phonelm_export.train.model_card MODEL_DIR --commands FILE [--n 200] [--kind instruct]``.
``--commands`` is a text file with the exact commands that produced the model; they are
copied into the card verbatim so anyone can reproduce it.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


SPLITS = ("heldout", "heldout_phrasing", "heldout_multi")
MODES = ("given docs", "retrieved top-3")


def measure(model_dir: Path, n: int, seed: int = 123, splits=SPLITS, modes=MODES, constrained: bool = True) -> dict:
    """Exact / soft accuracy and the invalid-call rate (outputs that do not parse or map) per
    split and docs mode, unconstrained (greedy, as PhoneLM's own demo decodes) and, with
    ``constrained``, under the request's grammar — both through
    :func:`phonelm_export.intents.evaluate.run_examples`, the scorer ``call --heldout`` and
    ``verify --calls`` use."""
    from ..checkpoint import open_checkpoint
    from ..intents.evaluate import run_examples, split_examples
    from ..reference import ReferenceRunner

    runner = ReferenceRunner.from_checkpoint(open_checkpoint(model_dir))
    out = {}
    for split in splits:
        examples = split_examples(split, n, seed)
        for mode in modes:
            row = {"n": n}
            for label in ("unconstrained", "constrained") if constrained else ("unconstrained",):
                r = run_examples(runner, examples, constrain=label == "constrained", given_docs=mode == "given docs")
                row[label] = {k: r[k] for k in ("accuracy", "soft_accuracy", "invalid", "right_intents", "truncated")}
            out[f"{split} / {mode}"] = row
            print(split, mode, json.dumps(row), flush=True)
    return out


def _pct(row: dict, label: str, key: str) -> str:
    return f"{row[label][key]:.1%}" if label in row else "not measured"


def accuracy_rows(results: dict) -> str:
    return "\n".join(
        f"| {k} | {v['n']} | {_pct(v, 'unconstrained', 'accuracy')} | {_pct(v, 'unconstrained', 'soft_accuracy')} "
        f"| {_pct(v, 'unconstrained', 'invalid')} | {_pct(v, 'constrained', 'accuracy')} "
        f"| {_pct(v, 'constrained', 'soft_accuracy')} | {_pct(v, 'constrained', 'invalid')} |"
        for k, v in results.items())


_DEFAULT_NOTES = """Small models learn *which* function to call long before they learn to *copy* argument values (names,
numbers, messages) from the query: soft accuracy runs ahead of exact accuracy, and wrong answers usually
call the right function with an argument value remembered from training instead of the one in the query.
The copy drills, copy text and random stand-in values in the training corpus are there to fix exactly that."""


_INTRO = {
    "call": """trained
from scratch on CPU by `phonelm-export train` on a synthetic corpus our own code generates: DroidCall-format
intent calls for the 24 Android functions (single and multi-intent requests) and short chat turns. It is the
default `MODEL` of every `phonelm-export` command, so conversions, parity tests and the Android demo run on a
model that actually works. It is a test vehicle, not a general assistant: it knows these functions and little
else. Its chat sibling is `phonelm-tiny-instruct` (same architecture and tokenizer, chat-tuned).""",
    "instruct": """the
chat sibling of `phonelm-tiny-call`, like PhoneLM's own Instruct / Call pair: the same network after one more
short fine-tuning round that is mostly chat (a share of intent-call rows keeps calling alive). Trained on CPU by
`phonelm-export train` on the synthetic corpus our own code generates. It answers short questions about
itself and what it can do on a phone; it is a demonstrator of the chat path, not a general assistant.""",
}


def chat_section(chat: dict, samples: int = 10) -> str:
    """The quirk rate over the held-out chat prompts and a readable sample of replies."""
    import random

    rows = chat["rows"]
    pick = sorted(random.Random(0).sample(range(len(rows)), min(samples, len(rows))))
    sample = "\n".join(f"| {rows[i]['prompt']} | {rows[i]['reply'].replace('|', '/')} |" for i in pick)
    bad = [r for r in rows if r["quirk"]]
    listed = "".join(f"\n- `{r['prompt']}` -> \"{r['reply']}\" ({r['quirk']})" for r in bad[:10])
    return f"""## Chat (measured)

{chat['n']} held-out chat prompts (phrasings no training row contains, each lower-case and Capitalized;
`phonelm_export.train.chat_eval`), greedy, the chat template's default system prompt as `phonelm-export chat`
sends it. *Quirk*: the reply starts with the prompt's first word or repeats the whole prompt (the habit copy
training left in `phonelm-tiny-call`: `What can you do?` -> "What can set alarms ...").

**Quirk rate: {chat['quirks']} / {chat['n']} ({chat['quirk_rate']:.1%}).**{listed}

`What can you do?` -> "{chat['what_can_you_do']}"

Ten of the replies (a fixed random sample):

| prompt | reply |
|---|---|
{sample}
"""


def write_card(model_dir: Path, results: dict, commands: str, seconds: float, notes: str | None = None,
               kind: str = "call", chat: dict | None = None) -> Path:
    from ..checkpoint import open_checkpoint

    c = open_checkpoint(model_dir)
    d = c.dims
    log = json.loads((model_dir / "training_log.json").read_text()) if (model_dir / "training_log.json").is_file() else {}
    name = f"phonelm-tiny-{kind}"
    card = f"""# {name}

A {c.param_count() / 1e6:.2f} M-parameter model with **PhoneLM's architecture** (Llama with a gated-ReLU FFN,
tied embeddings, MHA, RMSNorm, rotate-half RoPE, PhoneLM's tokenizer pipeline and special ids, ChatML), {_INTRO[kind]}

| | |
|---|---|
| layers / hidden / FFN | {d.num_hidden_layers} / {d.hidden_size} / {d.intermediate_size} |
| heads (kv) x head_dim | {d.num_attention_heads} ({d.num_key_value_heads}) x {d.head_dim} |
| vocabulary | {d.vocab_size} (byte-level BPE, PhoneLM pre-tokenizer, specials 0-16) |
| context | {d.max_position_embeddings} |
| weights | {c.dtype}, {c.nbytes() / 1e6:.1f} MB, `model.safetensors` without `lm_head` (tied) |

{chat_section(chat) if chat else ""}
## Intent-calling accuracy (measured)

DroidCall metrics on synthetic queries never used in training, greedy decoding with the PyTorch reference:
*accuracy* = every call exactly right (name and arguments, defaults filled in); *soft* = mean fraction of
correct arguments; *invalid* = outputs that do not parse or do not map to intents. `heldout` uses the training
phrasings with slot values that never occur in training (names, numbers, times, messages...);
`heldout_phrasing` uses phrasings never seen in training; `heldout_multi` are multi-intent requests (two joined
requests, or a later call using an earlier result, 2-4 calls) with held-out values. "given docs" shows the prompt
the function docs of the example (needed ones plus distractors); "retrieved top-3" is the app's flow, BM25
retrieval of 3 docs from the query. *Constrained* decodes under the request's grammar
(`phonelm_export.intents.grammar`: only calls of the shown functions, typed values, verbatim values copied from
the request), which `phonelm-export call` applies by default.

| split / docs | queries | accuracy | soft | invalid | constrained accuracy | constrained soft | constrained invalid |
|---|---|---|---|---|---|---|---|
{accuracy_rows(results)}

Measured by `python -m phonelm_export.train.model_card` (seed 123) in {seconds:.0f} s.

## Limitations

{notes.strip() if notes else _DEFAULT_NOTES}

## Reproduce

```bash
{commands.strip()}
```

Training is deterministic for a seed and thread count on one machine; fp32 on CPU (bf16 is ~10x slower on
CPUs without bf16 units); the weights are stored as bfloat16 like PhoneLM's own checkpoints.
Stages of the last run: {json.dumps(log.get('stages', []))}.

## Data

Everything is generated by `phonelm_export.intents.synth` (phrasing templates x slot values from
`phonelm_export/intents/data/`, multi-intent templates in `multi.json`) and `phonelm_export.corpus`
(chat turns from `phonelm_export/prompts/synthetic_chat.json`); no third-party text. `--randomize` replaces
copied slot values in part of the training rows by random stand-ins, so the model learns to copy values from
the query instead of memorising word lists. Corpora of earlier stages were generated by the code of their
time (the data files have grown since), so re-running an old stage's `synth-data` today gives a similar, not
the identical, corpus.

## License

Apache-2.0, like the rest of phonelm-export.
"""
    path = model_dir / "README.md"
    path.write_text(card)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--commands", type=Path, required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--kind", choices=("call", "instruct"), default="call")
    ap.add_argument("--notes", type=Path, help="Markdown for the Limitations section (what was measured while training).")
    ap.add_argument("--results", type=Path, help="Write the measured numbers (JSON) here as well.")
    ap.add_argument("--no-constrain", action="store_true", help="Measure unconstrained decoding only.")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    results = measure(args.model, args.n, constrained=not args.no_constrain)
    chat = None
    if args.kind == "instruct":
        from ..checkpoint import open_checkpoint
        from ..reference import ReferenceRunner
        from .chat_eval import chat_reply, measure_chat

        runner = ReferenceRunner.from_checkpoint(open_checkpoint(args.model))
        chat = measure_chat(runner)
        chat["what_can_you_do"] = chat_reply(runner, "What can you do?")
    if args.results:
        args.results.write_text(json.dumps({"calls": results, "chat": chat}, indent=1))
    print(json.dumps(results, indent=2))
    print(write_card(args.model, results, args.commands.read_text(), time.perf_counter() - t0,
                     args.notes.read_text() if args.notes else None, args.kind, chat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
