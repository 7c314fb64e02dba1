"""Parity of exported artifacts with the PyTorch reference, backend by backend.

For every backend x recipe (exported here, or given as existing artifacts) the same fixed
prompts, held-out text and held-out intent-calling queries go through the backend's runner
and through the reference, and the report holds: size, bits per weight, top-1 agreement,
mean KL, max/mean |Δlogit|, perplexity and its delta, greedy-generation match length,
prefill/decode tokens/s and, for a Call model, DroidCall accuracy and soft accuracy.
Gates (per recipe family, ``verify_gates.toml``, overridable) make it a CI check.
"""
from __future__ import annotations

import json
import time
import tomllib
import traceback
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import MissingExtra, PhoneLMError
from .metrics import greedy_match_length, logit_parity, perplexity
from .progress import QUIET, Progress

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
    ppl: dict
    greedy: list[list[int]]
    calls: dict | None


@dataclass
class Row:
    backend: str
    recipe: str
    family: str
    path: str | None = None
    metrics: dict = field(default_factory=dict)
    error: str | None = None
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"backend": self.backend, "recipe": self.recipe, "family": self.family, "path": self.path,
                **self.metrics, "error": self.error, "failures": self.failures, "passed": self.passed}

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failures


def heldout_text(n_rows: int = 40, seed: int = 7) -> str:
    """The default held-out text: generated call and chat conversations (seeded, never trained on)."""
    from .tokenizer import render_chat
    from .train.synthetic import call_rows, chat_examples

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


def run_reference(ref, data: VerifyData, window: int, max_windows: int, gen_tokens: int) -> ReferenceResults:
    logits = [ref.logits(p) for p in data.prompts]
    ppl = perplexity(ref.logits, data.text_ids, data.text_bytes, window, max_windows).to_dict()
    greedy = [_greedy(ref, p, gen_tokens) for p in data.prompts]
    calls = call_scores(ref, data.calls) if data.calls else None
    return ReferenceResults(logits, ppl, greedy, calls)


def evaluate(runner, ref: ReferenceResults, data: VerifyData, *, window: int, max_windows: int,
             gen_tokens: int, param_count: int, artifact_bytes: int | None) -> dict:
    m: dict = {}
    if artifact_bytes is not None:
        m["size_bytes"] = artifact_bytes
        m["bits_per_weight"] = artifact_bytes * 8 / param_count
    parity = logit_parity([(r, runner.logits(p)) for r, p in zip(ref.logits, data.prompts)])
    m.update(parity.to_dict())
    ppl = perplexity(runner.logits, data.text_ids, data.text_bytes, window, max_windows).to_dict()
    m["ppl"], m["bits_per_byte"] = ppl["ppl"], ppl["bits_per_byte"]
    m["ppl_rel"] = ppl["ppl"] / ref.ppl["ppl"] - 1.0
    matches = [greedy_match_length(g, _greedy(runner, p, gen_tokens)) for g, p in zip(ref.greedy, data.prompts)]
    m["greedy_match"] = float(np.mean([mt / max(1, min(gen_tokens, len(g))) if g else 1.0 for mt, g in zip(matches, ref.greedy)]))
    m["greedy_match_tokens"] = matches
    m.update(measure_speed(runner, max(data.prompts, key=len)))
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

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    def to_dict(self) -> dict:
        return {"model": self.model, "parameters": self.parameters, "reference": self.reference,
                "rows": [r.to_dict() for r in self.rows], "missing_backends": self.missing_backends,
                "settings": self.settings, "passed": self.passed}


