"""DroidCall's two metrics for one prediction.

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


__all__ = ["score", "score_many", "value_from_json"]
