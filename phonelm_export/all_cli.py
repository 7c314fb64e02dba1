"""``phonelm-export all``: every installed backend in one go, verified, with a manifest."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .cli_options import (
    emit_json,
    force_option,
    json_option,
    model_argument,
    model_command,
    output_option,
    quiet_option,
    resolve_model,
)


@model_command("all")
@model_argument
@click.option("--recipe-family", default="balanced", show_default=True,
              type=click.Choice(["reference", "smallest", "balanced", "near-lossless"]),
              help="Which recipe of each backend to use.")
@output_option("Output directory (one sub-directory per backend).", required=True, file=False, path_type=Path)
@click.option("--backends", "only", help="Comma-separated backends (default: every installed one).")
@click.option("--calls", "n_calls", type=int, help="Held-out intent-calling queries to score (default: 40 for a *call* model).")
@quiet_option
@force_option
@json_option
def all_backends(model, recipe_family, output, only, n_calls, quiet, force, as_json):
    """Export MODEL with every installed backend, verify each against the PyTorch reference, and
    write OUT/manifest.json (paths, sizes, sha256, parity figures) plus the verify report.

    Backends whose extra is not installed are listed as skipped, with the pip command. Exit
    status 1 when a backend fails its parity gates.
    """
    from .atomic import atomic_output
    from .backend import sha256_file
    from .checkpoint import open_checkpoint
    from .errors import MissingExtra
    from .progress import Progress
    from .recipes import recipe_for_family
    from .registry import backends, get_backend
    from .verify import render_text, run_verify, write_report

    out = output
    progress = Progress(quiet=quiet or as_json)
    chosen = [get_backend(n.strip()) for n in only.split(",") if n.strip()] if only else backends()
    ckpt = open_checkpoint(resolve_model(model))
    skipped, exported = {}, []
    with atomic_output(out, force=force, directory=True) as tmp:
        for backend in chosen:
            name = backend.name
            try:
                backend.check()
            except MissingExtra as e:
                skipped[name] = str(e)
                continue
            recipe = recipe_for_family(backend, recipe_family)
            (tmp / name).mkdir()
            progress.step(f"exporting {name} with recipe {recipe.name}")
            backend.register()
            art = backend.export(ckpt, recipe, backend.artifact_path(tmp / name, "model"), progress=progress,
                                 **backend.verify_options(ckpt))
            exported.append((name, recipe, art))
        report = run_verify(ckpt.path, artifacts=[(a.path, r.name, r.family) for _, r, a in exported],
                            work_dir=tmp, n_calls=n_calls, progress=progress)
        write_report(report, tmp / "verify")
        rows = {(r.backend, r.recipe): r for r in report.rows}
        manifest = {
            "model": str(ckpt.path), "parameters": ckpt.param_count(), "recipe_family": recipe_family,
            "backends": [
                {
                    "backend": name, "recipe": r.name, "purpose": r.purpose,
                    "path": str(out / a.path.relative_to(tmp)),
                    "files": [{"path": str(out / f.relative_to(tmp)), "size_bytes": f.stat().st_size, "sha256": sha256_file(f)}
                              for f in a.files],
                    "size_bytes": a.size_bytes(),
                    "parity": {k: v for k, v in rows[(name, r.name)].to_dict().items() if k not in ("path", "traceback")},
                }
                for name, r, a in exported
            ],
            "skipped": skipped,
            "passed": report.passed,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=float) + "\n")
    if as_json:
        emit_json(manifest)
    else:
        click.echo(render_text(report))
        for name, hint in skipped.items():
            click.echo(f"skipped {name}: {hint}")
        click.echo(f"manifest: {out / 'manifest.json'}", err=True)
    sys.exit(0 if report.passed else 1)


COMMANDS = [all_backends]
