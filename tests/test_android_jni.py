"""The Android app's llama.cpp engine, compiled and run on this machine.

android_demo/engine-llamacpp's JNI bridge (the C++ file the NDK compiles) is built with g++
against Debian sid's libllama-dev and the JDK's jni.h; its Java class (LlamaCppEngine) is loaded by
the JVM and driven by the Java core (android_demo/core) through the chat and intent flows, on a
app bundle that ``phonelm-export android --engine gguf`` wrote from the bundled model (its compat
GGUF, prompts, functions and settings, read as the app reads them). The JUnit test
(engine-llamacpp/src/hostTest) compares with what this file computes in Python: the PyTorch
reference's greedy replies and ``phonelm-export call``'s intents for the same prompts and queries.

Everything native runs in the cached sid chroot (.ci/setup.d/30-llamacpp-sid.sh, 55-jni.sh): a
library linked against sid's libllama needs sid's glibc, so the JVM that loads it is sid's too.
Each chroot command runs in a private mount namespace, so its /proc and bind mounts vanish with it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

pytestmark = [pytest.mark.android, pytest.mark.gguf, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "android_demo"
JNI_SOURCE = DEMO / "engine-llamacpp/src/main/cpp/phonelm_llama_jni.cpp"
CACHE = Path(os.environ.get("PHONELM_EXPORT_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "phonelm-export")
ROOT = CACHE / "sid-chroot"
LOCK = CACHE / "sid-chroot.lock"
WORK, REPO_IN = "/mnt/phonelm-work", "/mnt/phonelm-repo"  # mount points 55-jni.sh creates in the chroot

# A few prompts keep the test short. The chat prompts include non-ASCII text (an emoji is 4 bytes
# in UTF-8 and a surrogate pair in Java): the bridge must hand llama.cpp the same bytes HF encodes.
CHAT = [
    [{"role": "user", "content": "What can you do on my phone?"}],
    [{"role": "system", "content": "You are a helpful assistant."},
     {"role": "user", "content": "Write a short note for Zoë about the café \U0001F642"}],
]
CHAT_MAX_NEW = 40
CALL_QUERIES = ["wake me up at 7:30", "call Anna", "send an email to bob@example.com saying hello"]
# short-lived JVMs on a busy 2-core machine: the C1 compiler alone starts several times faster
FAST_JVM = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]


def _skip(why: str):
    print(f"SKIP reason: {why}")
    pytest.skip(why)


def _in_chroot(argv, work: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run argv in the sid chroot with /proc, work (read-write) and the repo (read-only) mounted in a
    private mount namespace (debootstrap made the /dev nodes a JVM needs); a shared lock waits for a setup script that is changing the chroot."""
    script = r'''
set -e
root=$1; work=$2; repo=$3; shift 3
mount -t proc proc "$root/proc"
mount --bind "$work" "$root/mnt/phonelm-work"
mount --bind "$repo" "$root/mnt/phonelm-repo"
mount -o remount,bind,ro "$root/mnt/phonelm-repo"
exec chroot "$root" "$@"
'''
    cmd = ["flock", "-s", str(LOCK), "unshare", "--mount", "--propagation", "private", "--",
           "sh", "-c", script, "sh", str(ROOT), str(work), str(REPO), *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def chroot():
    if os.geteuid() != 0:
        _skip("the sid chroot needs root (chroot, mount namespaces)")
    if not shutil.which("unshare") or not shutil.which("flock"):
        _skip("needs util-linux's unshare and flock")
    marker = ROOT / ".phonelm-jni-ready"
    if not (ROOT / ".phonelm-sid-ready").is_file() or not marker.is_file():
        _skip(f"no sid chroot with libllama-dev and a JDK at {ROOT}: run .ci/setup.d/30-llamacpp-sid.sh and .ci/setup.d/55-jni.sh")
    print("sid chroot:", " | ".join(marker.read_text().split("\n")))
    return ROOT


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """The app bundle of the bundled model with an f32 GGUF in the default compat encoding, by the CLI
    (f32: the greedy replies are compared token for token with the fp32 reference)."""
    from phonelm_export.cli import main

    out = tmp_path_factory.mktemp("jni-bundle") / "bundle"
    r = CliRunner().invoke(main, ["android", "--engine", "gguf", "--recipe", "f32", "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    cfg = json.loads((out / "phonelm-app.json").read_text())
    assert cfg["export"]["encoding"] == "compat" and (out / cfg["model"]).is_file()
    return out


@pytest.fixture(scope="module")
def expected(bundle):
    """What the JUnit test must reproduce: the PyTorch reference's greedy chat replies and the desktop
    intent flow (``phonelm-export call``'s run_call) for the same prompts and queries."""
    from phonelm_export.chat_cli import open_runner
    from phonelm_export.intents.flow import prompt_ids, run_call

    runner, label = open_runner(None)  # the bundled checkpoint in the PyTorch reference
    assert label == "pytorch"
    tok = runner.tokenizer
    chat = []
    for messages in CHAT:
        prompt = tok.render_chat(messages, add_generation_prompt=True)
        ids = tok.encode(prompt)
        reply = runner.generate(ids, max_new_tokens=CHAT_MAX_NEW)  # greedy; stops at <|im_end|> / <|endoftext|>
        # llama.cpp's pieces render control tokens as nothing: HF's skip_special_tokens does the same
        chat.append({"messages": messages, "prompt": prompt, "prompt_ids": ids, "max_new_tokens": CHAT_MAX_NEW,
                     "reply": tok.decode(reply, skip_special_tokens=True), "reply_tokens": len(reply)})
    cfg = json.loads((bundle / "phonelm-app.json").read_text())
    k, max_new = cfg["intents"]["retrieval_k"], cfg["sampling"]["max_new_tokens"]  # what the app uses
    calls = []
    for q in CALL_QUERIES:
        # constrain=False: the app's CallFlow decodes freely (PhoneLM's own demo does too), so the twin does
        res = run_call(runner, q, k=k, max_new_tokens=max_new, constrain=False).to_json()
        calls.append({**{k: res[k] for k in ("query", "functions", "output", "parse_error", "intents", "ok")},
                      "prompt_ids": prompt_ids(tok, q, res["functions"])})
    assert any(c["ok"] for c in calls), "the bundled model should map at least one of these queries"
    # the default flow: decoded under the request's grammar (the Java core's CallGrammar is its twin)
    constrained = [run_call(runner, q, k=k, max_new_tokens=max_new).to_json() for q in CALL_QUERIES]
    assert all(c["constrained"] and c["ok"] for c in constrained)
    return {"chat": chat, "calls": calls, "calls_constrained": constrained}


@pytest.fixture(scope="module")
def built(chroot, tmp_path_factory):
    """libphonelm_llama.so (g++, in the chroot) and the classes of the core, the engine and its host test (javac)."""
    work = tmp_path_factory.mktemp("jni-work")
    (work / "lib").mkdir()
    (work / "classes").mkdir()
    src = f"{REPO_IN}/{JNI_SOURCE.relative_to(REPO)}"
    # -Werror: the bridge must compile cleanly against this llama.h; deprecations are shown but tolerated
    build = ("set -e; jdk=$(readlink -f /usr/lib/jvm/default-java); "
             "g++ -std=c++17 -O2 -fPIC -shared -Wall -Wextra -Werror -Wno-error=deprecated-declarations "
             f"-I$jdk/include -I$jdk/include/linux {src} -o {WORK}/lib/libphonelm_llama.so -lllama")
    r = _in_chroot(["sh", "-c", build], work)
    assert r.returncode == 0, f"g++ failed:\n{r.stdout}{r.stderr}"
    if r.stderr.strip():
        print("g++:", r.stderr)
    sources = sorted(p.relative_to(REPO) for d in ("core/src/main/java", "engine-llamacpp/src/main/java", "engine-llamacpp/src/hostTest/java")
                     for p in (DEMO / d).rglob("*.java"))
    assert any(p.name == "LlamaCppEngine.java" for p in sources) and any(p.name == "LlamaCppEngineHostTest.java" for p in sources)
    # --release 8: the core's language level; -Xlint:-options: a newer JDK warns that 8 is old
    r = _in_chroot(["javac", *[f"-J{o}" for o in FAST_JVM], "--release", "8", "-Xlint:all", "-Xlint:-options", "-Werror",
                    "-encoding", "UTF-8", "-cp", _classpath(chroot), "-d", f"{WORK}/classes",
                    *[f"{REPO_IN}/{p}" for p in sources]], work)
    assert r.returncode == 0, f"javac failed:\n{r.stdout}{r.stderr}"
    # every native method the Java class declares is exported by the library, and nothing else of ours
    nm = subprocess.run(["nm", "-D", "--defined-only", str(work / "lib/libphonelm_llama.so")], capture_output=True, text=True)
    exported = set(re.findall(r"Java_org_phonelm_demo_engine_llamacpp_LlamaCppEngine_(\w+)", nm.stdout))
    assert exported == _native_methods() and len(exported) == 5, nm.stdout
    return work


def _native_methods() -> set[str]:
    java = (DEMO / "engine-llamacpp/src/main/java/org/phonelm/demo/engine/llamacpp/LlamaCppEngine.java").read_text()
    return set(re.findall(r"\bnative\s+[\w\[\]]+\s+(\w+)\s*\(", java))


def test_the_host_build_compiles_the_ndk_builds_source():
    """'The same C++ the NDK compiles': CMakeLists.txt builds exactly the one file the host build compiles."""
    cmake = (DEMO / "engine-llamacpp/src/main/cpp/CMakeLists.txt").read_text()
    m = re.search(r"add_library\(phonelm_llama SHARED ([^)]*)\)", cmake)
    assert m and m.group(1).split() == [JNI_SOURCE.name], cmake
    assert 'System.loadLibrary("phonelm_llama")' in (DEMO / "engine-llamacpp/src/main/java/org/phonelm/demo/engine/llamacpp/LlamaCppEngine.java").read_text()


def _classpath(root: Path) -> str:
    jars = ["junit4.jar", "hamcrest-core.jar" if (root / "usr/share/java/hamcrest-core.jar").exists() else "hamcrest.jar",
            "com.android.json.jar"]
    return ":".join(f"/usr/share/java/{j}" for j in jars)


def _host_test_classes() -> list[str]:
    """Every JUnit class of engine-llamacpp/src/hostTest (*Test.java), by its class name."""
    root = DEMO / "engine-llamacpp/src/hostTest/java"
    return sorted(".".join(p.relative_to(root).with_suffix("").parts) for p in root.rglob("*Test.java"))


def _junit(chroot, work: Path, bundle: Path, expected: dict, classes: list[str] | None = None):
    if not (work / "bundle").exists():
        shutil.copytree(bundle, work / "bundle")
    (work / "expected.json").write_text(json.dumps(expected, ensure_ascii=False), encoding="utf-8")
    props = [f"-Dphonelm.bundle={WORK}/bundle", f"-Dphonelm.expected={WORK}/expected.json",
             f"-Dphonelm.verbatim={REPO_IN}/phonelm_export/intents/data/verbatim.json", f"-Djava.library.path={WORK}/lib"]
    # --enable-native-access: the JDK (22+) warns about System.loadLibrary in unnamed modules otherwise
    r = _in_chroot(["java", *FAST_JVM, "--enable-native-access=ALL-UNNAMED", *props, "-cp", f"{WORK}/classes:{_classpath(chroot)}",
                    "org.junit.runner.JUnitCore", *(classes or _host_test_classes())], work)
    return r.returncode, r.stdout + r.stderr


def test_jni_engine_runs_chat_and_intent_flows_like_python(chroot, built, bundle, expected):
    rc, out = _junit(chroot, built, bundle, expected)
    assert rc == 0, out[-8000:]
    m = re.search(r"^OK \((\d+) tests\)", out, re.M)
    assert m and int(m.group(1)) >= 12, out[-4000:]


def test_jni_engine_test_fails_on_a_wrong_expected_reply(chroot, built, bundle, expected):
    """The JUnit test really compares: one changed reference reply makes it fail, naming the reply."""
    bad = json.loads(json.dumps(expected))
    bad["chat"][1]["reply"] += " (changed)"
    rc, out = _junit(chroot, built, bundle, bad, ["org.phonelm.demo.engine.llamacpp.LlamaCppEngineHostTest"])
    assert rc != 0 and "reply 1" in out, out[-4000:]
