"""``phonelm-export call``: the Android demo's intent-calling flow on the desktop."""
from __future__ import annotations

import json
import sys

import click

from ..cli_options import allow_pickle_option, emit_json, json_option


def _show_step(step: dict) -> list[str]:
    head = f"  result{step['call']} = {step['function']}"
    if "error" in step:
        return [f"{head}: ERROR ({step['error']['code']}) {step['error']['message']}"]
    if "query" in step:
        q = step["query"]
        return [f"{head}: contacts lookup of the {q['key']} of the contact with {q['by']} {q['value']!r}"]
    it = step["intent"]
    lines = [f"{head}: Intent {it['action']}" + (" (started for a result)" if it["returns"] else "")]
    if it["data"]:
        lines.append(f"      data      {it['data']}")
    if it["type"]:
        lines.append(f"      type      {it['type']}")
    for c in it["categories"]:
        lines.append(f"      category  {c}")
    for e in it["extras"]:
        lines.append(f"      extra     {e['key']} ({e['type']}) = {json.dumps(e['value'], ensure_ascii=False)}")
    return lines


def _evaluate(runner, n: int, seed: int, split: str, k: int, max_new_tokens: int, constrain: bool, as_json: bool) -> None:
    from .evaluate import run_examples, split_examples

    def progress(i, row):
        click.echo(f"[{i + 1}/{n}] {'OK ' if row['exact'] else 'BAD'} {row['query']!r} -> {row['output']!r}", err=True)

    report = run_examples(runner, split_examples(split, n, seed), constrain=constrain, k=k,
                          max_new_tokens=max_new_tokens, on_row=None if as_json else progress)
    rows = report.pop("rows")
    report = {"split": split, "seed": seed, "k": k, **report}
    if as_json:
        emit_json({**report, "examples": rows})
    else:
        click.echo(
            f"{split} ({'constrained' if constrain else 'unconstrained'}): {n} queries, exact {report['accuracy']:.1%}, "
            f"soft {report['soft_accuracy']:.1%}, invalid {report['invalid']:.1%}, "
            f"right intents {report['right_intents']:.1%}, needed docs retrieved {report['retrieval_recall']:.1%}"
        )


@click.command()
@click.argument("query", required=False)
@click.option("--model", "-m", metavar="MODEL|ARTIFACT",
              help="Call model: a checkpoint (PyTorch reference) or an exported .gguf / .pte / MLC dir. Default: the bundled model.")
@click.option("--map", "given_output", metavar="TEXT", help="Map this model output instead of running a model ('-' reads stdin).")
@click.option("-k", "--docs", "k", default=3, show_default=True, help="How many retrieved function docs the prompt shows (max 4).")
@click.option("--function", "functions", multiple=True, metavar="NAME", help="Show these function docs instead of retrieving (repeatable).")
@click.option("--timezone", "tz", default="UTC", show_default=True, help="IANA zone for ISO times without an offset (the phone's zone).")
@click.option("--max-new-tokens", default=160, show_default=True)
@click.option("--heldout", "heldout_n", type=int, metavar="N",
              help="Instead of one QUERY: run N held-out synthetic queries and report exact / soft accuracy and the right-intent rate.")
@click.option("--split", type=click.Choice(["heldout", "heldout_phrasing", "heldout_multi", "train"]), default="heldout",
              show_default=True, help="Which synthetic split --heldout draws from (heldout_multi: multi-intent requests).")
@click.option("--constrain/--no-constrain", default=True, show_default=True,
              help="Decode under the request's grammar (only calls that parse and map; copied values are spans of the "
                   "request), or freely as PhoneLM's own demo does.")
@click.option("--seed", default=0, show_default=True, help="Seed of the --heldout queries.")
@allow_pickle_option
@json_option
def call(query, model, given_output, k, functions, tz, max_new_tokens, heldout_n, split, seed, constrain, allow_pickle,
         as_json):
    """Turn a request into the Android intents the demo app would fire (a dry run: nothing is executed).

    \b
    The same flow as the app's intent-calling mode: the top-k function docs for QUERY (BM25),
    PhoneLM-Call's prompt, greedy generation (by default under the request's grammar: only calls
    of the shown functions with well-typed values, names and texts copied from QUERY), the call
    parser and the intent mapper. Example:
      phonelm-export call "wake me up at 7:30"
      phonelm-export call --map 'result0 = dial(phone_number="5550101")'
      phonelm-export call --heldout 100 --json
    In the dry run, a later call's resultN stands for what call N returns on the phone.
    """
    from ..errors import PhoneLMError
    from .mapper import plan  # noqa: F401  (fail early on a broken install)
    from .schema import FUNCTIONS

    if not 1 <= k <= 4:
        raise PhoneLMError("--docs must be 1 to 4 (the call prompt holds at most 4 docs)")
    unknown = [f for f in functions if f not in FUNCTIONS]
    if unknown:
        raise PhoneLMError(f"unknown function {unknown[0]!r}; see the 24 names in phonelm_export/intents/data/functions.json")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except Exception:
        raise PhoneLMError(f"unknown time zone {tz!r} (use an IANA name such as Europe/Berlin)") from None

    if given_output is not None:
        from .flow import map_output

        text = sys.stdin.read() if given_output == "-" else given_output
        res = map_output(query or "", list(functions), text, tz)
        return _print(res, as_json)

    from ..chat_cli import open_runner

    if heldout_n is not None:
        if heldout_n < 1:
            raise PhoneLMError("--heldout needs a positive number of queries")
        runner, _ = open_runner(model, allow_pickle)
        return _evaluate(runner, heldout_n, seed, split, k, max_new_tokens, constrain, as_json)
    if not query:
        raise PhoneLMError("give a QUERY (or --map TEXT, or --heldout N)")
    runner, label = open_runner(model, allow_pickle)
    if runner.tokenizer is None:
        raise PhoneLMError("the model has no tokenizer.json; the call prompt needs one")
    from .flow import run_call

    from .grammar import GrammarError

    try:
        res = run_call(runner, query, k=k, functions=list(functions) or None, max_new_tokens=max_new_tokens, tz=tz,
                       constrain=constrain)
    except GrammarError as e:
        raise PhoneLMError(f"{e} (QUERY {query!r}); --no-constrain decodes without the grammar") from None
    _print(res, as_json, label)


def _print(res, as_json: bool, label: str | None = None) -> None:
    if as_json:
        emit_json(res.to_json())
        return
    if res.query:
        click.echo(f"query:   {res.query}")
    if res.functions:
        click.echo(f"docs:    {', '.join(res.functions)}")
    if label:
        how = "constrained by the request's grammar" if res.constrained else "unconstrained"
        click.echo(f"model:   {label}, {res.prompt_tokens} prompt tokens, {res.new_tokens} new tokens in {res.seconds:.2f} s, {how}")
        if res.constrained and not res.complete:
            click.echo("warning: the token budget ran out before the call was complete (raise --max-new-tokens)")
    click.echo("output:")
    for line in (res.output.strip() or "(empty)").split("\n"):
        click.echo(f"  {line}")
    if res.parse_error:
        click.echo(f"not a valid call: {res.parse_error}")
        return
    if not res.steps:
        click.echo("no calls")
        return
    click.echo("intents (dry run; resultN stands for what call N returns on the phone):")
    for s in res.steps:
        for line in _show_step(s.to_json()):
            click.echo(line)


COMMANDS = [call]
