"""``phonelm-export android``: export a model for one on-device engine and lay out what the
demo app (android_demo/) needs, plus an ``adb push`` script; optionally a logic-only APK.

Layout of the output directory::

    phonelm-app.json   app config: engine, model files (+ sha256), prompts, stop ids, function list, replay answers
    functions.json     the 24 DroidCall functions (docs and retrieval on the phone)
    verbatim.json      which arguments are copied from the request (the call grammar's spans)
    model/             the engine's files: <name>.gguf | <name>.pte + tokenizer.json | MLC model dir
    push.sh            adb push of all of it to the app's model directory on the phone
    phonelm-demo-replay.apk   with --build-apk: the app with its replay engine (no native code)
"""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click

from .cli_options import (
    allow_pickle_option,
    emit_json,
    force_option,
    json_option,
    model_argument,
    model_command,
    output_option,
    quiet_option,
    recipe_option,
)

APP_ID = "org.phonelm.demo"
# app-specific external storage: the app reads it without permissions, `adb push` can write it
DEVICE_ROOT = f"/sdcard/Android/data/{APP_ID}/files/models"
CONFIG_NAME = "phonelm-app.json"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
_SAFE_DEVICE_DIR = re.compile(r"/(sdcard|storage/emulated/0|data/local/tmp)(/[A-Za-z0-9._-]+)+")


