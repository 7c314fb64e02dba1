"""Parity of exported artifacts with the PyTorch reference, backend by backend.

For each backend x recipe (exported here, or given as existing artifacts) the same fixed
prompts, held-out text and held-out intent-calling queries go through the backend's runner
and through the reference, and the report holds: size, bits per weight, top-1 agreement,
mean KL, max/mean |Δlogit|, perplexity and its delta, greedy-generation match length,
prefill/decode tokens/s and, for a Call model, DroidCall accuracy and soft accuracy.
Gates (per recipe family, ``verify_gates.toml``, overridable) make it a CI check.

What runs by default, the time budget that sizes the measurements, the estimate of the time
left and the reuse of earlier exports are :mod:`phonelm_export.verify_plan`'s. The report is
handed to ``on_update`` after the reference and after every row, so an interrupted run
leaves a report (marked partial) of what it finished.
"""
from __future__ import annotations

import gc
import json
import time
import tomllib
import traceback
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .errors import MissingExtra, PhoneLMError
from .metrics import Perplexity, greedy_match_length, log_softmax, logit_parity, windows
from .progress import QUIET, Progress
from .verify_plan import Budget, fmt_duration

# the same prompts for every backend; chat prompts are rendered with the model's template
CHAT_PROMPTS = (
    "What can you do?",
    "Set an alarm for 6:45 tomorrow.",
    "What is 17 plus 25?",
    "Send an email to Alice about the meeting on Friday.",
)
RAW_PROMPTS = (
    "The phone rang twice before anyone answered, and the voice on the line said",
    "def fibonacci(n):\n    if n < 2:\n        return n\n",
)
#: greedy generation never shrinks below this many tokens per prompt, whatever the budget
MIN_GEN_TOKENS = 4
DEFAULT_BUDGET_MIN = 12.0


def default_gates() -> dict:
    return tomllib.loads(resources.files("phonelm_export").joinpath("verify_gates.toml").read_text())


@dataclass
class VerifyData:
    prompts: list[list[int]]
    text_ids: list[int]
    text_bytes: int
    calls: list[dict]


@dataclass
class ReferenceResults:
    logits: list[np.ndarray]
    window_nll: list[tuple[float, int]]  # (summed nats, scored tokens) per perplexity window
    greedy: list[list[int]]
    calls: dict | None
    windows: list[list[int]] = field(default_factory=list)

    def ppl(self, data: "VerifyData", n: int | None = None) -> Perplexity:
        return window_perplexity(self.window_nll[:n], self.windows[:n], data)


@dataclass
class Row:
    backend: str
    recipe: str
    family: str
    path: str | None = None
    metrics: dict = field(default_factory=dict)
    error: str | None = None
    failures: list[str] = field(default_factory=list)
    seconds: dict = field(default_factory=dict)  # export (None when reused or given), measure
    reused: bool = False

    def to_dict(self) -> dict:
        return {"backend": self.backend, "recipe": self.recipe, "family": self.family, "path": self.path,
                **self.metrics, "error": self.error, "failures": self.failures, "passed": self.passed,
                "seconds": self.seconds, "reused": self.reused}

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failures