def run_verify(model_path: Path, *, backends: Sequence[str] | None = None, recipes: Sequence[str] | None = None,
               artifacts: Sequence[Path] = (), work_dir: Path, n_calls: int | None = None, window: int = 256,
               max_windows: int = 8, gen_tokens: int = 24, text: str | None = None, gates: dict | None = None,
               fail_under: dict | None = None, fail_over: dict | None = None,
               progress: Progress = QUIET) -> Report:
    from .checkpoint import open_checkpoint
    from .recipes import list_recipes, load_recipe
    from .reference import ReferenceRunner
    from .registry import backend_for_path, get_backend, names

    ckpt = open_checkpoint(model_path)
    if ckpt.tokenizer_file is None:
        raise PhoneLMError(f"{ckpt.path}: verify needs tokenizer.json beside the weights")
    if n_calls is None:
        n_calls = 40 if "call" in ckpt.path.name.lower() else 0
    gates = gates or default_gates()
    progress.step("running the PyTorch reference")
    ref_runner = ReferenceRunner.from_checkpoint(ckpt)
    data = build_data(ref_runner.tokenizer, text, n_calls)
    ref = run_reference(ref_runner, data, window, max_windows, gen_tokens)
    params = ckpt.param_count()

    rows: list[Row] = []
    self_row = Row("pytorch", "reference", "reference")
    self_row.metrics = evaluate(ref_runner, ref, data, window=window, max_windows=max_windows, gen_tokens=gen_tokens,
                                param_count=params, artifact_bytes=ckpt.nbytes())
    rows.append(self_row)

    missing: dict[str, str] = {}
    jobs: list[tuple[str, str, str, Path | None]] = []  # backend, recipe, family, artifact
    if artifacts:
        for a in artifacts:
            # a bare path, or (path, recipe name, recipe family) when the caller exported it
            path, recipe_name, family = (a, Path(a).name, "artifact") if isinstance(a, (str, Path)) else a
            jobs.append((backend_for_path(path).name, recipe_name, family, Path(path)))
    else:
        for name in backends or names():
            b = get_backend(name)
            try:
                b.check()
            except MissingExtra as e:
                missing[name] = str(e)
                continue
            for r in recipes or list_recipes(name):
                if r not in list_recipes(name) and not Path(r).is_file():
                    continue  # a recipe named for another backend
                jobs.append((name, r, load_recipe(name, r).family, None))

    for name, recipe_name, family, artifact in jobs:
        row = Row(name, recipe_name, family)
        rows.append(row)
        backend = get_backend(name)
        runner = None
        try:
            backend.check()
            if artifact is None:
                recipe = load_recipe(name, recipe_name)
                out = backend.artifact_path(work_dir, f"{name}-{recipe_name}")
                progress.step(f"exporting {name}/{recipe_name}")
                backend.register()
                art = backend.export(ckpt, recipe, out, force=True, progress=progress, **backend.verify_options(ckpt))
                artifact, size, bpw = art.path, art.size_bytes(), art.meta.get("bits_per_weight")
            else:
                size, bpw = _artifact_size(artifact), None
            row.path = str(artifact)
            progress.step(f"measuring {name}/{recipe_name}")
            runner = backend.load(artifact)
            row.metrics = evaluate(runner, ref, data, window=window, max_windows=max_windows, gen_tokens=gen_tokens,
                                   param_count=params, artifact_bytes=size)
            if bpw is not None:  # the backend's own count: weights only, not tokenizer or libraries
                row.metrics["bits_per_weight"] = float(bpw)
        except MissingExtra as e:
            row.error = str(e)
        except PhoneLMError as e:
            row.error = str(e)
        except Exception as e:  # a backend crash is a finding of verify, not a crash of verify
            row.error = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
            row.metrics["traceback"] = traceback.format_exc(limit=5)
        finally:
            if runner is not None:
                runner.close()
        if row.error is None:
            check_gates(row, gates, fail_under or {}, fail_over or {})
    check_gates(self_row, gates, fail_under or {}, fail_over or {})
    return Report(
        model=str(ckpt.path), parameters=params, rows=rows,
        reference={"ppl": ref.ppl, **(ref.calls or {})}, missing_backends=missing,
        settings={"window": window, "max_windows": max_windows, "gen_tokens": gen_tokens, "prompts": len(data.prompts),
                  "heldout_tokens": len(data.text_ids), "calls": n_calls},
    )


def _artifact_size(p: Path) -> int:
    p = Path(p)
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return p.stat().st_size


# -- rendering ------------------------------------------------------------------------------
COLUMNS = [
    ("backend", "{}"), ("recipe", "{}"), ("size_bytes", "{:,.0f}"), ("bits_per_weight", "{:.2f}"),
    ("top1", "{:.2%}"), ("kl", "{:.2e}"), ("max_abs", "{:.3g}"), ("mean_abs", "{:.3g}"), ("ppl", "{:.3f}"),
    ("ppl_rel", "{:+.2%}"), ("greedy_match", "{:.0%}"), ("prefill_tok_s", "{:.0f}"), ("decode_tok_s", "{:.1f}"),
    ("call_accuracy", "{:.1%}"), ("call_soft_accuracy", "{:.1%}"), ("status", "{}"),
]


def table_rows(report: Report) -> list[list[str]]:
    out = []
    for r in report.rows:
        d = r.to_dict()
        d["status"] = "ok" if r.passed else ("ERROR " + r.error if r.error else "FAIL " + "; ".join(r.failures))
        cells = []
        for key, fmt in COLUMNS:
            v = d.get(key)
            cells.append("-" if v is None else (fmt.format(v) if not isinstance(v, str) else v))
        out.append(cells)
    return out


def render_text(report: Report) -> str:
    head = [k for k, _ in COLUMNS]
    rows = table_rows(report)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    lines = [line(head), line(["-" * w for w in widths]), *map(line, rows)]
    for name, hint in report.missing_backends.items():
        lines.append(f"not verified: {name} — {hint}")
    lines.append(f"reference perplexity {report.reference['ppl']['ppl']:.3f} over {report.reference['ppl']['tokens']} tokens; "
                 f"{'PASSED' if report.passed else 'FAILED'}")
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    head = [k for k, _ in COLUMNS]
    out = [f"# verify: {report.model}", "", f"{report.parameters:,} parameters; settings {json.dumps(report.settings)}", "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in table_rows(report)]
    for name, hint in report.missing_backends.items():
        out.append(f"\nNot verified: **{name}** — {hint}")
    out.append(f"\nResult: **{'PASSED' if report.passed else 'FAILED'}**")
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


def write_report(report: Report, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"json": out_dir / "report.json", "md": out_dir / "report.md"}
    files["json"].write_text(json.dumps(report.to_dict(), indent=2, default=float) + "\n")
    files["md"].write_text(render_markdown(report))
    if plot(report, out_dir / "plot.png"):
        files["png"] = out_dir / "plot.png"
    return files