def safe_name(name: str) -> str:
    """A file/directory name safe on the phone and in a shell script (letters, digits, . _ -)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model"
    return cleaned[:80]


def check_device_dir(path: str) -> str:
    from .errors import PhoneLMError

    if not _SAFE_DEVICE_DIR.fullmatch(path) or any(part in (".", "..") for part in path.split("/")):
        raise PhoneLMError(
            f"unsafe device directory {path!r}: use an absolute path under /sdcard, /storage/emulated/0 or "
            "/data/local/tmp made of letters, digits, '.', '_' and '-'"
        )
    return path


def check_output_dir(out: Path, force: bool) -> Path:
    """Refuse outputs that would clobber something that is not ours (a home, a repo, a parent of the cwd)."""
    from .errors import OutputExistsError, PhoneLMError

    out = out.expanduser().absolute()
    resolved = out.resolve()
    cwd = Path.cwd().resolve()
    home = Path.home().resolve()
    if resolved == Path("/") or resolved == home or resolved == cwd or resolved in cwd.parents:
        raise PhoneLMError(f"{out}: refusing to write the app bundle over / , your home, the current directory or one of its parents")
    if (resolved / ".git").exists() or (resolved / "pyproject.toml").exists():
        raise PhoneLMError(f"{out}: looks like a project directory; choose a new directory for the app bundle")
    if out.exists():
        if not force:
            raise OutputExistsError(f"{out} exists; pass --force to overwrite it")
        if not out.is_dir() or not (out / CONFIG_NAME).is_file():
            raise PhoneLMError(f"{out}: exists and is not an app bundle written by phonelm-export android; not overwriting it")
    return out


def _parse_options(pairs) -> dict:
    from .errors import PhoneLMError

    out = {}
    for p in pairs:
        if "=" not in p:
            raise PhoneLMError(f"--export-option {p!r}: write KEY=VALUE")
        k, v = p.split("=", 1)
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", k):
            raise PhoneLMError(f"--export-option {p!r}: bad key")
        if k in ("force", "progress"):
            raise PhoneLMError(f"--export-option {k}: not an export option (use --{k} on the command itself)" if k == "force"
                               else f"--export-option {k}: not an export option")
        if re.fullmatch(r"-?[0-9]+", v):
            out[k] = int(v)
        elif v.lower() in ("true", "false"):
            out[k] = v.lower() == "true"
        elif "," in v:
            out[k] = tuple(x for x in v.split(",") if x)
        else:
            out[k] = v
    return out


def app_config(*, backend, recipe, name, artifact, files, device_dir, artifact_meta, replay) -> dict:
    from .intents.schema import FUNCTION_NAMES
    from .tokenizer import DEFAULT_SYSTEM, STOP_IDS, call_format, chatml_template

    call = {k: v for k, v in call_format().items()}
    cfg = {
        "format": "phonelm-demo-app/1",
        "engine": backend.name,
        "recipe": recipe,
        "model_name": name,
        "device_dir": device_dir,
        "files": files,
        **backend.android_config(artifact, [f["path"] for f in files], artifact_meta),
        "prompts": {"chat_template": chatml_template(), "default_system": DEFAULT_SYSTEM, "call": call},
        "stop_ids": list(STOP_IDS),
        "sampling": {"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 160},
        "intents": {"functions_file": "functions.json", "verbatim_file": "verbatim.json",
                    "functions": list(FUNCTION_NAMES), "retrieval_k": 3},
        "replay": replay,
        "export": {k: v for k, v in artifact_meta.items() if isinstance(v, (str, int, float, bool))},
    }
    return cfg


def push_script(files: list[str], device_dir: str) -> str:
    dirs = sorted({str(Path(f).parent) for f in files if str(Path(f).parent) != "."})
    lines = [
        "#!/bin/sh",
        "# Copy this app bundle to the phone for the PhoneLM demo app (written by phonelm-export android).",
        "# Needs adb and a device with USB debugging; the app reads the bundle from DEST.",
        "set -eu",
        'cd "$(dirname "$0")"',
        f"DEST={shlex.quote(device_dir)}",
        'adb shell mkdir -p "$DEST"',
    ]
    lines += [f'adb shell mkdir -p "$DEST"/{shlex.quote(d)}' for d in dirs]
    lines += [f'adb push {shlex.quote(f)} "$DEST"/{shlex.quote(f)}' for f in files]
    lines.append('echo "pushed to $DEST"')
    return "\n".join(lines) + "\n"


def replay_answers(n: int = 8) -> list[dict]:
    """A few held-out synthetic requests with their reference outputs, for the replay engine."""
    from .intents.synth import make_call_examples

    return [{"query": e["query"], "output": e["output"]} for e in make_call_examples(n, seed=0, split="heldout")]


def build_bundle(model, engine, recipe_name, out: Path, *, force=False, device_dir=None, options=None,
                 allow_pickle=False, progress=None, build_apk=False) -> dict:
    """Export + lay out the app bundle atomically; returns a summary dict."""
    from .atomic import atomic_output
    from .backend import sha256_file
    from .checkpoint import open_checkpoint
    from .cli_options import resolve_model
    from .intents.schema import data_text
    from .recipes import load_recipe
    from .errors import PhoneLMError
    from .registry import get_backend

    out = check_output_dir(Path(out), force)
    backend = get_backend(engine)
    if not backend.android_recipe:
        raise PhoneLMError(f"the {engine} backend has no Android engine")
    backend.check()
    recipe = load_recipe(backend, recipe_name or backend.android_recipe)
    ckpt = open_checkpoint(resolve_model(model), allow_pickle=allow_pickle)
    name = safe_name(ckpt.path.name if ckpt.path.is_dir() else ckpt.path.stem)
    device_dir = check_device_dir(device_dir or f"{DEVICE_ROOT}/{name}")
    opts = {**backend.android_options(), **(options or {})}
    with atomic_output(out, force=force, directory=True) as tmp:
        model_dir = tmp / "model"
        model_dir.mkdir()
        backend.register()
        art = backend.export(ckpt, recipe, backend.artifact_path(model_dir, name), force=False, progress=progress, **opts)
        files = []
        for f in sorted(p for p in model_dir.rglob("*") if p.is_file()):
            rel = f.relative_to(tmp).as_posix()
            files.append({"path": rel, "size_bytes": f.stat().st_size, "sha256": sha256_file(f)})
        (tmp / "functions.json").write_text(data_text("functions.json"), encoding="utf-8")
        # the Java core builds the request's call grammar from these two (CallGrammar)
        (tmp / "verbatim.json").write_text(data_text("verbatim.json"), encoding="utf-8")
        cfg = app_config(backend=backend, recipe=recipe.name, name=name, artifact=art.path.relative_to(tmp).as_posix(),
                         files=files, device_dir=device_dir,
                         artifact_meta=art.meta if hasattr(art, "meta") else {}, replay=replay_answers())
        (tmp / CONFIG_NAME).write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        script = tmp / "push.sh"
        script.write_text(push_script([f["path"] for f in files] + ["functions.json", "verbatim.json", CONFIG_NAME], device_dir))
        script.chmod(0o755)
        apk = None
        if build_apk:
            from .android_apk import build_replay_apk

            apk = build_replay_apk(tmp / "phonelm-demo-replay.apk", tmp / CONFIG_NAME, tmp / "functions.json", progress=progress)
        for p in tmp.rglob("*"):  # exporters write private temp files; the bundle is for copying around
            p.chmod(0o755 if p.is_dir() or p.name.endswith(".sh") else 0o644)
        tmp.chmod(0o755)
    return {
        "path": str(out),
        "engine": engine,
        "recipe": recipe.name,
        "model_name": name,
        "device_dir": device_dir,
        "files": [{**f, "path": str(out / f["path"])} for f in files],
        "config": str(out / CONFIG_NAME),
        "push_script": str(out / "push.sh"),
        "apk": apk and {**apk, "path": str(out / Path(apk["path"]).name)},
    }


def _engines() -> list:
    from .registry import backends

    return [b for b in backends() if b.android_recipe]


@model_command("android")
@model_argument
@click.option("--engine", type=click.Choice([b.name for b in _engines()]), required=True,
              help="On-device runtime: " + "; ".join(f"{b.name}: {b.android_engine}" for b in _engines()) + ".")
@recipe_option("Quant recipe of that backend (default: " + ", ".join(f"{b.name} {b.android_recipe}" for b in _engines()) + ").")
@output_option("New directory for the app bundle.", required=True, file=False)
@click.option("--device-dir", help=f"Where push.sh puts the bundle on the phone (default: {DEVICE_ROOT}/<model name>).")
@click.option("--export-option", "export_options", multiple=True, metavar="KEY=VALUE",
              help="Passed to the backend's export, e.g. max_seq_len=512 (executorch), devices=android,cpu (mlc), encoding=native (gguf).")
@click.option("--build-apk", is_flag=True,
              help="Also build a logic-only APK (the app with its replay engine, no native code) with Debian's tools.")
@force_option
@json_option
@quiet_option
@allow_pickle_option
def android(model, engine, recipe, output, device_dir, export_options, build_apk, force, as_json, quiet, allow_pickle):
    """Export MODEL for one Android engine and lay out the demo app's bundle: model files, tokenizer,
    app config (engine, file names, prompts, function list), functions.json and an adb push script.

    \b
    Then: sh DIR/push.sh   (with a phone attached), and open the PhoneLM demo app.
    The app itself is built with Android Studio from android_demo/ (see its README);
    --build-apk makes the logic-only APK here, with Debian's aapt/dx/zipalign/apksigner.
    """
    from .progress import Progress

    summary = build_bundle(model, engine, recipe, Path(output), force=force, device_dir=device_dir,
                           options=_parse_options(export_options), allow_pickle=allow_pickle,
                           progress=Progress(quiet=quiet or as_json), build_apk=build_apk)
    if as_json:
        emit_json(summary)
        return
    click.echo(f"wrote {summary['path']} ({engine}, recipe {summary['recipe']})")
    for f in summary["files"]:
        click.echo(f"  {Path(f['path']).relative_to(summary['path'])}  {f['size_bytes'] / 1e6:.2f} MB")
    click.echo(f"  {CONFIG_NAME}, functions.json, verbatim.json, push.sh -> {summary['device_dir']}")
    if summary["apk"]:
        click.echo(f"  {Path(summary['apk']['path']).name}: {summary['apk']['package']} verified ({summary['apk']['verify']})")
    click.echo(f"next: sh {shlex.quote(str(Path(summary['path']) / 'push.sh'))}")


COMMANDS = [android]
