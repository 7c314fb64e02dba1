"""``phonelm-export verify``: parity of every installed backend with the PyTorch reference."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from .cli_options import emit_json, json_option, model_argument, model_command, quiet_option, resolve_model


def _parse_thresholds(items: tuple[str, ...], flag: str) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            from .errors import PhoneLMError

            raise PhoneLMError(f"{flag} takes METRIC=NUMBER (e.g. top1=0.99), not {item!r}")
    return out


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@model_command("verify")
@model_argument
@click.option("--backends", help="Comma-separated backends (default: every installed one).")
@click.option("--recipes", help="Comma-separated recipe names or .toml paths (default: every recipe of each backend).")
@click.option("--artifacts", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Verify existing files instead of exporting (.gguf, .pte, MLC dir). Repeatable.")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default=Path("verify-report"), show_default=True,
              help="Where report.json, report.md, plot.png (and exported artifacts, with --keep) go.")
@click.option("--keep", is_flag=True, help="Keep the exported artifacts in OUT/artifacts.")
@click.option("--calls", "n_calls", type=int, help="Held-out intent-calling queries to score (default: 40 for a *call* model, else 0).")
@click.option("--text", "text_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Held-out text for perplexity (default: generated held-out conversations).")
@click.option("--window", default=256, show_default=True, help="Perplexity window (tokens).")
@click.option("--max-windows", default=8, show_default=True)
@click.option("--fail-under", multiple=True, metavar="METRIC=N", help="Fail when a higher-is-better metric is below N (top1, greedy_match, call_accuracy...).")
@click.option("--fail-over", multiple=True, metavar="METRIC=N", help="Fail when a lower-is-better metric is above N (kl, max_abs, ppl_rel...).")
@quiet_option
@json_option
def verify(model, backends, recipes, artifacts, out_dir, keep, n_calls, text_file, window, max_windows,
           fail_under, fail_over, quiet, as_json):
    """Export MODEL with every installed backend and recipe (or take --artifacts), run each in its
    real runtime, and compare with the PyTorch reference.

    Reports per backend x recipe: size, bits/weight, top-1 agreement, KL, max/mean |Δlogit|,
    perplexity and its change, greedy match, prefill/decode tok/s and (Call models) DroidCall
    accuracy. Default gates per recipe family live in verify_gates.toml; the exit status is 1
    when any row fails a gate or errors, so this works as a CI check.
    """
    from .progress import Progress
    from .verify import render_text, run_verify, write_report

    progress = Progress(quiet=quiet or as_json)
    text = text_file.read_text(encoding="utf-8") if text_file else None
    work = out_dir / "artifacts" if keep else Path(tempfile.mkdtemp(prefix="phonelm-verify-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        report = run_verify(
            resolve_model(model), backends=_split(backends), recipes=_split(recipes), artifacts=artifacts,
            work_dir=work, n_calls=n_calls, window=window, max_windows=max_windows, text=text,
            fail_under=_parse_thresholds(fail_under, "--fail-under"), fail_over=_parse_thresholds(fail_over, "--fail-over"),
            progress=progress,
        )
    finally:
        if not keep:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    files = write_report(report, out_dir)
    if as_json:
        emit_json({**report.to_dict(), "files": {k: str(v) for k, v in files.items()}})
    else:
        click.echo(render_text(report))
        click.echo(f"report: {', '.join(str(f) for f in files.values())}", err=True)
    sys.exit(0 if report.passed else 1)


COMMANDS = [verify]
