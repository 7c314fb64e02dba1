"""The whole intent-calling flow of the app, on the desktop: retrieval -> call prompt ->
generation -> parser -> mapper. ``phonelm-export call`` and its held-out evaluation use it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..tokenizer import call_messages
from .calls import Call
from .mapper import DryRunDevice, Step, plan
from .parser import CallParseError, parse_calls
from .retrieval import select_docs
from .schema import render_doc


@dataclass
class CallResult:
    query: str
    functions: list[str]
    output: str
    calls: list[Call] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    parse_error: str | None = None
    prompt_tokens: int = 0
    new_tokens: int = 0
    seconds: float = 0.0
    constrained: bool = False
    complete: bool = True  # a constrained output reached the end of its grammar (False: the budget cut it)

    @property
    def invalid(self) -> bool:
        """The output fails to parse, gives no call, or a call fails to map (the invalid-call rate counts these)."""
        return not self.ok

    @property
    def ok(self) -> bool:
        return self.parse_error is None and bool(self.steps) and all(s.error is None for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "functions": self.functions,
            "output": self.output,
            "parse_error": self.parse_error,
            "calls": [c.to_json() for c in self.calls],
            "intents": [s.to_json() for s in self.steps],
            "ok": self.ok,
            "prompt_tokens": self.prompt_tokens,
            "new_tokens": self.new_tokens,
            "seconds": round(self.seconds, 3),
            "constrained": self.constrained,
        }


def prompt_ids(tokenizer, query: str, functions: list[str]) -> list[int]:
    messages = call_messages(query, [render_doc(n) for n in functions])
    return tokenizer.encode(tokenizer.render_chat(messages, add_generation_prompt=True))


def map_output(query: str, functions: list[str], output: str, tz: str = "UTC", device=None) -> CallResult:
    res = CallResult(query, functions, output)
    try:
        res.calls = parse_calls(output)
    except CallParseError as e:
        res.parse_error = str(e)
        return res
    res.steps = plan(res.calls, device if device is not None else DryRunDevice(), tz)
    return res


def call_constraint(runner, query: str, functions: list[str]):
    """The grammar constraint of one request: only outputs that parse and map, verbatim values copied from ``query``."""
    from ..constrain import GrammarConstraint
    from .grammar import call_grammar

    return GrammarConstraint(call_grammar(query, functions), runner.tokenizer, runner.stop_ids)


def run_call(runner, query: str, *, k: int = 3, functions: list[str] | None = None, max_new_tokens: int = 160,
             tz: str = "UTC", device=None, constrain: bool = True) -> CallResult:
    """Ask the Call model for ``query`` (docs: ``functions`` or the top-``k`` retrieved) and map its answer.

    ``constrain`` (default): decode under the request's grammar (:mod:`.grammar`), so the output
    always parses and maps unless the token budget runs out first; False decodes freely, as
    PhoneLM's own demo does."""
    from ..backend import Sampling, fit_to_context

    functions = list(functions) if functions is not None else select_docs(query, k)
    ids = prompt_ids(runner.tokenizer, query, functions)
    # refuse a prompt that cannot fit before building its grammar: the grammar grows with the
    # request (its verbatim spans), and an over-long one only costs time to be refused anyway
    fit_to_context(len(ids), max_new_tokens, runner.context_limit())
    constraint = call_constraint(runner, query, functions) if constrain else None
    t0 = time.perf_counter()
    out = generate(runner, ids, max_new_tokens, Sampling(), constraint)  # greedy, as the app decodes
    dt = time.perf_counter() - t0
    text = runner.tokenizer.decode(out, skip_special_tokens=True) if _accepts_skip(runner.tokenizer) else runner.tokenizer.decode(out)
    res = map_output(query, functions, text, tz, device)
    res.prompt_tokens, res.new_tokens, res.seconds = len(ids), len(out), dt
    res.constrained = constraint is not None
    res.complete = constraint.complete if constraint is not None else True
    return res


def generate(runner, ids, max_new_tokens, sampling, constraint=None) -> list[int]:
    """``runner.generate`` (the runners' common decode loop), under ``constraint`` when given."""
    if constraint is None:
        return runner.generate(ids, max_new_tokens=max_new_tokens, sampling=sampling)
    return runner.generate(ids, max_new_tokens=max_new_tokens, sampling=sampling, constraint=constraint)


def _accepts_skip(tok) -> bool:
    import inspect

    try:
        return "skip_special_tokens" in inspect.signature(tok.decode).parameters
    except (TypeError, ValueError):
        return False
