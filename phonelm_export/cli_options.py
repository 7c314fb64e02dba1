"""Options shared by every command, so the flags mean the same everywhere."""
from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

import click

BUNDLED_MODEL = "phonelm-tiny-call"


def bundled_model_path() -> Path:
    return Path(str(resources.files("phonelm_export").joinpath("assets", BUNDLED_MODEL)))


def resolve_model(model: str | None) -> Path:
    """The checkpoint path a user meant; the bundled model when none is given."""
    return Path(model).expanduser() if model else bundled_model_path()


def model_argument(f):
    return click.argument("model", required=False, metavar="[MODEL]")(f)


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


MODEL_HELP = (
    "MODEL is a PhoneLM Hugging Face directory (config.json + model.safetensors + tokenizer files) "
    f"or a .safetensors file beside a config.json; default: the bundled {BUNDLED_MODEL}."
)


def emit_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
