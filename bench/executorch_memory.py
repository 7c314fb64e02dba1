"""ExecuTorch export memory at PhoneLM's real shapes, recipe by recipe, against the goal
*peak RSS <= 1.5 x the .pte size + 2 GB* (what lets PhoneLM-1.5B export on a 24 GB machine).

    python -m bench.executorch_memory --shape 0.5b [--recipes fp32 8da8w 8da4w-g32 8da4w-g128]

Each recipe is exported by the CLI in a fresh process (``phonelm-export executorch``, the
command users run, at its default ``--max-seq-len``) from the random bf16 checkpoint of that
shape (bench/_models.py). Printed per recipe: export wall time, ``.pte`` size, the child's peak
RSS (kernel high-water mark), the largest sampled anonymous and file-backed RSS, the stage
that held the peak, and peak / goal. A run needs memory: when less than ``--need-gib`` is
available at its start it is not attempted and the line says so (the machine is shared).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench._models import SHAPES, make_checkpoint
from bench._rss import GiB, available_bytes, measure

RECIPES = ("fp32", "8da8w", "8da4w-g32", "8da4w-g128")


def goal_bytes(pte_bytes: int) -> float:
    return 1.5 * pte_bytes + 2 * GiB


def export_one(ckpt: Path, recipe: str, out: Path, need_gib: float, extra: list[str]) -> dict:
    avail = available_bytes()
    if avail < need_gib * GiB:
        return {"recipe": recipe, "skipped": f"only {avail / GiB:.1f} GiB available (< {need_gib:g}); not attempted"}
    cmd = [sys.executable, "-m", "phonelm_export", "executorch", str(ckpt), "--recipe", recipe, "-o", str(out),
           "--force", *extra]
    m = measure(cmd)
    if m.returncode != 0:
        lines = [x for x in m.stderr_tail.splitlines() if x.strip()]
        return {"recipe": recipe, "error": f"exit {m.returncode}: " + " | ".join(lines[-2:]),
                "seconds": m.seconds, "peak_rss": m.peak_rss, "available_at_start": avail}
    size = out.stat().st_size
    row = {"recipe": recipe, "seconds": m.seconds, "pte_bytes": size, "peak_rss": m.peak_rss, "peak_anon": m.peak_anon,
           "peak_file": m.peak_file, "peak_stage": m.peak_stage, "stages": m.stages, "goal": goal_bytes(size),
           "available_at_start": avail}
    out.unlink()
    return row


def run(args) -> dict:
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-et-mem-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ckpt = make_checkpoint(args.shape, workdir)
    rows = []
    for recipe in args.recipes:
        out = workdir / f"et-memory-{args.shape}-{recipe}.pte"
        rows.append(export_one(ckpt, recipe, out, args.need_gib, args.extra))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "stages"}), file=sys.stderr, flush=True)
    return {"shape": args.shape, "dims": SHAPES[args.shape], "checkpoint_bytes": (ckpt / "model.safetensors").stat().st_size,
            "rows": rows}


def print_table(r: dict) -> None:
    print(f"PhoneLM shape {r['shape']} {r['dims']}, bf16 checkpoint {r['checkpoint_bytes'] / 1e9:.2f} GB; "
          "goal: peak RSS <= 1.5 x .pte + 2 GiB")
    print(f"{'recipe':12} {'export s':>9} {'pte GiB':>8} {'peak GiB':>9} {'anon GiB':>9} {'file GiB':>9} "
          f"{'goal GiB':>9} {'peak/goal':>10}  peak stage")
    for row in r["rows"]:
        if "skipped" in row or "error" in row:
            print(f"{row['recipe']:12} {row.get('skipped') or row['error']}")
            continue
        print(f"{row['recipe']:12} {row['seconds']:9.0f} {row['pte_bytes'] / GiB:8.2f} {row['peak_rss'] / GiB:9.2f} "
              f"{row['peak_anon'] / GiB:9.2f} {row['peak_file'] / GiB:9.2f} {row['goal'] / GiB:9.2f} "
              f"{row['peak_rss'] / row['goal']:9.2f}x  {row['peak_stage']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="0.5b")
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES))
    ap.add_argument("--workdir", help="where the random checkpoint is cached (default: a temporary directory)")
    ap.add_argument("--need-gib", type=float, default=0.0,
                    help="attempt an export only when this much memory is available at its start")
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more flags for phonelm-export executorch")
    ap.add_argument("--json", dest="json_out")
    args = ap.parse_args(argv)
    r = run(args)
    print_table(r)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
