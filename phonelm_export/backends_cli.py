"""``phonelm-export backends``: what is installed, and the helpers that build backend runtimes."""
from __future__ import annotations

import click

from .cli_options import emit_json, json_option


@click.group()
def backends():
    """Inspect installed backends (and build optional native runtimes)."""


@backends.command("list")
@json_option
def list_backends(as_json):
    """Each backend, whether its extra is installed, and its recipes."""
    from .errors import MissingExtra
    from .recipes import list_recipes
    from .registry import BROKEN
    from .registry import backends as installed

    rows = []
    for b in installed():
        name = b.name
        try:
            b.check()
            status, hint = "installed", None
        except MissingExtra as e:
            status, hint = "missing", str(e)
        rows.append({"name": name, "status": status, "hint": hint, "recipes": list_recipes(b), "description": b.description})
    rows += [{"name": n, "status": "broken", "hint": why, "recipes": [], "description": "(failed to load)"}
             for n, why in BROKEN.items()]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(f"{r['name']:<11} {r['status']:<10} {r['description']}")
        click.echo(f"{'':<11} recipes: {', '.join(r['recipes']) or '-'}")
        if r["hint"]:
            click.echo(f"{'':<11} {r['hint']}")


COMMANDS = [backends]