def heldout_text(n_rows: int = 40, seed: int = 7) -> str:
    """The default held-out text: generated call and chat conversations (seeded, never trained on)."""
    from .tokenizer import render_chat
    from .corpus import call_rows, chat_examples

    rows = call_rows(n_rows, seed, "heldout") + chat_examples(n_rows // 2, seed)
    return "".join(render_chat(r["messages"], add_generation_prompt=False) for r in rows)


def build_data(tok, text: str | None, n_calls: int, seed: int = 11) -> VerifyData:
    prompts = [tok.encode(tok.render_chat([{"role": "user", "content": p}])) for p in CHAT_PROMPTS]
    prompts += [tok.encode(p) for p in RAW_PROMPTS]
    text = text if text is not None else heldout_text()
    calls = []
    if n_calls:
        from .intents.synth import make_call_examples

        calls = make_call_examples(n_calls, seed=seed, split="heldout")
    return VerifyData(prompts, tok.encode(text), len(text.encode("utf-8")), calls)


def _greedy(runner, prompt: Sequence[int], n: int) -> list[int]:
    return runner.generate(list(prompt), max_new_tokens=n)


def call_scores(runner, examples: list[dict]) -> dict:
    from .intents.evaluate import score
    from .intents.flow import run_call

    exact = soft = 0.0
    for ex in examples:
        res = run_call(runner, ex["query"], functions=ex["functions"])
        e, s = score(res.output, ex["calls"])
        exact += e
        soft += s
    n = max(1, len(examples))
    return {"call_accuracy": exact / n, "call_soft_accuracy": soft / n, "call_n": len(examples)}


def measure_speed(runner, prompt: Sequence[int], decode_steps: int = 32, repeats: int = 1) -> dict:
    """Prefill tokens/s over one prompt and decode tokens/s over ``decode_steps`` forced steps;
    with ``repeats`` > 1 the fastest of that many runs (the least disturbed on a shared machine)."""
    best = {"prefill_tok_s": 0.0, "decode_tok_s": 0.0}
    for _ in range(repeats):
        runner.reset()
        t0 = time.perf_counter()
        row = runner.prefill(list(prompt))
        t1 = time.perf_counter()
        for _ in range(decode_steps):
            row = runner.prefill([int(np.argmax(row))])
        t2 = time.perf_counter()
        best["prefill_tok_s"] = max(best["prefill_tok_s"], len(prompt) / (t1 - t0))
        best["decode_tok_s"] = max(best["decode_tok_s"], decode_steps / (t2 - t1))
    return best


def window_perplexity(scores: list[tuple[float, int]], ws: list[list[int]], data: VerifyData) -> Perplexity:
    """Perplexity over the first ``len(scores)`` windows; bytes scaled to the scored share of the text."""
    scored = sum(len(w) for w in ws[: len(scores)])
    return Perplexity(tokens=sum(t for _, t in scores), nll=sum(n for n, _ in scores),
                      bytes=max(1, round(data.text_bytes * scored / max(1, len(data.text_ids)))))


def score_windows(logits_fn, ws: list[list[int]], seconds: float | None = None) -> list[tuple[float, int]]:
    """(nll, tokens) of the windows in order: all of them, or — with ``seconds`` — as many as fit
    in that time, judged by the slowest window so far (at least one)."""
    out: list[tuple[float, int]] = []
    t0, slowest = time.monotonic(), 0.0
    for w in ws:
        if out and seconds is not None and time.monotonic() - t0 + slowest > seconds:
            break
        t = time.monotonic()
        lp = log_softmax(logits_fn(w)[:-1])
        out.append((float(-lp[np.arange(len(w) - 1), w[1:]].sum()), len(w) - 1))
        slowest = max(slowest, time.monotonic() - t)
    return out


def run_reference(ref, data: VerifyData, window: int, max_windows: int, gen_tokens: int,
                  seconds: float | None = None) -> ReferenceResults:
    logits = [ref.logits(p) for p in data.prompts]
    ws = windows(data.text_ids, window, max_windows)
    nll = score_windows(ref.logits, ws, seconds)
    greedy = [_greedy(ref, p, gen_tokens) for p in data.prompts]
    calls = call_scores(ref, data.calls) if data.calls else None
    return ReferenceResults(logits, nll, greedy, calls, ws[: len(nll)])


def reference_row(ref_runner, ref: ReferenceResults, data: VerifyData, param_count: int, nbytes: int) -> dict:
    """The reference's own row: its numbers against themselves (exact by construction) and its speed."""
    m = {"size_bytes": nbytes, "bits_per_weight": nbytes * 8 / param_count}
    m.update(logit_parity([(r, r) for r in ref.logits]).to_dict())
    ppl = ref.ppl(data)
    m.update({"ppl": ppl.ppl, "bits_per_byte": ppl.bits_per_byte, "ppl_rel": 0.0, "ppl_windows": len(ref.window_nll),
              "greedy_match": 1.0, "greedy_match_tokens": [len(g) for g in ref.greedy],
              "gen_tokens": max((len(g) for g in ref.greedy), default=0)})
    m.update(measure_speed(ref_runner, max(data.prompts, key=len)))
    if ref.calls:
        m.update(ref.calls)
    return m


def evaluate(runner, ref: ReferenceResults, data: VerifyData, *, gen_tokens: int, param_count: int,
             artifact_bytes: int | None, seconds: float | None = None) -> dict:
    """One backend's metrics against the reference; with ``seconds``, greedy generation and the
    perplexity windows are cut to what fits in that time (speed and parity always run)."""
    t0 = time.monotonic()
    m: dict = {}
    if artifact_bytes is not None:
        m["size_bytes"] = artifact_bytes
        m["bits_per_weight"] = artifact_bytes * 8 / param_count
    m.update(measure_speed(runner, max(data.prompts, key=len)))
    m.update(logit_parity([(r, runner.logits(p)) for r, p in zip(ref.logits, data.prompts)]).to_dict())
    left = None if seconds is None else max(0.0, seconds - (time.monotonic() - t0))
    n_gen = gen_tokens
    if left is not None:  # greedy may take 40 % of what is left, at the measured decode rate
        n_gen = int(0.4 * left * m["decode_tok_s"] / max(1, len(data.prompts)))
        n_gen = max(MIN_GEN_TOKENS, min(gen_tokens, n_gen))
    outs = [_greedy(runner, p, n_gen) for p in data.prompts]
    matches = [greedy_match_length(g[:n_gen], o) for g, o in zip(ref.greedy, outs)]
    m["greedy_match"] = float(np.mean([mt / max(1, min(n_gen, len(g))) if g else 1.0 for mt, g in zip(matches, ref.greedy)]))
    m["greedy_match_tokens"], m["gen_tokens"] = matches, n_gen
    left = None if seconds is None else max(0.0, seconds - (time.monotonic() - t0))
    nll = score_windows(runner.logits, ref.windows, left)
    ppl, ref_ppl = window_perplexity(nll, ref.windows, data), ref.ppl(data, len(nll))
    m.update({"ppl": ppl.ppl, "bits_per_byte": ppl.bits_per_byte, "ppl_rel": ppl.ppl / ref_ppl.ppl - 1.0,
              "ppl_windows": len(nll)})
    if data.calls:
        m.update(call_scores(runner, data.calls))
    return m


def check_gates(row: Row, gates: dict, overrides_min: dict, overrides_max: dict) -> None:
    g = dict(gates.get(row.family, gates.get("artifact", {})))
    mins = {"top1": g.get("top1")} if "top1" in g else {}
    maxs = {"ppl_rel": g.get("ppl_rel")} if "ppl_rel" in g else {}
    mins.update(overrides_min)
    maxs.update(overrides_max)
    for k, v in mins.items():
        if k in row.metrics and v is not None and row.metrics[k] < v:
            row.failures.append(f"{k} {row.metrics[k]:.4g} < {v:g}")
    for k, v in maxs.items():
        if k in row.metrics and v is not None and row.metrics[k] > v:
            row.failures.append(f"{k} {row.metrics[k]:.4g} > {v:g}")


@dataclass
class Report:
    model: str
    parameters: int
    rows: list[Row]
    reference: dict
    missing_backends: dict
    settings: dict
    #: set when the run stopped early: what stopped it; rows still to do are in ``pending``
    interrupted: str | None = None
    pending: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def partial(self) -> bool:
        return self.interrupted is not None or bool(self.pending)

    @property
    def passed(self) -> bool:
        return not self.partial and all(r.passed for r in self.rows)

    def to_dict(self) -> dict:
        return {"model": self.model, "parameters": self.parameters, "reference": self.reference,
                "rows": [r.to_dict() for r in self.rows], "missing_backends": self.missing_backends,
                "settings": self.settings, "passed": self.passed, "partial": self.partial,
                "interrupted": self.interrupted, "pending": self.pending, "elapsed_s": round(self.elapsed_s, 1)}


@dataclass
class Job:
    backend: str
    recipe: str
    family: str
    artifact: Path | None = None  # given with --artifacts: nothing to export

    @property
    def label(self) -> str:
        return f"{self.backend}/{self.recipe}"


def plan_jobs(backends: Sequence[str] | None, recipes: Sequence[str] | None, artifacts: Sequence, all_recipes: bool,
              ) -> tuple[list[Job], dict[str, str]]:
    """What to verify, and the selected backends that are not installed (with their install hint)."""
    from .recipes import list_recipes, load_recipe
    from .registry import backend_for_path, get_backend, names
    from .verify_plan import select_jobs

    if artifacts:
        jobs = []
        for a in artifacts:
            # a bare path, or (path, recipe name, recipe family) when the caller exported it
            path, recipe_name, family = (a, Path(a).name, "artifact") if isinstance(a, (str, Path)) else a
            jobs.append(Job(backend_for_path(path).name, recipe_name, family, Path(path)))
        return jobs, {}
    missing: dict[str, str] = {}
    present: list[tuple[str, str]] = []
    for name in backends or names():
        b = get_backend(name)
        try:
            b.check()
        except MissingExtra as e:
            missing[name] = str(e)
            continue
        present.append((name, b.default_recipe))
    recipes_of = lambda n: [(r, load_recipe(n, r).family) for r in list_recipes(n)]  # noqa: E731
    picked = select_jobs(present, recipes_of, all_recipes=all_recipes, explicit=list(recipes) if recipes else None)
    return [Job(b, r, load_recipe(b, r).family) for b, r in picked], missing


def export_or_reuse(job: Job, ckpt, work_dir: Path, reuse: bool, progress: Progress) -> tuple[Path, int, float | None, float | None]:
    """(artifact, size, bits/weight, export seconds or None when an earlier export was reused)."""
    from .recipes import load_recipe
    from .registry import get_backend
    from .verify_plan import export_stamp, reusable, write_stamp

    backend = get_backend(job.backend)
    recipe = load_recipe(job.backend, job.recipe)
    options = backend.verify_options(ckpt)
    out = backend.artifact_path(work_dir, f"{job.backend}-{Path(job.recipe).stem}")
    stamp = export_stamp(ckpt, backend, recipe, options)
    rec = reusable(out, stamp) if reuse else None
    if rec is not None:
        return out, int(rec["size_bytes"]), rec.get("bits_per_weight"), None
    t0 = time.monotonic()
    backend.register()
    art = backend.export(ckpt, recipe, out, force=True, progress=progress, **options)
    seconds = time.monotonic() - t0
    size, bpw = art.size_bytes(), art.meta.get("bits_per_weight")
    write_stamp(art.path, stamp, {"size_bytes": size, "bits_per_weight": bpw, "export_seconds": round(seconds, 1)})
    return art.path, size, bpw, seconds


def _error_text(e: BaseException) -> str:
    if isinstance(e, (MissingExtra, PhoneLMError)):
        return str(e)
    return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"


def verify_job(job: Job, row: Row, ckpt, ref: ReferenceResults, data: VerifyData, *, work_dir: Path, reuse: bool,
               gen_tokens: int, seconds_for: Callable[[], float], budget: Budget, progress: Progress) -> None:
    """Export (or reuse, or take) one artifact, load it in its runtime and fill ``row``."""
    from .registry import get_backend

    backend = get_backend(job.backend)
    runner = None
    try:
        backend.check()
        if job.artifact is None:
            artifact, size, bpw, took = export_or_reuse(job, ckpt, work_dir, reuse, progress)
            row.seconds["export"], row.reused = (None if took is None else round(took, 1)), took is None
            if took is not None:
                budget.record_export(job.backend, took)
        else:
            artifact, size, bpw = job.artifact, _artifact_size(job.artifact), None
        row.path = str(artifact)
        t0 = time.monotonic()
        share = seconds_for()
        progress.step(f"measuring {job.label} (up to {fmt_duration(share)} for generation and perplexity)")
        runner = backend.load(artifact)
        row.metrics = evaluate(runner, ref, data, gen_tokens=gen_tokens, param_count=ckpt.param_count(),
                               artifact_bytes=size, seconds=share)
        if bpw is not None:  # the backend's own count: weights only, not tokenizer or libraries
            row.metrics["bits_per_weight"] = float(bpw)
        row.seconds["measure"] = round(time.monotonic() - t0, 1)
        budget.measure_seconds.append(row.seconds["measure"])
    except Exception as e:  # a backend crash is a finding of verify, not a crash of verify
        row.error = _error_text(e)
        if not isinstance(e, (MissingExtra, PhoneLMError)):
            row.metrics["traceback"] = traceback.format_exc(limit=5)
    finally:
        if runner is not None:
            runner.close()


def run_verify(model_path: Path, *, backends: Sequence[str] | None = None, recipes: Sequence[str] | None = None,
               artifacts: Sequence = (), all_recipes: bool = False, work_dir: Path, reuse: bool = True,
               n_calls: int | None = None, window: int = 256, max_windows: int = 8, gen_tokens: int = 24,
               budget_minutes: float | None = DEFAULT_BUDGET_MIN, text: str | None = None, gates: dict | None = None,
               fail_under: dict | None = None, fail_over: dict | None = None, progress: Progress = QUIET,
               on_update: Callable[[Report], None] | None = None) -> Report:
    """Verify; ``budget_minutes`` None measures everything (every window, full generation).

    ``on_update(report)`` gets the report so far after the reference and after every row; on
    an interrupt (SIGINT, SIGTERM) it gets it once more, marked partial, before the interrupt
    propagates."""
    from .checkpoint import open_checkpoint

    ckpt = open_checkpoint(model_path)
    if ckpt.tokenizer_file is None:
        raise PhoneLMError(f"{ckpt.path}: verify needs tokenizer.json beside the weights")
    if n_calls is None:
        n_calls = 40 if "call" in ckpt.path.name.lower() else 0
    gates, params = gates or default_gates(), ckpt.param_count()
    budget = Budget((budget_minutes or 0) * 60, params)
    timed = budget_minutes is not None
    jobs, missing = plan_jobs(backends, recipes, artifacts, all_recipes)
    report = Report(model=str(ckpt.path), parameters=params, rows=[], reference={}, missing_backends=missing,
                    settings={"window": window, "max_windows": max_windows, "gen_tokens": gen_tokens, "calls": n_calls,
                              "budget_minutes": budget_minutes, "all_recipes": all_recipes},
                    pending=[j.label for j in jobs] + ["pytorch/reference"])
    update = (lambda: on_update(report)) if on_update else (lambda: None)
    current: Row | None = None
    try:
        ref, data = _reference_phase(ckpt, report, text, n_calls, window, max_windows, gen_tokens,
                                     budget if timed else None, len(jobs), progress)
        report.pending.remove("pytorch/reference")
        check_gates(report.rows[0], gates, fail_under or {}, fail_over or {})
        update()
        for i, job in enumerate(jobs):
            later = [j.backend for j in jobs[i + 1:] if j.artifact is None]
            current = Row(job.backend, job.recipe, job.family)
            report.rows.append(current)
            pending_exports = ([job.backend] if job.artifact is None else []) + later
            progress.step(f"[{i + 1}/{len(jobs)}] {'exporting' if job.artifact is None else 'loading'} {job.label} — "
                          f"{fmt_duration(budget.elapsed())} so far, about "
                          f"{fmt_duration(budget.estimate_left(pending_exports, len(jobs) - i))} left")
            verify_job(job, current, ckpt, ref, data, work_dir=work_dir, reuse=reuse, gen_tokens=gen_tokens,
                       seconds_for=(lambda: budget.row_share(later)) if timed else (lambda: None),
                       budget=budget, progress=progress)
            if current.error is None:
                check_gates(current, gates, fail_under or {}, fail_over or {})
            report.pending.remove(job.label)
            current = None
            report.elapsed_s = budget.elapsed()
            update()
    except BaseException as e:  # KeyboardInterrupt, Interrupted (SIGTERM): leave a partial report
        if isinstance(e, Exception):
            raise
        report.interrupted = str(e) or type(e).__name__
        if current is not None:
            current.error = f"interrupted ({report.interrupted})"
        report.elapsed_s = budget.elapsed()
        update()
        raise
    progress.step(f"verify finished in {fmt_duration(budget.elapsed())}")
    return report


def _reference_phase(ckpt, report: Report, text, n_calls, window, max_windows, gen_tokens, budget: Budget | None,
                     n_jobs: int, progress: Progress) -> tuple[ReferenceResults, VerifyData]:
    """The reference's outputs every row is compared with, and its own row; then its weights go
    (a 1.5B reference holds 6.5 GB that the exports need)."""
    from .reference import ReferenceRunner

    progress.step(f"[0/{n_jobs}] running the PyTorch reference")
    ref_runner = ReferenceRunner.from_checkpoint(ckpt)
    data = build_data(ref_runner.tokenizer, text, n_calls)
    ref = run_reference(ref_runner, data, window, max_windows, gen_tokens,
                        seconds=budget.reference_share() if budget else None)
    report.reference = {"ppl": ref.ppl(data).to_dict(), "ppl_windows": len(ref.window_nll), **(ref.calls or {})}
    report.settings.update({"prompts": len(data.prompts), "heldout_tokens": len(data.text_ids)})
    row = Row("pytorch", "reference", "reference")
    t0 = time.monotonic()
    row.metrics = reference_row(ref_runner, ref, data, ckpt.param_count(), ckpt.nbytes())
    row.seconds = {"export": None, "measure": round(time.monotonic() - t0, 1)}
    report.rows.append(row)
    del ref_runner
    gc.collect()
    return ref, data


def _artifact_size(p: Path) -> int:
    p = Path(p)
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return p.stat().st_size


# -- rendering ------------------------------------------------------------------------------
COLUMNS = [
    ("backend", "{}"), ("recipe", "{}"), ("size_bytes", "{:,.0f}"), ("bits_per_weight", "{:.2f}"),
    ("top1", "{:.2%}"), ("kl", "{:.2e}"), ("max_abs", "{:.3g}"), ("mean_abs", "{:.3g}"), ("ppl", "{:.3f}"),
    ("ppl_rel", "{:+.2%}"), ("ppl_windows", "{}"), ("greedy_match", "{:.0%}"), ("prefill_tok_s", "{:.0f}"),
    ("decode_tok_s", "{:.1f}"), ("call_accuracy", "{:.1%}"), ("call_soft_accuracy", "{:.1%}"), ("time", "{}"),
    ("status", "{}"),
]


def _row_time(r: Row) -> str:
    exp, meas = r.seconds.get("export"), r.seconds.get("measure")
    parts = ["reused" if r.reused else (f"{exp:.0f}s" if exp is not None else None),
             f"{meas:.0f}s" if meas is not None else None]
    return "+".join(p for p in parts if p) or "-"


def summary_line(report: Report) -> str:
    """The last line of the report: perplexity of the reference and the verdict (PARTIAL when
    the run stopped early: what stopped it and what was not run)."""
    ppl = report.reference.get("ppl")
    head = (f"reference perplexity {ppl['ppl']:.3f} over {ppl['tokens']} tokens "
            f"({report.reference.get('ppl_windows')} windows); " if ppl else "")
    if report.partial:
        why = f"interrupted ({report.interrupted})" if report.interrupted else "still running"
        return head + f"PARTIAL: {why} after {report.elapsed_s:.0f} s; not run: {', '.join(report.pending) or 'none'}"
    return head + f"{'PASSED' if report.passed else 'FAILED'} in {report.elapsed_s:.0f} s"


def table_rows(report: Report) -> list[list[str]]:
    out = []
    for r in report.rows:
        d = r.to_dict()
        d["status"] = "ok" if r.passed else ("ERROR " + r.error if r.error else "FAIL " + "; ".join(r.failures))
        d["time"] = _row_time(r)
        cells = []
        for key, fmt in COLUMNS:
            v = d.get(key)
            cells.append("-" if v is None else (fmt.format(v) if not isinstance(v, str) else v))
        out.append(cells)
    return out


def render_text(report: Report) -> str:
    head = [k for k, _ in COLUMNS]
    rows = table_rows(report)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    lines = [line(head), line(["-" * w for w in widths]), *map(line, rows)]
    for name, hint in report.missing_backends.items():
        lines.append(f"not verified: {name} — {hint}")
    lines.append(summary_line(report))
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    head = [k for k, _ in COLUMNS]
    out = [f"# verify: {report.model}", "", f"{report.parameters:,} parameters; settings {json.dumps(report.settings)}", "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in table_rows(report)]
    for name, hint in report.missing_backends.items():
        out.append(f"\nNot verified: **{name}** — {hint}")
    verdict = "PARTIAL" if report.partial else ("PASSED" if report.passed else "FAILED")
    out.append(f"\nResult: **{verdict}** — {summary_line(report)}")
    return "\n".join(out) + "\n"


def plot(report: Report, path: Path) -> bool:
    """Size vs perplexity, one colour per backend; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    by_backend: dict[str, list[Row]] = {}
    for r in report.rows:
        if "ppl" in r.metrics and "size_bytes" in r.metrics:
            by_backend.setdefault(r.backend, []).append(r)
    for name, rows in by_backend.items():
        xs = [r.metrics["size_bytes"] / 1e6 for r in rows]
        ys = [r.metrics["ppl"] for r in rows]
        ax.scatter(xs, ys, label=name, s=40)
        for r, x, y in zip(rows, xs, ys):
            ax.annotate(r.recipe, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.axhline(report.reference["ppl"]["ppl"], color="grey", lw=0.8, ls="--", label="reference ppl")
    ax.set_xlabel("artifact size (MB)")
    ax.set_ylabel("perplexity on held-out text")
    ax.set_title(f"{Path(report.model).name}: size vs perplexity")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _replace_text(path: Path, text: str) -> None:
    """Whole file or nothing: a reader polling a running verify never sees half a report."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def write_report(report: Report, out_dir: Path, plot_png: bool = True) -> dict[str, Path]:
    """report.json, report.md and (``plot_png``, and not for a partial report) plot.png."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"json": out_dir / "report.json", "md": out_dir / "report.md"}
    _replace_text(files["json"], json.dumps(report.to_dict(), indent=2, default=float) + "\n")
    _replace_text(files["md"], render_markdown(report))
    if plot_png and not report.partial and plot(report, out_dir / "plot.png"):
        files["png"] = out_dir / "plot.png"
    return files
