"""``phonelm-export android``: the app bundle (model files, app config, functions, push script)."""
import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from phonelm_export.cli import main
from phonelm_export.intents.schema import FUNCTION_NAMES, data_text
from phonelm_export.tokenizer import call_format

pytestmark = pytest.mark.android


def run(*args):
    return CliRunner().invoke(main, ["android", *map(str, args)])


@pytest.fixture(scope="module")
def gguf_bundle(random_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("bundles") / "gguf"
    r = run(random_checkpoint, "--engine", "gguf", "--recipe", "f32", "-o", out, "--json")
    assert r.exit_code == 0, r.output
    return out, json.loads(r.output)


@pytest.mark.gguf
def test_gguf_bundle_layout_and_config(gguf_bundle):
    out, summary = gguf_bundle
    assert sorted(p.name for p in out.iterdir()) == ["functions.json", "model", "phonelm-app.json", "push.sh", "verbatim.json"]
    cfg = json.loads((out / "phonelm-app.json").read_text())
    assert cfg["engine"] == "gguf" and cfg["recipe"] == "f32" and cfg["stop_ids"] == [2, 0]
    assert cfg["model"] == "model/ckpt.gguf" and (out / cfg["model"]).is_file()
    assert cfg["prompts"]["call"] == call_format() and "<|im_start|>" in cfg["prompts"]["chat_template"]
    assert cfg["intents"]["functions"] == list(FUNCTION_NAMES)
    assert cfg["device_dir"] == "/sdcard/Android/data/org.phonelm.demo/files/models/ckpt"
    assert len(cfg["replay"]) == 8 and all(e["output"].startswith("result0 = ") for e in cfg["replay"])
    import hashlib

    for f in cfg["files"]:
        assert hashlib.sha256((out / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    assert json.loads((out / "functions.json").read_text())["functions"][0]["name"] == "ACTION_SET_ALARM"
    # what the Java core's CallGrammar needs beside functions.json to build the request's grammar
    assert cfg["intents"]["verbatim_file"] == "verbatim.json"
    assert (out / "verbatim.json").read_text() == data_text("verbatim.json")


@pytest.mark.gguf
def test_gguf_bundle_model_runs_in_llama_cpp(gguf_bundle, random_checkpoint):
    """The model file in the bundle is a real GGUF that computes the reference's logits."""
    from phonelm_export.registry import get_backend
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.reference import ReferenceRunner

    out, _ = gguf_bundle
    runner = get_backend("gguf").load(out / "model" / "ckpt.gguf")
    ids = [5, 17, 40, 99, 3, 250]
    ref = ReferenceRunner.from_checkpoint(open_checkpoint(random_checkpoint)).logits(ids)
    got = runner.logits(ids)
    assert abs(got - ref).max() < 1e-2  # f32 GGUF vs the fp32 reference (DESIGN: < 1e-2 held on trained toys)
    runner.close()


@pytest.mark.gguf
def test_push_script_pushes_every_file_to_the_device_dir(gguf_bundle, tmp_path):
    out, _ = gguf_bundle
    script = (out / "push.sh").read_text()
    assert os.access(out / "push.sh", os.X_OK)
    # run it against a fake adb that records its arguments
    fake = tmp_path / "adb"
    log = tmp_path / "log"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(0o755)
    r = subprocess.run(["sh", str(out / "push.sh")], env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    pushed = [l.split() for l in log.read_text().splitlines() if l.startswith("push")]
    dest = "/sdcard/Android/data/org.phonelm.demo/files/models/ckpt"
    assert sorted(p[1] for p in pushed) == ["functions.json", "model/ckpt.gguf", "phonelm-app.json", "verbatim.json"]
    assert all(p[2] == f"{dest}/{p[1]}" for p in pushed)
    assert "set -eu" in script


def test_refuses_unsafe_outputs_and_device_dirs(random_checkpoint, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for bad in (tmp_path, Path.home(), Path("/"), tmp_path.parent):
        r = run(random_checkpoint, "--engine", "gguf", "-o", bad, "--force")
        assert r.exit_code == 2 and "refusing" in r.output, (bad, r.output)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text("")
    r = run(random_checkpoint, "--engine", "gguf", "-o", project, "--force")
    assert r.exit_code == 2 and "project directory" in r.output
    other = tmp_path / "notes"
    other.mkdir()
    r = run(random_checkpoint, "--engine", "gguf", "-o", other)
    assert r.exit_code == 2 and "--force" in r.output
    r = run(random_checkpoint, "--engine", "gguf", "-o", other, "--force")
    assert r.exit_code == 2 and "not an app bundle" in r.output and other.is_dir()
    for dev in ("/sdcard/../system", "/sdcard/x;rm -rf", "relative/dir", "/etc/phonelm"):
        r = run(random_checkpoint, "--engine", "gguf", "-o", tmp_path / "b", "--device-dir", dev)
        assert r.exit_code == 2 and "unsafe device directory" in r.output, dev
        assert not (tmp_path / "b").exists()


def test_unknown_recipe_is_one_line_and_leaves_nothing(random_checkpoint, tmp_path):
    r = run(random_checkpoint, "--engine", "gguf", "--recipe", "nope", "-o", tmp_path / "b")
    assert r.exit_code == 2 and r.output.startswith("error:") and "Traceback" not in r.output
    assert not (tmp_path / "b").exists()


def _apk_or_skip(r, out):
    if r.exit_code == 2 and "could not fetch" in r.output:
        why = f"Debian bullseye's android.jar/dx cannot be fetched here: {r.output.strip()}"
        print(f"SKIP reason: {why}")
        pytest.skip(why)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


@pytest.mark.gguf
@pytest.mark.slow
def test_build_apk_makes_a_signed_verified_logic_only_apk(random_checkpoint, tmp_path):
    import zipfile

    out = tmp_path / "bundle"
    summary = _apk_or_skip(run(random_checkpoint, "--engine", "gguf", "--recipe", "f32", "-o", out, "--build-apk", "--json"), out)
    apk = Path(summary["apk"]["path"])
    assert apk == out / "phonelm-demo-replay.apk" and apk.is_file()
    verify = subprocess.run(["apksigner", "verify", "--verbose", apk], capture_output=True, text=True)
    assert verify.returncode == 0 and "Verified using v2 scheme (APK Signature Scheme v2): true" in verify.stdout
    badging = subprocess.run(["aapt", "dump", "badging", apk], capture_output=True, text=True).stdout
    assert "package: name='org.phonelm.demo'" in badging and "sdkVersion:'26'" in badging
    assert "launchable-activity: name='org.phonelm.demo.app.MainActivity'" in badging
    with zipfile.ZipFile(apk) as z:
        names = set(z.namelist())
        assert {"classes.dex", "assets/phonelm-app.json", "assets/functions.json", "AndroidManifest.xml"} <= names
        dex = z.read("classes.dex")
        for cls in (b"Lorg/phonelm/demo/core/CallParser;", b"Lorg/phonelm/demo/core/Planner;",
                    b"Lorg/phonelm/demo/core/ReplayEngine;", b"Lorg/phonelm/demo/app/IntentFactory;"):
            assert cls in dex
        assert json.loads(z.read("assets/phonelm-app.json")) == json.loads((out / "phonelm-app.json").read_text())
        assert not [n for n in names if n.endswith(".so")], "logic-only: no native code"


def test_build_apk_stops_cleanly_when_bullseye_is_unreachable(random_checkpoint, tmp_path, monkeypatch):
    from phonelm_export import android_tools

    monkeypatch.setenv("PHONELM_ANDROID_TOOLS", str(tmp_path / "tools"))
    monkeypatch.setattr(android_tools, "BULLSEYE_SOURCE", "deb [trusted=yes] http://127.0.0.1:9/debian bullseye main\n")
    if android_tools.jvm_tools()[0] is None or not all(map(__import__("shutil").which, ("aapt", "zipalign", "apksigner", "apt-get"))):
        pytest.skip("the APK tools themselves are missing; covered by the fetch path only where they exist")
    r = run(random_checkpoint, "--engine", "gguf", "--recipe", "f32", "-o", tmp_path / "b", "--build-apk")
    assert r.exit_code == 2 and "could not fetch Debian bullseye" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("engine,files,meta,expect", [
    ("executorch", ["model/m.pte", "model/tokenizer.json"], {}, {"model": "model/m.pte", "tokenizer": "model/tokenizer.json"}),
    ("mlc", ["model/m/mlc-chat-config.json", "model/m/params_shard_0.bin", "model/m/tokenizer.json", "model/m/phonelm_q4f16_1-android.tar"],
     {"model_lib": "phonelm_q4f16_1"},
     {"model_dir": "model/m", "tokenizer": "model/m/tokenizer.json", "model_lib": "phonelm_q4f16_1",
      "model_lib_archive": "model/m/phonelm_q4f16_1-android.tar"}),
])
def test_app_config_names_what_each_engine_module_reads(engine, files, meta, expect):
    """The keys ExecuTorchEngine.kt / MlcEngine.kt read from phonelm-app.json (their exports are tested in their backends)."""
    from phonelm_export.android import app_config
    from phonelm_export.registry import get_backend

    artifact = "model/m" if engine == "mlc" else files[0]
    cfg = app_config(backend=get_backend(engine), recipe="r", name="m", artifact=artifact,
                     files=[{"path": f, "size_bytes": 1, "sha256": "x"} for f in files],
                     device_dir="/sdcard/x", artifact_meta=meta, replay=[])
    assert cfg["engine"] == engine
    for k, v in expect.items():
        assert cfg[k] == v, k


@pytest.mark.executorch
@pytest.mark.slow
def test_executorch_bundle_holds_a_pte_and_tokenizer_that_run(random_checkpoint, tmp_path):
    from phonelm_export.registry import get_backend
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.reference import ReferenceRunner

    out = tmp_path / "et"
    r = run(random_checkpoint, "--engine", "executorch", "--recipe", "fp32", "-o", out,
            "--export-option", "max_seq_len=64", "--json")
    assert r.exit_code == 0, r.output
    cfg = json.loads((out / "phonelm-app.json").read_text())
    assert cfg["model"] == "model/ckpt.pte" and cfg["tokenizer"] == "model/tokenizer.json"
    assert (out / cfg["model"]).is_file() and (out / cfg["tokenizer"]).is_file()
    assert cfg["export"]["logits"] == "last"  # what LlmModule needs, and a cheaper prefill
    assert "model/ckpt.pte" in (out / "push.sh").read_text() and "model/tokenizer.json" in (out / "push.sh").read_text()
    runner = get_backend("executorch").load(out / cfg["model"])
    ids = [5, 17, 40, 99, 3, 250]
    ref = ReferenceRunner.from_checkpoint(open_checkpoint(random_checkpoint)).logits(ids)
    assert abs(runner.logits(ids) - ref).max() < 1e-2  # fp32 .pte vs the fp32 reference
