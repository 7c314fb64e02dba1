"""verify at real sizes: which recipes run by default, progress with the time left, reuse of
earlier exports, and a partial report when the run is interrupted. On the bundled model with
the cheapest backend (llama.cpp, written by gguf-py); nothing here times anything."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phonelm_export.verify_plan import DEFAULT_FAMILIES, Budget, select_jobs

# the shape of today's recipe lists: (name, family)
RECIPES = {
    "gguf": [("balanced", "balanced"), ("f16", "reference"), ("f32", "reference"), ("q8_0", "near-lossless"),
             ("smallest", "smallest")],
    "executorch": [("8da4w-g128", "smallest"), ("8da4w-g32", "balanced"), ("8da8w", "near-lossless"),
                   ("fp32", "reference")],
    "mlc": [("q0f16", "near-lossless"), ("q0f32", "reference"), ("q4f16_1", "smallest"), ("q4f32_1", "balanced")],
}
DEFAULTS = {"gguf": "balanced", "executorch": "8da4w-g32", "mlc": "q4f16_1"}


def pick(names, **kw):
    return select_jobs([(n, DEFAULTS[n]) for n in names], lambda n: RECIPES[n], **kw)


def families(jobs):
    return {dict(RECIPES[b])[r] for b, r in jobs}


def test_default_is_every_backends_default_recipe_plus_one_per_missing_family():
    jobs = pick(["gguf", "executorch", "mlc"])
    assert jobs == [("gguf", "balanced"), ("gguf", "f16"), ("gguf", "q8_0"), ("executorch", "8da4w-g32"),
                    ("mlc", "q4f16_1")]
    assert families(jobs) == set(DEFAULT_FAMILIES)


def test_a_missing_backends_families_are_covered_by_the_next_one():
    jobs = pick(["executorch", "mlc"])
    assert jobs == [("executorch", "8da4w-g32"), ("executorch", "8da8w"), ("executorch", "fp32"), ("mlc", "q4f16_1")]
    assert families(jobs) == set(DEFAULT_FAMILIES)


def test_one_backend_gets_one_recipe_per_family():
    jobs = pick(["executorch"])
    assert sorted(r for _, r in jobs) == ["8da4w-g128", "8da4w-g32", "8da8w", "fp32"]


def test_all_recipes_is_the_full_matrix_and_explicit_recipes_win():
    assert len(pick(["gguf", "executorch", "mlc"], all_recipes=True)) == sum(map(len, RECIPES.values()))
    assert pick(["gguf", "executorch", "mlc"], explicit=["f32", "fp32"]) == [("gguf", "f32"), ("executorch", "fp32")]


def test_the_budget_shares_what_is_left_after_the_exports_still_to_come():
    b = Budget(seconds=600, params=10**9)
    first = b.row_share(["gguf", "gguf"])
    b.record_export("gguf", 10.0)  # measured: much faster than the 300 s/B prior
    assert b.export_estimate("gguf") == 10.0 and b.export_estimate("mlc") > 300
    assert b.row_share(["gguf", "gguf"]) > first
    # one export to come: its measured time plus at most what the budget leaves for measuring
    assert 10.0 <= b.estimate_left(["gguf"], 1) <= b.left() + 1.0


def run_verify_cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "phonelm_export", "verify", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.gguf
@pytest.mark.slow
def test_progress_names_each_row_and_the_time_left_and_a_rerun_reuses_the_export(bundled_checkpoint, tmp_path):
    out = tmp_path / "rep"
    args = [bundled_checkpoint, "--backends", "gguf", "--recipes", "f16", "--calls", 0, "--keep", "-o", out]
    first = run_verify_cli(*args)  # progress goes to stderr (--json would silence it)
    _, stderr = first.communicate(timeout=900)
    assert first.returncode == 0, stderr[-2000:]
    assert "[0/1] running the PyTorch reference" in stderr
    assert "[1/1] exporting gguf/f16" in stderr and "left" in stderr, stderr
    row = next(r for r in json.loads((out / "report.json").read_text())["rows"] if r["backend"] == "gguf")
    assert not row["reused"] and row["seconds"]["export"] is not None and row["ppl_windows"] >= 1
    artifact = Path(row["path"])
    stamp_mtime = artifact.stat().st_mtime_ns

    again = run_verify_cli(*args, "--json")
    stdout2, stderr2 = again.communicate(timeout=900)
    assert again.returncode == 0, stderr2[-2000:]
    row2 = next(r for r in json.loads(stdout2)["rows"] if r["backend"] == "gguf")
    assert row2["reused"] and row2["seconds"]["export"] is None
    assert artifact.stat().st_mtime_ns == stamp_mtime  # not written again
    assert row2["top1"] == row["top1"] and row2["ppl"] == pytest.approx(row["ppl"])

    fresh = run_verify_cli(*args, "--json", "--fresh")
    stdout3, _ = fresh.communicate(timeout=900)
    assert not next(r for r in json.loads(stdout3)["rows"] if r["backend"] == "gguf")["reused"]


@pytest.mark.gguf
@pytest.mark.slow
def test_sigint_mid_run_leaves_a_report_marked_partial(bundled_checkpoint, tmp_path):
    """Interrupted while the second of several rows runs: exit 130, and report.json says which
    rows were done, which one was interrupted and which were not run; the exports stay."""
    out = tmp_path / "rep"
    p = run_verify_cli(bundled_checkpoint, "--backends", "gguf", "--all-recipes", "--calls", 0, "-o", out)
    seen = []
    deadline = time.monotonic() + 900
    for line in p.stderr:
        seen.append(line)
        if "[2/" in line:  # the reference and the first row are in the report by now
            p.send_signal(signal.SIGINT)
            break
        assert time.monotonic() < deadline
    rest = p.stderr.read()
    p.wait(timeout=300)
    assert p.returncode == 130, "".join(seen)[-2000:] + rest[-2000:]
    assert "partial report:" in rest
    rep = json.loads((out / "report.json").read_text())
    assert rep["partial"] and not rep["passed"] and rep["interrupted"]
    done = [r for r in rep["rows"] if r["error"] is None]
    assert [r["backend"] for r in done][:2] == ["pytorch", "gguf"]
    assert rep["rows"][-1]["error"].startswith("interrupted")
    assert rep["pending"] and all(p.startswith("gguf/") for p in rep["pending"])
    assert "PARTIAL" in (out / "report.md").read_text()
    assert any((out / "artifacts").glob("gguf-*.gguf"))  # kept for the rerun


def test_budget_flag_is_checked():
    p = run_verify_cli("--budget", "-1")
    _, err = p.communicate(timeout=120)
    assert p.returncode == 2 and "--budget" in err
