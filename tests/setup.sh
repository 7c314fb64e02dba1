#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine (idempotent; fast when done):
# the package with every extra, then each part's own non-pip setup in .ci/setup.d/*.sh
# (Debian tools for the Android core, the cached native llama.cpp build, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
start=$(date +%s)
echo "== pip install -e .[all,test] (llama-cpp-python compiles from source when no wheel is cached: ~9 min)"
python3 -m pip install -q -e ".[all,test]"
for f in .ci/setup.d/*.sh; do
  [ -e "$f" ] || continue
  echo "== setup: $f"
  bash "$f"
done
echo "== test setup done in $(( $(date +%s) - start )) s"
