#!/usr/bin/env bash
# The optimum route (tests/test_optimum_route.py): optimum-executorch in a virtual environment
# of its own, because optimum-executorch 1.1.0 pins transformers==5.0.0rc1 and this project
# needs transformers>=5.20. The venv gets exactly the pins below; it is built once into
# ~/.cache/phonelm-export/optimum-venv and reused while the pins are unchanged (instant).
#
# The outcome is recorded in optimum-venv.json beside the venv: {"ok": true, "pins", "freeze",
# "install_seconds", "conflict_with_main"} or {"ok": false, "pins", "error": <pip's own last
# lines>}. A failed install does not stop CI here: the test reads the record and fails quoting
# pip, so a pin that cannot be satisfied is reported, never skipped silently.
set -uo pipefail
CACHE="${PHONELM_EXPORT_CACHE:-$HOME/.cache/phonelm-export}"
VENV="$CACHE/optimum-venv"
RECORD="$CACHE/optimum-venv.json"
LOG="$CACHE/optimum-venv.log"
# optimum-executorch 1.1.0 requires optimum~=2.0.0, transformers==5.0.0rc1, executorch>=1.0.0;
# executorch/torch/torchao are held at the main environment's versions (the CPU torch 2.13.0
# wheel installs offline here, and executorch 1.5.1's native libraries link against it).
# Not --system-site-packages: it would be 11 small wheels instead of ~1.5 GB, but the venv then
# imports the main environment's `kernels` 0.19.1 (required by transformers 5.2x), and
# transformers 5.0.0rc1 fails at import ("Either a revision or a version must be specified").
PINS=(
  "optimum-executorch==1.1.0"
  "optimum==2.0.0"
  "transformers==5.0.0rc1"
  "executorch==1.5.1"
  "torch==2.13.0"
  "torchao==0.18.0"
)
export PIP_DISABLE_PIP_VERSION_CHECK=1

# pip's log lines without the noise of this machine's empty local indexes
pip_lines() { grep -v "is ignored: it is neither a file nor a directory" "$1" | tail -n "$2"; }

record_ok() {  # the record says built with exactly these pins, and the venv is isolated and has them
  [ -x "$VENV/bin/python" ] && [ -f "$RECORD" ] \
    && grep -qx "include-system-site-packages = false" "$VENV/pyvenv.cfg" \
    && python3 - "$RECORD" "${PINS[@]}" <<'PY' && venv_has_pins
import json, sys
rec = json.load(open(sys.argv[1]))
sys.exit(0 if rec.get("ok") and rec.get("pins") == sys.argv[2:] else 1)
PY
}

venv_has_pins() {  # what the venv's python would import is what the pins say (metadata only: fast)
  "$VENV/bin/python" - "${PINS[@]}" <<'PY'
import sys
from importlib.metadata import version
sys.exit(0 if all(version(p.split("==")[0]).split("+")[0] == p.split("==")[1] for p in sys.argv[1:]) else 1)
PY
}

build() {
  # a venv is not relocatable (its scripts hold its absolute path), so it is built in place and
  # only the record says it is complete: a half-built one is removed and rebuilt
  rm -rf "$VENV" "$RECORD"
  local start secs
  start=$(date +%s)
  if python3 -m venv "$VENV" >"$LOG" 2>&1 && "$VENV/bin/pip" install -q "${PINS[@]}" >>"$LOG" 2>&1; then
    secs=$(( $(date +%s) - start ))
    "$VENV/bin/pip" freeze >"$CACHE/optimum-venv.freeze" 2>/dev/null
    python3 - "$RECORD" "$secs" "$CACHE/optimum-venv.freeze" "${PINS[@]}" <<'PY'
import json, sys
out, secs, freeze, pins = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
json.dump({"ok": True, "pins": pins, "install_seconds": secs, "freeze": open(freeze).read().split()},
          open(out, "w"), indent=1)
PY
    echo "optimum venv: built at $VENV in ${secs} s"
  else
    # keep pip's own words (a resolver's ResolutionImpossible lines) for the test to quote
    pip_lines "$LOG" 25 >"$CACHE/optimum-venv.error"
    python3 - "$RECORD" "$CACHE/optimum-venv.error" "${PINS[@]}" <<'PY'
import json, sys
out, err, pins = sys.argv[1], sys.argv[2], sys.argv[3:]
json.dump({"ok": False, "pins": pins, "error": open(err).read()}, open(out, "w"), indent=1)
PY
    echo "optimum venv: install FAILED (recorded in $RECORD; tests/test_optimum_route.py reports it):"
    tail -5 "$CACHE/optimum-venv.error"
  fi
}

record_conflict() {
  # why a venv at all: pip's own verdict on optimum-executorch beside this project's transformers
  # (a resolver-only dry run over package metadata, seconds; once, then kept in the record)
  "$VENV/bin/pip" install --dry-run "optimum-executorch==1.1.0" "transformers>=5.20" >"$CACHE/optimum-venv.conflict" 2>&1
  pip_lines "$CACHE/optimum-venv.conflict" 15 >"$CACHE/optimum-venv.conflict.tail"
  python3 - "$RECORD" "$CACHE/optimum-venv.conflict.tail" <<'PY'
import json, os, sys
record, tail = sys.argv[1], sys.argv[2]
rec = json.load(open(record))
rec["conflict_with_main"] = open(tail).read()
json.dump(rec, open(record + ".tmp", "w"), indent=1)
os.replace(record + ".tmp", record)
PY
  echo "optimum venv: optimum-executorch 1.1.0 beside transformers>=5.20: $(grep -m1 -o 'ResolutionImpossible\|Would install' "$CACHE/optimum-venv.conflict")"
}

mkdir -p "$CACHE"
if record_ok; then
  echo "optimum venv: cached at $VENV (${PINS[*]})"
else
  build
fi
if record_ok && ! grep -q '"conflict_with_main"' "$RECORD"; then
  record_conflict
fi
exit 0
