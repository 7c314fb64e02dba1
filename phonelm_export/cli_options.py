"""Options shared by every command, so the flags mean the same everywhere.

The vocabulary: ``[MODEL]`` (a checkpoint; the bundled model by default), ``--recipe``,
``-o/--output``, ``--force``, ``--json``, ``-q/--quiet``, ``--threads``, ``--allow-pickle``.
Every command taking MODEL is a :func:`model_command`, whose help ends with the same
paragraph; every export command is built from :func:`export_options` + :func:`run_export`.
"""
from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

import click

BUNDLED_MODEL = "phonelm-tiny-call"


def bundled_model_path(name: str = BUNDLED_MODEL) -> Path:
    return Path(str(resources.files("phonelm_export").joinpath("assets", name)))


def bundled_models() -> list[str]:
    """Names of the models shipped in the package (each a checkpoint directory under assets/)."""
    root = Path(str(resources.files("phonelm_export").joinpath("assets")))
    return sorted(d.name for d in root.iterdir() if (d / "config.json").is_file()) if root.is_dir() else []


def resolve_model(model: str | None) -> Path:
    """The checkpoint path a user meant: a path; else a bundled model's name; the bundled
    Call model when none is given. An existing local path wins over a bundled name."""
    if not model:
        return bundled_model_path()
    path = Path(model).expanduser()
    if not path.exists() and model in bundled_models():
        return bundled_model_path(model)
    return path


def model_argument(f):
    return click.argument("model", required=False, metavar="[MODEL]")(f)


def model_command(name: str | None = None, **kwargs):
    """``click.command`` for a command that takes MODEL: its help ends with :data:`MODEL_HELP`."""
    return click.command(name, epilog=MODEL_HELP, **kwargs)


def output_option(help: str, *, required: bool = False, file: bool = True, path_type=None):
    kind = click.Path(dir_okay=not file, path_type=path_type) if file else click.Path(path_type=path_type)
    return click.option("-o", "--output", "output", type=kind, required=required, help=help)


def recipe_option(help: str, default: str | None = None, *aliases: str):
    return click.option("--recipe", *aliases, "recipe", default=default, show_default=default is not None,
                        metavar="RECIPE", help=help)


def threads_option(help: str = "CPU threads for the runtime (default 2)."):
    return click.option("--threads", type=click.IntRange(1, 256), default=None, help=help)


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout (for scripts).")(f)


def force_option(f):
    return click.option("--force", is_flag=True, help="Overwrite an existing output.")(f)


def allow_pickle_option(f):
    return click.option(
        "--allow-pickle",
        is_flag=True,
        help="Accept a pickled pytorch_model.bin (read with torch.load(weights_only=True)). Off by default: pickles can run code.",
    )(f)


def quiet_option(f):
    return click.option("-q", "--quiet", is_flag=True, help="No progress output on stderr.")(f)


def export_options(*, recipe_help: str, default_recipe: str, output_help: str, output_required: bool = True,
                   output_is_file: bool = True, recipe_aliases: tuple[str, ...] = ()):
    """The options every export command shares, in one order: MODEL, --recipe, -o/--output,
    --force, --json, -q/--quiet, --allow-pickle."""

    def deco(f):
        for d in (allow_pickle_option, quiet_option, json_option, force_option,
                  output_option(output_help, required=output_required, file=output_is_file),
                  recipe_option(recipe_help, default_recipe, *recipe_aliases), model_argument):
            f = d(f)
        return f

    return deco


def run_export(backend_name: str, *, model, recipe, output, force, as_json, quiet, allow_pickle,
               options: dict, describe, default_output=None):
    """The body every export command shares: backend, recipe (validated once), checkpoint,
    output checked before any work, export with progress, then ``--json`` or ``describe``'s lines.

    ``default_output(ckpt, recipe)`` names the output when -o is not given; ``describe(summary,
    recipe)`` returns the human-readable lines."""
    from .atomic import check_output
    from .checkpoint import open_checkpoint
    from .progress import Progress
    from .recipes import load_recipe
    from .registry import get_backend

    backend = get_backend(backend_name)

    def check(out: Path) -> None:  # where, writable, --force only over this backend's artifact (hardening)
        check_output(out, force, directory=not backend.suffix, kind=backend.artifact_kind)

    if output:  # before any work: importing the backend and scanning the checkpoint take seconds
        check(Path(output))
    backend.check()
    r = load_recipe(backend, recipe or backend.default_recipe)
    ckpt = open_checkpoint(resolve_model(model), allow_pickle=allow_pickle)
    out = Path(output) if output else default_output(ckpt, r)
    check(out)
    backend.register()
    art = backend.export(ckpt, r, out, force=force, progress=Progress(quiet=quiet or as_json), **options)
    summary = art.summary()
    if as_json:
        emit_json(summary)
    else:
        for line in describe(summary, r):
            click.echo(line)
    return art


MODEL_HELP = (
    "MODEL is a PhoneLM Hugging Face directory (config.json + model.safetensors + tokenizer files), "
    "a .safetensors file beside a config.json, or the name of a bundled model "
    f"({', '.join(bundled_models())}); default: {BUNDLED_MODEL}."
)


def emit_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
