"""The Android demo's model-agnostic core (android_demo/core, Java 8, no android.* imports),
compiled with this machine's JDK and unit-tested on the JVM against the same golden vectors
as the Python intents package; plus its Android constants checked against the SDK's android.jar.
"""
import re
import subprocess
from pathlib import Path

import pytest

from phonelm_export import android_tools
from phonelm_export.intents import android_values

pytestmark = pytest.mark.android

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "android_demo" / "core"
GOLDEN = REPO / "tests" / "golden" / "intents"
FUNCTIONS = REPO / "phonelm_export" / "intents" / "data" / "functions.json"
JVM_PROPS = [f"-Dphonelm.golden={GOLDEN}", f"-Dphonelm.functions={FUNCTIONS}"]
# short-lived JVMs on a busy 2-core machine: the C1 compiler alone starts several times faster
FAST_JVM = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]


def _tools():
    tools, why = android_tools.jvm_tools()
    if tools is None:
        print(f"SKIP reason: {why}")
        pytest.skip(why)
    return tools


def _javac(tools, out: Path, sources, extra_cp=()):
    cp = ":".join(str(p) for p in [*tools.classpath, *extra_cp])
    r = subprocess.run([tools.javac, *[f"-J{o}" for o in FAST_JVM], "--release", "8", "-Xlint:all", "-Werror", "-encoding", "UTF-8",
                        "-cp", cp, "-d", str(out), *map(str, sources)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def _junit(tools, classes, cp_dirs):
    cp = ":".join(str(p) for p in [*cp_dirs, *tools.classpath])
    r = subprocess.run([tools.java, *FAST_JVM, *JVM_PROPS, "-cp", cp, "org.junit.runner.JUnitCore", *classes],
                       capture_output=True, text=True, timeout=300)
    return r.returncode, r.stdout + r.stderr


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    tools = _tools()
    out = tmp_path_factory.mktemp("android-core")
    main = sorted((CORE / "src/main/java").rglob("*.java"))
    tests = sorted((CORE / "src/test/java").rglob("*.java"))
    (out / "main").mkdir()
    _javac(tools, out / "main", main + tests)  # one javac run: JVM start-up dominates on this machine
    return tools, out, [p.stem for p in tests if p.stem.endswith("Test")]


def test_core_sources_have_no_android_imports():
    sources = list((CORE / "src/main/java").rglob("*.java"))
    assert len(sources) >= 15
    for p in sources:
        assert not re.search(r"^import android\.", p.read_text(), re.M), p


def test_core_unit_tests_pass_on_the_jvm(compiled):
    tools, out, classes = compiled
    assert {"ParserGoldenTest", "PlanGoldenTest", "SchemaGoldenTest", "CallFlowTest"} <= set(classes)
    rc, text = _junit(tools, [f"org.phonelm.demo.core.{c}" for c in classes], [out / "main"])
    assert rc == 0, text
    m = re.search(r"OK \((\d+) tests?\)", text)
    assert m and int(m.group(1)) >= 12, text


def test_core_fails_on_a_wrong_golden_vector(compiled, tmp_path):
    """The JVM suite really compares: one changed expectation makes it fail."""
    tools, out, _ = compiled
    bad = tmp_path / "golden"
    bad.mkdir()
    for f in GOLDEN.glob("*.json"):
        (bad / f.name).write_text(f.read_text(encoding="utf-8").replace("tel:%2B1%20555%200101", "tel:+1 555 0101"), encoding="utf-8")
    cp = ":".join(str(p) for p in [out / "main", *tools.classpath])
    r = subprocess.run([tools.java, *FAST_JVM, f"-Dphonelm.golden={bad}", f"-Dphonelm.functions={FUNCTIONS}", "-cp", cp,
                        "org.junit.runner.JUnitCore", "org.phonelm.demo.core.PlanGoldenTest"], capture_output=True, text=True)
    assert r.returncode != 0 and "pick_then_info_then_dial" in r.stdout


def test_android_constants_match_the_sdk(compiled, tmp_path):
    tools, out, _ = compiled
    jar = android_tools.android_jar()
    if jar is None:
        why = (f"no API-23 android.jar in {android_tools.cache_dir()} (Debian bullseye's libandroid-23-java; "
               "run .ci/setup.d/50-android.sh or python -m phonelm_export.android_tools)")
        print(f"SKIP reason: {why}")
        pytest.skip(why)
    _javac(tools, tmp_path, sorted((CORE / "src/sdkTest/java").rglob("*.java")), extra_cp=[out / "main", jar])
    # android.jar is needed only to compile: javac inlines the SDK's constant values
    rc, text = _junit(tools, ["org.phonelm.demo.core.AndroidConstantsTest"], [tmp_path, out / "main"])
    assert rc == 0 and "OK (3 tests)" in text, text


def test_python_and_java_constants_agree():
    java = (CORE / "src/main/java/org/phonelm/demo/core/AndroidConstants.java").read_text()
    consts = dict(re.findall(r'public static final String (\w+) = "([^"]*)";', java))
    assert len(consts) >= 50
    for name, value in consts.items():
        assert getattr(android_values, name) == value, name
    settings = dict(re.findall(r'\{"(\w+)", "(android\.settings\.\w+)"\}', java))
    assert settings == android_values.SETTINGS_ACTIONS
