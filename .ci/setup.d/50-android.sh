#!/usr/bin/env bash
# Android demo: the JDK and Debian's jars that compile and unit-test android_demo/core on the JVM,
# the APK tools (aapt, zipalign, apksigner), and — fetched by name from Debian bullseye into
# ~/.cache/phonelm-export/android-tools, not installed — the API-23 android.jar and the dx dexer.
# Idempotent: apt runs only when something is missing; the bullseye fetch only once.
set -euo pipefail
cd "$(dirname "$0")/../.."
need=()
command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)
[ -f /usr/share/java/junit4.jar ] || need+=(junit4)
[ -f /usr/share/java/hamcrest-core.jar ] || need+=(libhamcrest-java)
[ -f /usr/share/java/com.android.json.jar ] || need+=(libandroid-json-java)
command -v aapt >/dev/null 2>&1 || need+=(aapt)
command -v zipalign >/dev/null 2>&1 || need+=(zipalign)
command -v apksigner >/dev/null 2>&1 || need+=(apksigner)
if [ ${#need[@]} -gt 0 ]; then
  echo "android: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "android: JDK, junit4, org.json and APK tools present"
fi
# android.jar + dx from bullseye (prints a warning and carries on if bullseye is unreachable;
# the tests that need them then skip and say why)
python3 -m phonelm_export.android_tools 2>&1 | grep -v -e "^W[0-9]" -e torchao -e "Failed to load" || true
