#!/usr/bin/env bash
# MLC backend: apache-tvm comes from pip (the [mlc] extra); what pip cannot provide is the C++
# compiler TVM's export_library calls to link the CPU model library (phonelm_<q>-cpu.so).
# Idempotent: does nothing when g++ is already there.
set -euo pipefail
if command -v g++ >/dev/null 2>&1 || command -v "${CXX:-__none__}" >/dev/null 2>&1; then
  echo "mlc: C++ linker present ($(command -v g++ || echo "$CXX"))"
else
  echo "mlc: installing g++ for TVM's export_library"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq g++ >/dev/null
fi
# the runtime must import and find its LLVM code generator
python3 - <<'PY'
import tvm
assert tvm.runtime.enabled("llvm"), "apache-tvm was built without LLVM; the MLC backend needs it"
print("mlc: apache-tvm", tvm.__version__, "with LLVM")
PY
