"""How long ``phonelm-export verify`` takes on PhoneLM's real shapes, with its defaults.

    python -m bench.verify_scale --shape 0.5b [--workdir DIR] [--rerun] [-- more verify flags]

Runs the command a maintainer runs — ``phonelm-export verify CKPT -o OUT`` with every default
(one representative recipe per recipe family, perplexity windows sized to the time budget) — on
the random bf16 checkpoint of that shape (bench/_models.py), in a fresh process and from an
empty ``OUT`` (nothing reused), and prints its wall time against the 15-minute goal, its peak RSS,
and per row: what was verified, export and measurement seconds, perplexity windows used, and
status. ``--rerun`` runs it a second time into the same ``OUT`` with ``--keep`` on both runs, to
show what reusing the exports saves.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from bench._models import SHAPES, make_checkpoint
from bench._rss import GiB, available_bytes, measure

GOAL_MINUTES = 15.0


def verify_once(ckpt: Path, out: Path, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "phonelm_export", "verify", str(ckpt), "-o", str(out), "--json", *extra]
    m = measure(cmd, echo=False)
    try:
        report = json.loads(m.stdout)
    except json.JSONDecodeError:
        report = None
    return {"returncode": m.returncode, "seconds": m.seconds, "peak_rss": m.peak_rss, "report": report,
            "stderr_tail": m.stderr_tail[-1500:]}


def run(args) -> dict:
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-verify-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ckpt = make_checkpoint(args.shape, workdir)
    out = workdir / f"verify-{args.shape}"
    shutil.rmtree(out, ignore_errors=True)
    extra = list(args.extra) + (["--keep"] if args.rerun else [])
    avail = available_bytes()
    runs = [verify_once(ckpt, out, extra)]
    if args.rerun:
        runs.append(verify_once(ckpt, out, extra))
    if not args.keep_out:
        shutil.rmtree(out, ignore_errors=True)
    return {"shape": args.shape, "dims": SHAPES[args.shape], "available_at_start": avail, "runs": runs,
            "extra": args.extra}


def print_result(r: dict) -> None:
    print(f"PhoneLM shape {r['shape']} {r['dims']}, random bf16 weights; "
          f"`phonelm-export verify CKPT -o OUT{' ' + ' '.join(r['extra']) if r['extra'] else ''}`; "
          f"{r['available_at_start'] / GiB:.0f} GiB available at start")
    for i, run in enumerate(r["runs"]):
        label = "first run (nothing to reuse)" if i == 0 else "second run (exports reused)"
        minutes = run["seconds"] / 60
        verdict = "meets" if minutes <= GOAL_MINUTES else "MISSES"
        print(f"{label}: {minutes:.1f} min ({verdict} the {GOAL_MINUTES:g}-minute goal), peak RSS "
              f"{run['peak_rss'] / GiB:.2f} GiB, exit {run['returncode']}")
        rep = run["report"]
        if not rep:
            print("  no report on stdout; stderr tail:\n  " + run["stderr_tail"].replace("\n", "\n  "))
            continue
        print(f"  {'backend':11} {'recipe':11} {'family':14} {'export s':>9} {'measure s':>10} {'windows':>8} "
              f"{'top1':>7} {'ppl_rel':>8}  status")
        for row in rep["rows"]:
            t = row.get("seconds") or {}
            exp = "reused" if row.get("reused") else (f"{t['export']:.0f}" if t.get("export") is not None else "-")
            meas = f"{t['measure']:.0f}" if t.get("measure") is not None else "-"
            status = "ok" if row["passed"] else ("ERROR " + row["error"] if row["error"] else "FAIL " + "; ".join(row["failures"]))
            top1 = f"{row['top1']:.2%}" if row.get("top1") is not None else "-"
            pr = f"{row['ppl_rel']:+.2%}" if row.get("ppl_rel") is not None else "-"
            print(f"  {row['backend']:11} {row['recipe']:11} {row['family']:14} {exp:>9} {meas:>10} "
                  f"{str(row.get('ppl_windows', '-')):>8} {top1:>7} {pr:>8}  {status[:70]}")
        for name, hint in (rep.get("missing_backends") or {}).items():
            print(f"  not verified: {name} ({hint[:60]})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="0.5b")
    ap.add_argument("--workdir", help="where the random checkpoint is cached (default: a temporary directory)")
    ap.add_argument("--rerun", action="store_true", help="run twice with --keep: the second run reuses the exports")
    ap.add_argument("--keep-out", action="store_true", help="leave the report and artifacts in WORKDIR/verify-SHAPE")
    ap.add_argument("--json", dest="json_out")
    ap.add_argument("extra", nargs="*", help="more verify flags (after --)")
    args = ap.parse_args(argv)
    r = run(args)
    print_result(r)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(r, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
