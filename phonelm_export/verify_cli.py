"""``phonelm-export verify``: parity of the installed backends with the PyTorch reference."""
from __future__ import annotations

import shutil
import sys
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


def _remove_exports(work: Path, whole: bool) -> None:
    """Delete this run's exports: the whole directory when verify created it, else only the
    stamped exports in it (a user's own ``artifacts`` folder keeps its other files)."""
    from .verify_plan import STAMP_SUFFIX

    if whole:
        shutil.rmtree(work, ignore_errors=True)
        return
    for stamp in work.glob("*" + STAMP_SUFFIX):
        art = stamp.with_name(stamp.name[: -len(STAMP_SUFFIX)])
        if art.is_dir():
            shutil.rmtree(art, ignore_errors=True)
        else:
            art.unlink(missing_ok=True)
        stamp.unlink(missing_ok=True)


@model_command("verify")
@model_argument
@click.option("--backends", help="Comma-separated backends (default: every installed one).")
@click.option("--recipes", help="Comma-separated recipe names or .toml paths (default: one representative per recipe family).")
@click.option("--all-recipes", is_flag=True, help="Every recipe of every selected backend (the full matrix).")
@click.option("--artifacts", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Verify existing files instead of exporting (.gguf, .pte, MLC dir). Repeatable.")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default=Path("verify-report"), show_default=True,
              help="Where report.json, report.md, plot.png and, while it runs, the exports (OUT/artifacts) go.")
@click.option("--keep", is_flag=True, help="Keep the exports in OUT/artifacts (a later run reuses them).")
@click.option("--fresh", is_flag=True, help="Export again even when OUT/artifacts holds an export of the same "
              "checkpoint, recipe, options and code.")
@click.option("--budget", "budget_minutes", type=click.FloatRange(min=0), default=12.0, show_default=True,
              help="Minutes for the whole run; greedy generation and perplexity windows are cut to fit "
                   "(at least one window each; exports are never cut). 0: no limit, measure everything.")
@click.option("--calls", "n_calls", type=int, help="Held-out intent-calling queries to score (default: 40 for a *call* model, else 0).")
@click.option("--text", "text_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Held-out text for perplexity (default: generated held-out conversations).")
@click.option("--window", default=256, show_default=True, help="Perplexity window (tokens).")
@click.option("--max-windows", default=8, show_default=True)
@click.option("--fail-under", multiple=True, metavar="METRIC=N", help="Fail when a higher-is-better metric is below N (top1, greedy_match, call_accuracy...).")
@click.option("--fail-over", multiple=True, metavar="METRIC=N", help="Fail when a lower-is-better metric is above N (kl, max_abs, ppl_rel...).")
@quiet_option
@json_option
def verify(model, backends, recipes, all_recipes, artifacts, out_dir, keep, fresh, budget_minutes, n_calls, text_file,
           window, max_windows, fail_under, fail_over, quiet, as_json):
    """Export MODEL with the installed backends (or take --artifacts), run each export in its
    real runtime, and compare with the PyTorch reference.

    By default one representative recipe per recipe family (every backend's default recipe, plus
    the first recipe of each family those leave out); --all-recipes for every backend x recipe.
    Progress lines on stderr say which row is running and about how long is left. After the
    reference and after every row OUT/report.json and report.md are rewritten, so an interrupted
    run (Ctrl-C, SIGTERM) leaves a report marked partial, and its exports stay in OUT/artifacts
    for the rerun to reuse.

    Reports per backend x recipe: size, bits/weight, top-1 agreement, KL, max/mean |Δlogit|,
    perplexity and its change, greedy match, prefill/decode tok/s and (Call models) DroidCall
    accuracy. Default gates per recipe family live in verify_gates.toml; the exit status is 1
    when any row fails a gate or errors, so this works as a CI check.
    """
    from .progress import Progress
    from .verify import render_text, run_verify, write_report

    progress = Progress(quiet=quiet or as_json)
    text = text_file.read_text(encoding="utf-8") if text_file else None
    thresholds = (_parse_thresholds(fail_under, "--fail-under"), _parse_thresholds(fail_over, "--fail-over"))
    work = out_dir / "artifacts"
    existed = work.exists()
    work.mkdir(parents=True, exist_ok=True)
    written = {}
    try:
        report = run_verify(
            resolve_model(model), backends=_split(backends), recipes=_split(recipes), artifacts=artifacts,
            all_recipes=all_recipes, work_dir=work, reuse=not fresh, n_calls=n_calls, window=window,
            max_windows=max_windows, budget_minutes=budget_minutes or None, text=text, fail_under=thresholds[0],
            fail_over=thresholds[1], progress=progress,
            on_update=lambda rep: written.update(write_report(rep, out_dir, plot_png=False)),
        )
    except BaseException:
        if written:
            click.echo(f"partial report: {written['json']}; exports kept in {work} for a rerun", err=True)
        raise
    if not keep:
        _remove_exports(work, whole=not existed)
    files = write_report(report, out_dir)
    if as_json:
        emit_json({**report.to_dict(), "files": {k: str(v) for k, v in files.items()}})
    else:
        click.echo(render_text(report))
        click.echo(f"report: {', '.join(str(f) for f in files.values())}", err=True)
    sys.exit(0 if report.passed else 1)


COMMANDS = [verify]
