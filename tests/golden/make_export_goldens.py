"""Record the sha256 of every file each backend's default export writes for the bundled model.

Run it when an export is *meant* to change (a new bundled model, a new default recipe, a
format fix) and say why in the commit: tests/test_exports_unchanged.py then holds every later
change to the same bytes. ``python tests/golden/make_export_goldens.py``
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

GOLDEN = Path(__file__).with_name("exports.json")


# compiled model libraries embed build paths (TVM/g++ write them into the .so), so their bytes
# depend on where the export ran; what they compute is proven by the MLC parity tests instead
UNCOMPARED_SUFFIXES = (".so", ".tar")


def export_hashes(backend_name: str, work: Path) -> dict[str, str]:
    """``phonelm-export <backend> -o <work>/model<suffix> --json`` (its defaults) -> {file: sha256}."""
    from click.testing import CliRunner

    from phonelm_export.cli import main
    from phonelm_export.registry import get_backend

    out = get_backend(backend_name).artifact_path(work, "model")
    r = CliRunner().invoke(main, [backend_name, "-o", str(out), "--json", "-q"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    root = out if out.is_dir() else out.parent
    return {Path(f["path"]).relative_to(root).as_posix(): f["sha256"] for f in summary["files"]
            if not f["path"].endswith(UNCOMPARED_SUFFIXES)}


def model_sha256() -> str:
    from phonelm_export.backend import sha256_file
    from phonelm_export.cli_options import bundled_model_path

    return sha256_file(bundled_model_path() / "model.safetensors")


def main() -> None:
    from phonelm_export.registry import backends

    out = {"model_sha256": model_sha256(), "exports": {}}
    for b in backends():
        if b.available():
            with tempfile.TemporaryDirectory() as d:
                out["exports"][f"{b.name}/{b.default_recipe}"] = export_hashes(b.name, Path(d))
    GOLDEN.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {GOLDEN}: {', '.join(out['exports'])}", file=sys.stderr)


if __name__ == "__main__":
    main()
