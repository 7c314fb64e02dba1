"""Find (and fetch) the Debian Android tools the host-side checks and the logic-only APK need.

From the current suite (bookworm), installed with apt by ``.ci/setup.d/50-android.sh``: a JDK
(javac), ``junit4`` + ``libhamcrest-java``, ``libandroid-json-java`` (AOSP org.json),
``aapt``, ``zipalign``, ``apksigner``. Only in the older ``bullseye`` suite:
``libandroid-23-java`` (an API-23 android.jar) and ``dalvik-exchange`` (the ``dx`` dexer).
Those two are fetched by name with apt into a private cache — apt's own lists and archives
under ``CACHE`` — and unpacked there with ``dpkg -x``; nothing is installed system-wide.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import PhoneLMError

JAVA_DIR = Path("/usr/share/java")
BULLSEYE_PACKAGES = ("libandroid-23-java", "dalvik-exchange")
BULLSEYE_SOURCE = "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main\n"


def cache_dir() -> Path:
    env = os.environ.get("PHONELM_ANDROID_TOOLS")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "phonelm-export" / "android-tools"


@dataclass
class JvmTools:
    javac: str
    java: str
    classpath: list[Path]  # org.json, junit4, hamcrest


def jvm_tools() -> tuple[JvmTools | None, str]:
    """The JDK and test jars, or (None, why not)."""
    javac, java = shutil.which("javac"), shutil.which("java")
    if not javac or not java:
        return None, "no JDK (javac/java); apt-get install default-jdk-headless"
    jars = [JAVA_DIR / "com.android.json.jar", JAVA_DIR / "junit4.jar", JAVA_DIR / "hamcrest-core.jar"]
    missing = [j.name for j in jars if not j.is_file()]
    if missing:
        return None, f"missing {', '.join(missing)}; apt-get install libandroid-json-java junit4 libhamcrest-java"
    return JvmTools(javac, java, jars), ""


def unpacked() -> Path:
    return cache_dir() / "root"


def android_jar() -> Path | None:
    p = unpacked() / "usr/lib/android-sdk/platforms/android-23/android.jar"
    return p if p.is_file() else None


def dx_jar() -> Path | None:
    p = unpacked() / "usr/lib/android-sdk/build-tools/debian/lib/dx.jar"
    return p if p.is_file() else None


def fetch_bullseye_tools(quiet: bool = True) -> Path:
    """Download libandroid-23-java and dalvik-exchange from bullseye into the cache and unpack them.

    Raises PhoneLMError (one line) when apt or the bullseye archive cannot be reached.
    """
    if android_jar() and dx_jar():
        return unpacked()
    apt_get, dpkg = shutil.which("apt-get"), shutil.which("dpkg")
    if not apt_get or not dpkg:
        raise PhoneLMError("fetching Debian bullseye's android.jar and dx needs apt-get and dpkg (a Debian-based system)")
    base = cache_dir()
    for sub in ("lists/partial", "cache/archives/partial", "debs", "etc"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    (base / "etc/sources.list").write_text(BULLSEYE_SOURCE)
    opts = [
        "-o", f"Dir::Etc::sourcelist={base / 'etc/sources.list'}", "-o", "Dir::Etc::sourceparts=-",
        "-o", f"Dir::State::Lists={base / 'lists'}", "-o", f"Dir::Cache={base / 'cache'}",
        "-o", "Debug::NoLocking=1", "-o", "quiet=2",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        opts += ["-o", "APT::Sandbox::User=root"]  # the cache is root's; apt's _apt user cannot write it

    def run(args, cwd=None):
        r = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
        if r.returncode != 0:
            last = (r.stderr.strip() or r.stdout.strip()).splitlines()[-1:] or ["(no output)"]
            raise PhoneLMError(f"could not fetch Debian bullseye's {', '.join(BULLSEYE_PACKAGES)}: {last[0]}")
        return r

    run([apt_get, *opts, "update"])
    run([apt_get, *opts, "download", *BULLSEYE_PACKAGES], cwd=base / "debs")
    root = unpacked()
    tmp = base / "root.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for deb in sorted((base / "debs").glob("*.deb")):
        run([dpkg, "-x", str(deb), str(tmp)])
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    if not (android_jar() and dx_jar()):
        raise PhoneLMError("the bullseye packages were fetched but android.jar or dx.jar is not where expected")
    return root


if __name__ == "__main__":  # used by .ci/setup.d/50-android.sh
    import sys

    try:
        print(fetch_bullseye_tools())
    except PhoneLMError as e:
        print(f"warning: {e}", file=sys.stderr)
        sys.exit(0)  # the tests that need these tools skip with this reason printed
