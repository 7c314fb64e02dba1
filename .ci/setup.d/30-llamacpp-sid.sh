#!/usr/bin/env bash
# A second, newer llama.cpp than the pinned llama-cpp-python: Debian sid's own llama.cpp tools
# (llama-cli, llama-server, llama-perplexity, llama-tokenize, llama-quantize, llama-bench, libllama-dev) in a
# debootstrap chroot at ~/.cache/phonelm-export/sid-chroot. tests/test_stock_llamacpp.py drives it
# (and the JNI engine test builds against its libllama-dev: other setup scripts add their packages
# to the same chroot under the same lock).
#
# Idempotent and cached: the chroot counts as built only when its marker file exists (written last,
# holding the installed llama.cpp version), so a half-built chroot is removed and rebuilt, never reused.
# Serialised by flock on sid-chroot.lock: concurrent setup scripts wait instead of racing apt.
# The mirror is the Debian mirror this host's apt already uses (no other host is contacted).
# Any failure here fails CI loudly: the chroot is expected to exist on every CI machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/sid-chroot.sh"  # CACHE, ROOT, SUDO, in_chroot
MARKER="$ROOT/.phonelm-sid-ready"
# llama-perplexity and llama-tokenize are in -tools-extra; llama-cli/-server/-quantize/-bench in -tools
PACKAGES=(llama.cpp-tools llama.cpp-tools-extra libllama-dev)
mkdir -p "$CACHE"
exec 9>"$CACHE/sid-chroot.lock"
flock 9

start=$(date +%s)

# Every package in PACKAGES installed? (the marker alone is not enough: the list may grow)
chroot_has_all() {
  [ -f "$MARKER" ] || return 1
  local p
  for p in "${PACKAGES[@]}"; do
    $SUDO chroot "$ROOT" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || return 1
  done
}

if chroot_has_all; then
  echo "llamacpp-sid: cached chroot at $ROOT ($(cat "$MARKER"))"
  exit 0
fi

# The Debian archive mirror the host's apt uses: first non-security Debian URI in sources.list(.d).
host_mirror() {
  {
    grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
      | sed -E 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/'
    grep -hsiE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources \
      | sed -E 's/^[[:space:]]*URIs:[[:space:]]*//I' | tr ' ' '\n'
  } | grep -E '/debian/?$' | grep -v security | head -n1
}
MIRROR="$(host_mirror || true)"
if [ -z "$MIRROR" ]; then
  echo "error: llamacpp-sid: no Debian mirror found in /etc/apt/sources.list*" >&2
  exit 1
fi


if [ ! -f "$MARKER" ]; then
  if [ -e "$ROOT" ]; then
    echo "llamacpp-sid: removing an incomplete chroot at $ROOT"
    # Defensive: unmount anything a crashed run left mounted inside before deleting.
    awk -v r="$ROOT/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
      $SUDO umount -l "$m" || true
    done
    $SUDO rm -rf --one-file-system "$ROOT"
  fi
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "llamacpp-sid: installing debootstrap on the host"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
  echo "llamacpp-sid: debootstrap --variant=minbase sid from $MIRROR (uncached: a few minutes)"
  $SUDO debootstrap --variant=minbase sid "$ROOT" "$MIRROR" >"$CACHE/sid-debootstrap.log" 2>&1 || {
    echo "error: llamacpp-sid: debootstrap failed; last lines of $CACHE/sid-debootstrap.log:" >&2
    tail -n 20 "$CACHE/sid-debootstrap.log" >&2
    exit 1
  }
  # The chroot's apt judges Release dates as the host's does: where the host's mirror is a frozen
  # snapshot, the host disables the Valid-Until/date checks and so must the chroot (signatures are
  # still verified either way).
  apt-config dump | grep -E '^Acquire::Check-(Valid-Until|Date) ' \
    | $SUDO tee "$ROOT/etc/apt/apt.conf.d/99phonelm-host-dates" >/dev/null || true
  # No daemons may start from package scripts inside the chroot.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$ROOT/usr/sbin/policy-rc.d" >/dev/null
  $SUDO chmod 755 "$ROOT/usr/sbin/policy-rc.d"
fi

[ -f "$ROOT/etc/apt/apt.conf.d/99phonelm-host-dates" ] || apt-config dump | grep -E '^Acquire::Check-(Valid-Until|Date) ' \
  | $SUDO tee "$ROOT/etc/apt/apt.conf.d/99phonelm-host-dates" >/dev/null || true
echo "llamacpp-sid: apt-get install ${PACKAGES[*]} in the chroot"
in_chroot apt-get update -qq
in_chroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
in_chroot apt-get clean
# Every tool the tests call must be there (a renamed binary should fail here, not in a test).
for tool in llama-cli llama-completion llama-server llama-perplexity llama-tokenize llama-quantize llama-bench; do
  [ -x "$ROOT/usr/bin/$tool" ] || { echo "error: llamacpp-sid: $tool missing from llama.cpp-tools" >&2; exit 1; }
done
version="$($SUDO chroot "$ROOT" dpkg-query -W -f='${Version}' llama.cpp-tools)"
echo "llama.cpp-tools $version" | $SUDO tee "$MARKER.tmp" >/dev/null
$SUDO mv "$MARKER.tmp" "$MARKER"
echo "llamacpp-sid: chroot ready at $ROOT (llama.cpp-tools $version) in $(( $(date +%s) - start )) s"
