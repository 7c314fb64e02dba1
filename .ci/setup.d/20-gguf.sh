#!/usr/bin/env bash
# GGUF backend: the patched llama-cpp-python that runs --arch native files (tests run both
# encodings). Built once per patch/version/CPU into ~/.cache/phonelm-export; instant when cached.
# A failed build does not stop CI here: it is recorded, and the native tests fail quoting it.
set -uo pipefail
cd "$(dirname "$0")/../.."
python3 - <<'PY' || echo "gguf: native llama.cpp build FAILED (the native tests will report why)"
import time
from phonelm_export.backends.gguf.native import build, native_site
from phonelm_export.progress import Progress

t = time.time()
cached = native_site() is not None
info = build(progress=Progress())
print(f"gguf native llama.cpp: {'cached' if cached else 'built'} at {info['site']} ({time.time() - t:.0f} s)")
PY
exit 0
