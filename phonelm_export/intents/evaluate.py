"""Scoring Call model outputs: DroidCall's two metrics, and whole runs over a synthetic split.

:func:`run_examples` runs a model (any runner) over examples and reports exact and soft
accuracy, the invalid-call rate (outputs that fail to parse or map) and the right-intent rate,
constrained or not; ``phonelm-export call --heldout``, ``verify --calls`` and the model card
all score through it.

``exact``: every expected call is predicted, in order, with the right name and the right
arguments after the schema's defaults are filled in on both sides (``EXTRA_SKIP_UI=True``
written out equals leaving it out), and no extra call is predicted.
``soft``: the mean over call slots (``max(len(expected), len(predicted))``) of the fraction of
arguments that are right, counting the arguments either side sets to a non-default value (a
call where both leave everything at its default counts 1 when its name is right); a wrong
name scores 0 for that call, an unparseable output 0 overall.
References compare by the position of the call they name, so ``result3`` in a prediction
that numbers its calls differently still matches.
"""
from __future__ import annotations

from typing import Any, Iterable

from .calls import Call, ResultRef, value_from_json
from .parser import CallParseError, parse_calls
from .schema import FUNCTIONS


_MISSING = object()


def _as_calls(calls: Iterable[Call | dict]) -> list[Call]:
    return [c if isinstance(c, Call) else Call.from_json(c) for c in calls]


def _canonical(v: Any, positions: dict[int, int]) -> Any:
    if isinstance(v, ResultRef):
        return ("ref", positions.get(v.n, -1))
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, list):
        return tuple(_canonical(x, positions) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _canonical(x, positions)) for k, x in v.items()))
    return v


def _filled(call: Call, positions: dict[int, int]) -> dict[str, Any]:
    fn = FUNCTIONS.get(call.name)
    args = dict(fn.defaults()) if fn else {}
    args.update({k: v for k, v in call.arguments.items() if not (v is None and fn and fn.arg(k) and not fn.arg(k).required)})
    return {k: _canonical(v, positions) for k, v in args.items()}


def score(predicted_text: str, expected_calls: Iterable[Call | dict]) -> tuple[bool, float]:
    """``(exact, soft)`` of a model output against the expected calls (Call objects or their JSON)."""
    expected = _as_calls(expected_calls)
    try:
        predicted = parse_calls(predicted_text)
    except CallParseError:
        return False, 0.0
    if not expected and not predicted:
        return True, 1.0
    epos = {c.id: i for i, c in enumerate(expected)}
    ppos = {c.id: i for i, c in enumerate(predicted)}
    total = 0.0
    exact = len(expected) == len(predicted)
    for e, p in zip(expected, predicted):
        if e.name != p.name:
            exact = False
            continue
        ea, pa = _filled(e, epos), _filled(p, ppos)
        if ea != pa:
            exact = False
        # arguments that matter: those either side sets to something other than the default,
        # so untouched optional arguments do not inflate the score
        defaults = _filled(Call(e.id, e.name, {}), epos)
        keys = [k for k in dict.fromkeys([*ea, *pa]) if ea.get(k, _MISSING) != defaults.get(k, _MISSING)
                or pa.get(k, _MISSING) != defaults.get(k, _MISSING)]
        if not keys:
            total += 1.0
        else:
            total += sum(1 for k in keys if ea.get(k, _MISSING) == pa.get(k, _MISSING)) / len(keys)
    return exact, total / max(len(expected), len(predicted))


def score_many(pairs: Iterable[tuple[str, Iterable[Call | dict]]]) -> dict[str, float]:
    """Accuracy and soft accuracy (both in [0, 1]) over (prediction, expected calls) pairs."""
    n = exact = 0
    soft = 0.0
    for text, calls in pairs:
        e, s = score(text, calls)
        n += 1
        exact += e
        soft += s
    return {"n": n, "accuracy": exact / n if n else 0.0, "soft_accuracy": soft / n if n else 0.0}




# --- running a model over a synthetic split ---------------------------------------------------------

EVAL_SPLITS = ("heldout", "heldout_phrasing", "heldout_multi", "train")


def split_examples(split: str, n: int, seed: int = 0) -> list[dict]:
    """``n`` synthetic examples of ``split``; ``heldout_multi`` = multi-intent requests with held-out values."""
    from .synth import make_call_examples, make_multi_examples

    if split == "heldout_multi":
        return make_multi_examples(n, seed=seed, split="heldout")
    if split not in EVAL_SPLITS:
        raise ValueError(f"split must be one of {', '.join(EVAL_SPLITS)}, got {split!r}")
    return make_call_examples(n, seed=seed, split=split)


def run_examples(runner, examples: list[dict], *, constrain: bool = True, given_docs: bool = False, k: int = 3,
                 max_new_tokens: int = 160, on_row=None) -> dict:
    """Exact and soft accuracy, the invalid-call rate and the right-intent rate of ``runner`` on ``examples``.

    ``given_docs``: show each example's own docs (the needed ones plus distractors) instead of the
    top-``k`` retrieved ones; ``constrain``: decode under the request's grammar. Invalid = the
    output does not parse, holds no call, or a call does not map (``CallResult.ok`` is False);
    ``truncated`` counts constrained outputs the token budget cut before the grammar was complete.
    ``on_row(i, row)`` sees every row as it is scored (progress output).
    """
    from .flow import map_output, run_call

    n = len(examples)
    tot = {"exact": 0.0, "soft": 0.0, "invalid": 0.0, "right_intents": 0.0, "retrieved": 0.0, "truncated": 0.0}
    rows = []
    for i, ex in enumerate(examples):
        res = run_call(runner, ex["query"], k=k, functions=ex["functions"] if given_docs else None,
                       max_new_tokens=max_new_tokens, constrain=constrain)
        e, s = score(res.output, ex["calls"])
        want = map_output(ex["query"], ex["functions"], ex["output"])
        same = res.parse_error is None and [x.to_json() for x in res.steps] == [x.to_json() for x in want.steps]
        got_docs = all(c["name"] in res.functions for c in ex["calls"])
        row = {"query": ex["query"], "expected": ex["output"], "output": res.output, "exact": e, "soft": s,
               "invalid": res.invalid, "right_intents": same, "docs_retrieved": got_docs,
               "truncated": res.constrained and not res.complete}
        for key, v in (("exact", e), ("soft", s), ("invalid", res.invalid), ("right_intents", same),
                       ("retrieved", got_docs), ("truncated", row["truncated"])):
            tot[key] += v
        rows.append(row)
        if on_row:
            on_row(i, row)
    d = max(n, 1)
    return {"n": n, "constrained": constrain, "docs": "given" if given_docs else f"retrieved top-{k}",
            "accuracy": tot["exact"] / d, "soft_accuracy": tot["soft"] / d, "invalid": tot["invalid"] / d,
            "right_intents": tot["right_intents"] / d, "retrieval_recall": tot["retrieved"] / d,
            "truncated": tot["truncated"] / d, "rows": rows}


__all__ = ["score", "score_many", "value_from_json", "split_examples", "run_examples", "EVAL_SPLITS"]
