# Shared by the setup scripts that use the Debian sid chroot (30-llamacpp-sid.sh builds it,
# 55-jni.sh adds the JNI toolchain): where it lives, and how to run a command in it. Sourced, not run.
# the same cache root as phonelm_export.backends.gguf.native.cache_root()
CACHE="${PHONELM_EXPORT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/phonelm-export}"
ROOT="$CACHE/sid-chroot"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# Runs a command in the chroot inside a private mount namespace: /proc (package scripts run
# programs such as java), /dev/pts (apt's log) and resolv.conf are mounted there only, and vanish
# with the namespace (nothing stays mounted on the host whatever happens).
in_chroot() {
  $SUDO unshare --mount --propagation private -- sh -c '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount -t devpts -o newinstance devpts "$root/dev/pts" 2>/dev/null || true
    mount --bind /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    exec chroot "$root" "$@"' sh "$ROOT" "$@"
}
