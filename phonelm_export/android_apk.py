"""The logic-only APK: the demo app with its replay engine and no native code, built with
Debian's tools (javac, dx from bullseye, aapt, zipalign, apksigner) instead of Gradle.

It proves on a machine without the Android SDK that the app's Java sources and the core compile
against the real android.jar, dex, package, sign and verify; the APK installs on a phone (API
26+) and runs the intent-calling flow on the replay answers of the bundle in its assets.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from . import android_tools
from .errors import PhoneLMError

SOURCES = Path(__file__).resolve().parent.parent / "android_demo"
MIN_SDK = 26


def _run(args, what: str, cwd=None) -> str:
    r = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        detail = (r.stderr.strip() or r.stdout.strip()).splitlines()
        raise PhoneLMError(f"{what} failed: {detail[-1] if detail else 'exit ' + str(r.returncode)}")
    return r.stdout + r.stderr


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if not path:
        raise PhoneLMError(f"--build-apk needs {name}: apt-get install {package}")
    return path


def debug_keystore() -> Path:
    """A per-machine debug key (like Android Studio's), made once with the JDK's keytool."""
    ks = android_tools.cache_dir() / "debug.keystore"
    if not ks.is_file():
        ks.parent.mkdir(parents=True, exist_ok=True)
        _run([_tool("keytool", "default-jdk-headless"), "-genkeypair", "-keystore", ks, "-storepass", "android",
              "-keypass", "android", "-alias", "androiddebugkey", "-keyalg", "RSA", "-keysize", "2048",
              "-validity", "10000", "-dname", "CN=Android Debug,O=Android,C=US"], "keytool")
    return ks


def build_replay_apk(out: Path, config: Path, functions: Path, progress=None) -> dict:
    """Build, sign and verify ``out``; PhoneLMError (one line) when a tool is missing or unreachable."""
    if not (SOURCES / "app/src/main/AndroidManifest.xml").is_file():
        raise PhoneLMError("--build-apk needs the android_demo/ sources of a repository checkout")
    jvm, why = android_tools.jvm_tools()
    if jvm is None:
        raise PhoneLMError(f"--build-apk: {why}")
    aapt = _tool("aapt", "aapt")
    zipalign = _tool("zipalign", "zipalign")
    apksigner = _tool("apksigner", "apksigner")
    if progress:
        progress.step("fetching Debian bullseye's android.jar and dx (once)")
    android_tools.fetch_bullseye_tools()  # raises "could not fetch ..." when bullseye is unreachable
    android_jar, dx_jar = android_tools.android_jar(), android_tools.dx_jar()
    with tempfile.TemporaryDirectory(prefix="phonelm-apk-") as tmp:
        t = Path(tmp)
        classes, assets = t / "classes", t / "assets"
        classes.mkdir()
        assets.mkdir()
        sources = sorted((SOURCES / "core/src/main/java").rglob("*.java")) + sorted((SOURCES / "app/src/main/java").rglob("*.java"))
        if progress:
            progress.step(f"compiling {len(sources)} Java sources against android.jar (API 23 stubs, java.time from Java 8)")
        _run([jvm.javac, "-J-XX:TieredStopAtLevel=1", "--release", "8", "-nowarn", "-encoding", "UTF-8",
              "-cp", android_jar, "-d", classes, *sources], "javac")
        if progress:
            progress.step("dexing with dx")
        _run([jvm.java, "-XX:TieredStopAtLevel=1", "-cp", dx_jar, "com.android.dx.command.Main", "--dex",
              f"--min-sdk-version={MIN_SDK}", f"--output={t / 'classes.dex'}", classes], "dx")
        shutil.copyfile(config, assets / "phonelm-app.json")
        shutil.copyfile(functions, assets / "functions.json")
        unsigned, aligned = t / "unsigned.apk", t / "aligned.apk"
        if progress:
            progress.step("packaging, aligning and signing")
        _run([aapt, "package", "-f", "-M", SOURCES / "app/src/main/AndroidManifest.xml", "-A", assets,
              "-I", android_jar, "-F", unsigned], "aapt package")
        _run([aapt, "add", unsigned, "classes.dex"], "aapt add", cwd=t)
        _run([zipalign, "-f", "4", unsigned, aligned], "zipalign")
        signed = t / "signed.apk"
        _run([apksigner, "sign", "--ks", debug_keystore(), "--ks-pass", "pass:android", "--key-pass", "pass:android",
              "--min-sdk-version", str(MIN_SDK), "--out", signed, aligned], "apksigner sign")
        verify = _run([apksigner, "verify", "--verbose", "--min-sdk-version", str(MIN_SDK), signed], "apksigner verify")
        badging = _run([aapt, "dump", "badging", signed], "aapt dump badging")
        shutil.copyfile(signed, out)
    package = next((l for l in badging.splitlines() if l.startswith("package:")), "")
    schemes = [l.split()[2] + " scheme" for l in verify.splitlines() if l.startswith("Verified using") and l.strip().endswith("true")]
    return {
        "path": str(out),
        "size_bytes": out.stat().st_size,
        "package": package,
        "verify": ", ".join(schemes) or "verified",
        "badging": badging.splitlines()[:6],
    }
