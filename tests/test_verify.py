"""`phonelm-export verify`: the report's shape, perfect rows where exactness is expected, and
gates that catch a file computing the wrong function."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from phonelm_export.metrics import greedy_match_length, logit_parity, perplexity

EXACT_RECIPES = "f32,fp32,q0f32"  # one unquantized recipe per backend


def run_cli(*args, timeout=1800):
    return subprocess.run([sys.executable, "-m", "phonelm_export", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


# -- metrics -------------------------------------------------------------------------------

def test_parity_metrics_of_identical_logits_are_perfect():
    a = np.random.default_rng(0).normal(size=(7, 50)).astype(np.float32)
    p = logit_parity([(a, a.copy())])
    assert (p.top1, p.kl, p.max_abs, p.mean_abs, p.positions) == (1.0, 0.0, 0.0, 0.0, 7)


def test_parity_metrics_see_a_changed_argmax():
    a = np.zeros((2, 4), np.float32)
    a[:, 0] = 5
    b = a.copy()
    b[1, 3] = 9
    p = logit_parity([(a, b)])
    assert p.top1 == 0.5 and p.max_abs == 9 and p.kl > 0


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    ids = [i % 32 for i in range(1, 100)]
    ppl = perplexity(lambda w: np.zeros((len(w), 32)), ids, text_bytes=200, window=10)
    assert ppl.ppl == pytest.approx(32.0)
    assert ppl.tokens == sum(len(ids[i:i + 10]) - 1 for i in range(0, 98, 10))


def test_greedy_match_counts_the_shared_prefix():
    assert greedy_match_length([1, 2, 3, 4], [1, 2, 9, 4]) == 2
    assert greedy_match_length([], [1]) == 0


# -- the command ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bundled_report(bundled_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("verify") / "report"
    p = run_cli("verify", bundled_checkpoint, "--recipes", EXACT_RECIPES, "--calls", 8, "-o", out, "--keep", "--json")
    assert p.returncode in (0, 1), p.stderr[-3000:]
    return p.returncode, json.loads(p.stdout), out


@pytest.mark.slow
def test_report_has_one_row_per_installed_backend_and_its_files(bundled_report):
    from phonelm_export.registry import get_backend, names as present

    code, rep, out = bundled_report
    installed = {n for n in present() if get_backend(n).available()}
    assert {r["backend"] for r in rep["rows"]} == {"pytorch"} | installed
    assert set(rep["missing_backends"]) == set(present()) - installed
    for key in ("size_bytes", "bits_per_weight", "top1", "kl", "max_abs", "mean_abs", "ppl", "ppl_rel",
                "greedy_match", "prefill_tok_s", "decode_tok_s", "call_accuracy", "call_soft_accuracy"):
        assert all(key in r for r in rep["rows"] if not r["error"]), key
    assert (out / "report.json").is_file() and (out / "report.md").is_file() and (out / "plot.png").is_file()
    assert json.loads((out / "report.json").read_text())["rows"] == rep["rows"]


@pytest.mark.slow
def test_reference_against_itself_is_perfect(bundled_report):
    _, rep, _ = bundled_report
    ref = next(r for r in rep["rows"] if r["backend"] == "pytorch")
    assert ref["top1"] == 1.0 and ref["kl"] == 0.0 and ref["max_abs"] == 0.0
    assert ref["ppl_rel"] == 0.0 and ref["greedy_match"] == 1.0
    assert ref["call_accuracy"] == rep["reference"]["call_accuracy"]


@pytest.mark.slow
def test_unquantized_exports_match_the_reference(bundled_report):
    """f32 rows: every backend that is installed computes PhoneLM, not Llama.

    Tolerance: the bundled model's weights are bf16, so fp32 exports hold them exactly; the
    remaining differences are fp32 summation order and attention kernels, ~1e-4 on logits
    of std ~5; 2e-2 leaves room for llama.cpp's fused kernels and no room for a wrong
    activation (SiLU moves logits by whole units).
    """
    code, rep, _ = bundled_report
    rows = [r for r in rep["rows"] if r["backend"] != "pytorch"]
    assert rows, "no backend installed: CI installs every extra"
    for r in rows:
        assert r["error"] is None, r
        assert r["top1"] == 1.0, r
        assert r["max_abs"] < 2e-2, r
        assert abs(r["ppl_rel"]) < 1e-3, r
        assert r["greedy_match"] == 1.0, r
        assert r["passed"], r
    assert code == 0 and rep["passed"]


def write_llama_arch_gguf(compat: Path, out: Path) -> None:
    """The classic conversion bug on purpose: PhoneLM's tensors under the `llama` architecture,
    whose FFN is gated SiLU. Correctly permuted for llama's RoPE layout, so only the activation is wrong."""
    import gguf

    r = gguf.GGUFReader(str(compat))
    arch = r.fields["general.architecture"].contents()
    w = gguf.GGUFWriter(str(out), "llama")
    heads = r.fields[f"{arch}.attention.head_count"].contents()
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture" or ".expert_" in name:
            continue
        key = "llama." + name[len(arch) + 1:] if name.startswith(arch + ".") else name
        vtype = f.types[0]
        sub = f.types[1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, f.contents(), vtype, sub)
    for t in r.tensors:
        if "ffn_gate_inp" in t.name:
            continue
        data = np.array(t.data)
        name = t.name.replace("_exps", "")
        if name != t.name:
            data = data.reshape(data.shape[1:])  # one expert -> dense
        if name.endswith(("attn_q.weight", "attn_k.weight")):
            n_out = data.shape[0]
            hd = n_out // heads
            data = data.reshape(heads, 2, hd // 2, -1).swapaxes(1, 2).reshape(n_out, -1)
        w.add_tensor(name, np.ascontiguousarray(data))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_swapped_ffn_gguf(compat: Path, out: Path) -> None:
    """A compat GGUF with gate and up swapped: relu(up(x)) * gate(x). It loads in llama.cpp and
    runs; only its numbers betray it."""
    import gguf

    r = gguf.GGUFReader(str(compat))
    w = gguf.GGUFWriter(str(out), r.fields["general.architecture"].contents())
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vtype = f.types[0]
        w.add_key_value(name, f.contents(), vtype, f.types[1] if vtype == gguf.GGUFValueType.ARRAY else None)
    data = {t.name: np.array(t.data) for t in r.tensors}
    for name, arr in data.items():
        swap = name.replace("ffn_gate_exps", "ffn_up_exps") if "ffn_gate_exps" in name else name.replace("ffn_up_exps", "ffn_gate_exps")
        w.add_tensor(name, np.ascontiguousarray(data[swap]))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@pytest.mark.gguf
@pytest.mark.slow
def test_broken_ggufs_fail_verify(bundled_checkpoint, tmp_path):
    """Two classic conversion bugs: PhoneLM written as arch `llama` (SiLU FFN) is refused by the
    runner with a one-line error; gate/up swapped loads and runs, and the parity gate catches it."""
    good = tmp_path / "good.gguf"
    p = run_cli("gguf", bundled_checkpoint, "--recipe", "f32", "-o", good)
    assert p.returncode == 0, p.stderr[-2000:]
    silu, swapped = tmp_path / "silu.gguf", tmp_path / "swapped.gguf"
    write_llama_arch_gguf(good, silu)
    write_swapped_ffn_gguf(good, swapped)
    p = run_cli("verify", bundled_checkpoint, "--artifacts", good, "--artifacts", silu, "--artifacts", swapped,
                "--calls", 0, "-o", tmp_path / "rep", "--json")
    assert p.returncode == 1, p.stderr[-2000:]
    rows = {Path(r["path"]).name: r for r in json.loads(p.stdout)["rows"] if r["path"]}
    assert rows["good.gguf"]["passed"] and rows["good.gguf"]["top1"] == 1.0
    assert not rows["silu.gguf"]["passed"] and "llama" in rows["silu.gguf"]["error"]
    bad = rows["swapped.gguf"]
    assert bad["error"] is None and not bad["passed"], bad
    assert any(f.startswith("top1") for f in bad["failures"]), bad


@pytest.mark.gguf
def test_explicit_thresholds_gate_the_exit_status(random_checkpoint, tmp_path):
    art = tmp_path / "m.gguf"
    assert run_cli("gguf", random_checkpoint, "--recipe", "f32", "-o", art).returncode == 0
    ok = run_cli("verify", random_checkpoint, "--artifacts", art, "--calls", 0, "-o", tmp_path / "a", "--fail-over", "max_abs=0.05")
    assert ok.returncode == 0, ok.stdout + ok.stderr[-2000:]
    strict = run_cli("verify", random_checkpoint, "--artifacts", art, "--calls", 0, "-o", tmp_path / "b", "--fail-under", "top1=1.01")
    assert strict.returncode == 1 and "FAIL top1" in strict.stdout
    bad = run_cli("verify", random_checkpoint, "--artifacts", art, "-o", tmp_path / "c", "--fail-under", "top1")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --fail-under takes METRIC=NUMBER")


def test_a_missing_backend_is_reported_with_its_install_hint(random_checkpoint, tmp_path, monkeypatch):
    from phonelm_export.registry import get_backend
    from phonelm_export.verify import run_verify

    b = get_backend("gguf")
    monkeypatch.setattr(type(b), "requires", ("a_module_that_is_not_installed",))
    rep = run_verify(random_checkpoint, backends=["gguf"], work_dir=tmp_path, n_calls=0, max_windows=1)
    assert "gguf" in rep.missing_backends
    assert "pip install 'phonelm-export[gguf]'" in rep.missing_backends["gguf"]
    assert [r.backend for r in rep.rows] == ["pytorch"] and rep.passed
