"""The optimum route: an optimum-executorch user exports PhoneLM with `optimum-cli export executorch`.

optimum-executorch 1.1.0 requires ``transformers==5.0.0rc1`` and this project ``transformers>=5.20``,
so the route runs in a virtual environment of its own with the versions it pins, built by
.ci/setup.d/60-optimum.sh (cached; its outcome, success or pip's error, is recorded in
optimum-venv.json and asserted here, never skipped). The venv is fully separate: layered on
the main environment (--system-site-packages) it imports the main environment's `kernels`
0.19.1 (which transformers 5.2x requires) and transformers 5.0.0rc1 then fails at import. The environments share files only: this
side writes the checkpoint (`phonelm-export hf-llama`) and the token ids, the venv exports and
runs the program with optimum's own loader and calling convention (tests/optimum_venv_runner.py)
and writes the logits back, this side compares them with the PyTorch reference.

Tolerances (the project's ExecuTorch ones, tests/test_executorch_parity.py):

* fp32: max |Δlogit| < 1e-3 at every prompt position and every decode step, top-1 equal
  everywhere, greedy tokens identical. The program is transformers' own Llama graph on the same
  float32 weights; only XNNPACK's kernels and summation order differ (~1e-5 on this model, whose
  logits spread over several units). A wrong activation, RoPE base or cache position moves logits
  by whole units.
* 8da4w (8-bit dynamic activations, 4-bit weights, group 32, optimum's own quantizer): top-1
  agreement >= 90 % over the held-out in-domain text, the floor our own 8da4w export meets.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from phonelm_export.checkpoint import open_checkpoint
from phonelm_export.reference import ReferenceRunner

pytestmark = [pytest.mark.executorch, pytest.mark.slow]

CACHE = Path(os.environ.get("PHONELM_EXPORT_CACHE", Path.home() / ".cache" / "phonelm-export"))
VENV = CACHE / "optimum-venv"
RECORD = CACHE / "optimum-venv.json"
RUNNER = Path(__file__).with_name("optimum_venv_runner.py")
PINNED = {
    "optimum-executorch": "1.1.0",
    "optimum": "2.0.0",
    "transformers": "5.0.0rc1",
    "executorch": "1.5.1",
    "torch": "2.13.0",
}
MAX_SEQ = 256  # prompt + reply, and the 200-token windows
NEW_TOKENS = 40
FP32_ATOL = 1e-3
Q4_TOP1_FLOOR = 0.90
# nothing in the route may reach a hub: the checkpoint and the program are local files
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


@pytest.fixture(scope="session")
def venv_record() -> dict:
    if not RECORD.is_file():
        pytest.fail(f"{RECORD} is missing: `bash .ci/setup.d/60-optimum.sh` builds the optimum venv (tests/setup.sh runs it)")
    rec = json.loads(RECORD.read_text())
    assert rec["ok"], "optimum-executorch's pins cannot be installed here; pip said:\n" + rec["error"]
    return rec


def _venv_run(args: list[str], timeout: int = 1200) -> subprocess.CompletedProcess:
    env = {**os.environ, **OFFLINE}
    env.pop("PYTHONPATH", None)  # the venv must not see this project or the main environment
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, cwd=VENV)


def _optimum_export(model_dir: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return _venv_run([str(VENV / "bin" / "optimum-cli"), "export", "executorch", "-m", str(model_dir),
                      "--task", "text-generation", "--recipe", "xnnpack", "--max_seq_len", str(MAX_SEQ),
                      "-o", str(out), *extra])


@pytest.fixture(scope="session")
def llama_dir(bundled_checkpoint, tmp_path_factory) -> Path:
    from phonelm_export.hf_llama import write_hf_llama

    out = tmp_path_factory.mktemp("optimum") / "phonelm-llama"
    write_hf_llama(bundled_checkpoint, out)
    return out


def _exported(venv_record, llama_dir, tmp_path_factory, name, *extra):
    out = tmp_path_factory.mktemp(f"optimum-{name}") / "pte"
    t = time.time()
    res = _optimum_export(llama_dir, out, *extra)
    secs = time.time() - t
    assert res.returncode == 0, f"optimum-cli export executorch failed:\n{res.stderr[-4000:]}"
    pte = out / "model.pte"
    assert pte.is_file(), sorted(p.name for p in out.iterdir())
    print(f"optimum-cli export executorch ({name}): {secs:.0f} s, {pte.stat().st_size / 1e6:.2f} MB", file=sys.stderr)
    return out


@pytest.fixture(scope="session")
def fp32_pte(venv_record, llama_dir, tmp_path_factory) -> Path:
    return _exported(venv_record, llama_dir, tmp_path_factory, "fp32")


@pytest.fixture(scope="session")
def q4_pte(venv_record, llama_dir, tmp_path_factory) -> Path:
    return _exported(venv_record, llama_dir, tmp_path_factory, "8da4w", "--qlinear", "8da4w")


@pytest.fixture(scope="session")
def reference(bundled_checkpoint) -> ReferenceRunner:
    return ReferenceRunner.from_checkpoint(open_checkpoint(bundled_checkpoint))


def _prompts(ref) -> list[list[int]]:
    """A chat turn (what an app sends; the model answers in a few tokens and stops) and raw text,
    which it continues longer (17 tokens): a walk through the KV cache."""
    tok = ref.tokenizer
    chat = tok.encode(tok.render_chat([{"role": "user", "content": "Set an alarm for 7 am tomorrow"}], add_generation_prompt=True))
    return [chat, tok.encode("Set an alarm for 7:30 tomorrow morning and call Alice at 555-0134. Then")]


def _heldout_windows(ref) -> list[list[int]]:
    from phonelm_export.metrics import windows
    from phonelm_export.verify import heldout_text

    return windows(ref.tokenizer.encode(heldout_text()), 200, 4)


def _run_in_venv(pte_dir: Path, tmp_path: Path, prompts, windows=()) -> dict:
    req = tmp_path / "request.json"
    req.write_text(json.dumps({"prompts": prompts, "max_new_tokens": NEW_TOKENS, "windows": list(windows)}))
    out = tmp_path / "result.npz"
    res = _venv_run([str(VENV / "bin" / "python"), str(RUNNER), str(pte_dir), str(req), str(out)])
    assert res.returncode == 0, f"running the optimum program failed:\n{res.stderr[-4000:]}"
    with np.load(out) as z:
        result = {k: z[k] for k in z.files}
    result["meta"] = json.loads(str(result["meta"]))
    return result


@pytest.fixture(scope="session")
def fp32_run(fp32_pte, reference, tmp_path_factory) -> dict:
    return _run_in_venv(fp32_pte, tmp_path_factory.mktemp("run-fp32"), _prompts(reference))


# --- the environment --------------------------------------------------------------------------

def test_the_venv_has_optimum_executorch_pins_the_main_env_cannot(venv_record):
    import transformers

    frozen = dict(line.split("==", 1) for line in venv_record["freeze"] if "==" in line)
    for name, version in PINNED.items():
        assert frozen.get(name, "").split("+")[0] == version, (name, frozen.get(name))
    # and what the venv's python imports now, not only what was recorded at install time
    probe = "import json, transformers, optimum.executorch, executorch, torch; print(json.dumps([transformers.__version__, torch.__version__]))"
    res = _venv_run([str(VENV / "bin" / "python"), "-c", probe])
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout.splitlines()[-1]) == ["5.0.0rc1", "2.13.0+cpu"]
    assert venv_record["pins"][0] == "optimum-executorch==1.1.0"
    # why it is a venv: this project's own transformers is newer than optimum-executorch allows
    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    assert (major, minor) >= (5, 20)
    assert "transformers==5.0.0rc1" in venv_record["conflict_with_main"]
    print(f"optimum venv: uncached install took {venv_record['install_seconds']} s", file=sys.stderr)


# --- the PhoneLM checkpoint itself ----------------------------------------------------------------

def test_a_phonelm_checkpoint_is_refused_by_optimum(venv_record, bundled_checkpoint, tmp_path):
    """What a user sees who points optimum-cli at a PhoneLM directory: its config names remote code
    (auto_map) and optimum-cli has no --trust_remote_code; without auto_map the model type is
    unknown to stock transformers. Either way nothing is written and `hf-llama` is the route."""
    res = _optimum_export(bundled_checkpoint, tmp_path / "out")
    assert res.returncode != 0
    assert "trust_remote_code" in res.stderr, res.stderr[-3000:]
    assert not (tmp_path / "out" / "model.pte").exists()

    plain = tmp_path / "no-auto-map"
    shutil.copytree(bundled_checkpoint, plain)
    cfg = json.loads((plain / "config.json").read_text())
    del cfg["auto_map"]
    (plain / "config.json").write_text(json.dumps(cfg))
    res = _optimum_export(plain, tmp_path / "out2")
    assert res.returncode != 0
    assert "model type `phonelm`" in res.stderr and "does not recognize this architecture" in res.stderr, res.stderr[-3000:]
    assert not (tmp_path / "out2" / "model.pte").exists()


# --- fp32 -------------------------------------------------------------------------------------------

def test_program_carries_the_models_metadata(fp32_run, reference):
    meta = fp32_run["meta"]
    assert meta["get_max_seq_len"] == [MAX_SEQ]
    assert meta["get_vocab_size"] == [reference.model.config.vocab_size]
    assert meta["get_bos_id"] == [1]
    # config.json's eos only (<|im_end|>); generation_config's second stop id (0) is not recorded
    assert meta.get("get_eos_ids", meta.get("get_eos_id")) == [2]
    assert meta["use_kv_cache"] == [True]


def test_fp32_prefill_equals_the_reference(fp32_run, reference):
    for i, prompt in enumerate(_prompts(reference)):
        want, got = reference.logits(prompt), fp32_run[f"prefill_{i}"]
        diff = np.abs(got - want).max()
        print(f"optimum fp32 prefill {i}: max |dlogit| {diff:.2e} over {len(prompt)} positions", file=sys.stderr)
        assert got.shape == want.shape
        assert diff < FP32_ATOL
        assert (got.argmax(-1) == want.argmax(-1)).all()


def _reply(tokens, stop_ids) -> list[int]:
    """Tokens up to the first stop id. optimum's program declares only config.json's eos (2,
    <|im_end|>) where the reference also stops at 0 (<|endoftext|>); both stop at the first."""
    out = []
    for t in tokens:
        if t in stop_ids:
            break
        out.append(int(t))
    return out


def test_fp32_greedy_decode_through_the_cache_equals_the_reference(fp32_run, reference):
    lengths = []
    for i, prompt in enumerate(_prompts(reference)):
        tokens = [int(t) for t in fp32_run[f"tokens_{i}"]]
        reply = _reply(tokens, reference.stop_ids)
        assert reply == reference.generate(prompt, max_new_tokens=NEW_TOKENS)
        assert len(reply) > 0
        # optimum's own generate() produced the same tokens as the loop whose rows we compare
        assert [int(t) for t in fp32_run[f"generate_{i}"]] == tokens
        # every decode step's logits equal the reference's full forward at that position
        steps = fp32_run[f"steps_{i}"]
        want = reference.logits(prompt + tokens[:-1])[len(prompt):]
        diff = np.abs(steps - want).max()
        print(f"optimum fp32 decode {i}: max |dlogit| {diff:.2e} over {len(steps)} steps", file=sys.stderr)
        assert steps.shape == want.shape and diff < FP32_ATOL
        lengths.append(len(tokens))
    assert max(lengths) >= 15  # a real walk through the cache (the raw text: 17 tokens, then <|im_end|>)


# --- 8da4w ------------------------------------------------------------------------------------------

def test_8da4w_agrees_with_the_reference(q4_pte, fp32_pte, reference, tmp_path):
    ws = _heldout_windows(reference)
    run = _run_in_venv(q4_pte, tmp_path, _prompts(reference)[:1], ws)
    agree = np.concatenate([run[f"window_{i}"].argmax(-1) == reference.logits(w).argmax(-1) for i, w in enumerate(ws)])
    print(f"optimum 8da4w: top-1 agreement {agree.mean():.1%} over {agree.size} positions", file=sys.stderr)
    assert agree.size >= 400 and agree.mean() >= Q4_TOP1_FLOOR
    # quantized, so smaller: not silently an fp32 program
    assert (q4_pte / "model.pte").stat().st_size < 0.6 * (fp32_pte / "model.pte").stat().st_size
