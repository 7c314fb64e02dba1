#!/usr/bin/env bash
# The Android llama.cpp engine's host build (tests/test_android_jni.py): g++, a JDK (jni.h, javac,
# java), junit4 + hamcrest and AOSP's org.json, installed into the Debian sid chroot that
# 30-llamacpp-sid.sh builds. Why there: the JNI bridge links that chroot's libllama-dev (the host,
# bookworm, has no libllama), and a library linked against sid's glibc can only be loaded by a JVM
# that runs on it, so the whole toolchain lives in the chroot.
#
# Idempotent and cached: apt runs only when a package is missing; the marker .phonelm-jni-ready
# (written last, holding the tool versions) tells the test the chroot is complete. Serialised with
# 30-llamacpp-sid.sh by the same flock. Any failure fails CI loudly.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/sid-chroot.sh"  # CACHE, ROOT, SUDO, in_chroot
SID_MARKER="$ROOT/.phonelm-sid-ready"
MARKER="$ROOT/.phonelm-jni-ready"
PACKAGES=(g++ default-jdk-headless junit4 libhamcrest-java libandroid-json-java)
mkdir -p "$CACHE"
exec 9>"$CACHE/sid-chroot.lock"
flock 9
start=$(date +%s)

if [ ! -f "$SID_MARKER" ]; then
  echo "error: jni: no complete sid chroot at $ROOT (.ci/setup.d/30-llamacpp-sid.sh builds it and runs first)" >&2
  exit 1
fi



missing=()
for p in "${PACKAGES[@]}"; do
  chroot "$ROOT" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ] && [ -f "$MARKER" ]; then
  echo "jni: cached in $ROOT ($(tr '\n' ' ' < "$MARKER"))"
  exit 0
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "jni: apt-get install ${missing[*]} in the sid chroot (uncached: a few minutes)"
  $SUDO rm -f "$MARKER"
  in_chroot apt-get update -qq
  in_chroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  in_chroot apt-get clean
fi

# Mount points the test binds its work directory and the repository onto (in its own namespace).
$SUDO mkdir -p "$ROOT/mnt/phonelm-work" "$ROOT/mnt/phonelm-repo"

# Everything the test uses must be where it looks (a moved file should fail here, not in a test).
jdk="$(readlink -f "$ROOT/usr/lib/jvm/default-java")"
for f in "$jdk/include/jni.h" "$jdk/include/linux/jni_md.h" "$jdk/bin/javac" "$jdk/bin/java" \
         "$ROOT/usr/include/llama.h" "$ROOT/usr/share/java/junit4.jar" "$ROOT/usr/share/java/com.android.json.jar"; do
  [ -e "$f" ] || { echo "error: jni: $f missing from the sid chroot" >&2; exit 1; }
done
ls "$ROOT"/usr/lib/*/libllama.so >/dev/null 2>&1 || { echo "error: jni: libllama.so (libllama-dev) missing from the sid chroot" >&2; exit 1; }
{ ls "$ROOT/usr/share/java/hamcrest-core.jar" || ls "$ROOT/usr/share/java/hamcrest.jar"; } >/dev/null 2>&1 \
  || { echo "error: jni: no hamcrest jar in the sid chroot" >&2; exit 1; }

# (java finds its home through /proc/self/exe: in_chroot, not a bare chroot; a JDK that cannot start fails here)
versions="$(in_chroot sh -c 'set -e; g++ --version | head -n1; javac -version 2>&1; dpkg-query -W -f="libllama-dev \${Version}\n" libllama-dev')"
printf '%s\n' "$versions" | $SUDO tee "$MARKER.tmp" >/dev/null
$SUDO mv "$MARKER.tmp" "$MARKER"
echo "jni: sid chroot ready for the JNI engine test in $(( $(date +%s) - start )) s: $(tr '\n' ' ' < "$MARKER")"
