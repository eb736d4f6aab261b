#!/usr/bin/env bash
# Runs a command from the README inside a minimal Debian 12 root built from Debian's archive,
# so that a missing install step fails here as it would on a user's fresh machine.
#
#   .ci/fresh-root.sh 'bash scripts/install-deps.sh && bash scripts/test.sh'
#
# What the root looks like (the closest a namespace gets to a freshly installed host):
# - mmdebstrap --variant=minbase plus git and ca-certificates: nothing of this machine's
#   toolchain, libraries or hand-installed tools is visible;
# - its own mount namespace, entered with pivot_root (paths resolve as on a real host, not
#   through a chroot); the host's kernel, pids, network and devices. Not a pid namespace: the
#   daemon's userspace kills and its attribution use the pids BPF reports, which are the initial
#   namespace's (a daemon in a nested pid namespace kills the wrong pids or none: seen here);
# - the host's resolv.conf, hosts and local certificate authorities (the site's network);
# - a fresh sysfs, with cgroup v2 alone at /sys/fs/cgroup (what Debian 12 boots), bpffs at
#   /sys/fs/bpf, fresh /proc, /run and /tmp.
# The clone's working tree (tracked and untracked, not ignored files) is copied to /src in the
# root and the command runs there, as root. Nothing is cached between runs.
#
# Environment: STOCKADE_CI_ROOT_DIR (default /var/tmp) holds the root while it runs;
# STOCKADE_CI_KEEP=1 keeps it afterwards (for a look inside); STOCKADE_CI_MIRROR overrides the
# Debian mirror (default: deb.debian.org).
set -euo pipefail
export LC_ALL=C
[ $# -eq 1 ] || { echo "usage: $0 'COMMAND'" >&2; exit 2; }
CMD=$1
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "fresh-root: needs root (mmdebstrap, namespaces, BPF)" >&2; exit 1; }

T0=$SECONDS
say() { printf '[fresh-root %4ss] %s\n' "$((SECONDS - T0))" "$*"; }

WORK=$(mktemp -d "${STOCKADE_CI_ROOT_DIR:-/var/tmp}/stockade-ci.XXXXXX")
ROOT=$WORK/root
cleanup() {
    local rc=$?
    # The namespace's mounts died with it; the root is plain files now. Refuse to delete
    # anything still mounted below it (a bug in this script must not reach the host's files).
    if grep -q " $WORK/" /proc/self/mounts; then
        echo "fresh-root: mounts remain under $WORK; not deleting it" >&2
    elif [ "${STOCKADE_CI_KEEP:-0}" = 1 ]; then
        echo "fresh-root: kept $ROOT"
    else
        rm -rf --one-file-system "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT

# mmdebstrap is one Perl script (its dependencies, apt and perl, are on every Debian host). It is
# downloaded and unpacked into the work directory, not installed: CI changes nothing on the host.
say "fetching mmdebstrap into $WORK/tools"
mkdir "$WORK/tools"
# (apt warns that its _apt user cannot reach the private work directory; the log says so.)
(cd "$WORK/tools" && apt-get download -q=2 mmdebstrap && dpkg-deb -x mmdebstrap_*.deb .) \
    >"$WORK/tools/download.log" 2>&1 || {
    cat "$WORK/tools/download.log" >&2
    echo "fresh-root: could not download mmdebstrap with apt-get download (are the host's apt lists current? apt-get update)" >&2
    exit 1
}
mmdebstrap() { perl "$WORK/tools/usr/bin/mmdebstrap" "$@"; }

MIRROR=${STOCKADE_CI_MIRROR:-http://deb.debian.org}
say "building a minimal Debian 12 root in $ROOT"
mmdebstrap --quiet --variant=minbase --include=git,ca-certificates bookworm "$ROOT" \
    "deb $MIRROR/debian bookworm main" \
    "deb $MIRROR/debian bookworm-updates main" \
    "deb $MIRROR/debian-security bookworm-security main"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
cp /etc/hosts "$ROOT/etc/hosts"
# The host's local certificate authorities (/usr/local/share/ca-certificates) belong to the site's
# network, like resolv.conf: a network that intercepts HTTPS (an egress proxy) is trusted only
# through them, and without them every HTTPS download in the root fails (npm's registry: the
# Node MCP tests then skip). Debian's own CA set is the root's, installed by mmdebstrap.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
    chroot "$ROOT" update-ca-certificates >"$WORK/tools/ca.log" 2>&1 || { cat "$WORK/tools/ca.log" >&2; exit 1; }
fi

say "copying the clone's working tree to /src"
mkdir "$ROOT/src"
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - ) |
    tar -C "$ROOT/src" -xf -
cp -a "$SRC/.git" "$ROOT/src/.git"

say "entering it: $CMD"
set +e
unshare --mount --propagation private -- /bin/bash -euo pipefail -c '
    R=$1 CMD=$2
    mount --bind "$R" "$R"
    mount -t proc proc "$R/proc"
    mount -t sysfs sysfs "$R/sys"
    mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
    mount -t bpf bpf "$R/sys/fs/bpf"
    mount --rbind /dev "$R/dev"
    mount -t tmpfs -o mode=0755 tmpfs "$R/run"
    mkdir -p "$R/run/lock"
    mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
    cd "$R"
    mkdir .old-root
    pivot_root . .old-root
    umount -l /.old-root
    rmdir /.old-root
    cd /src
    exec env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -c "$CMD"
' fresh-root "$ROOT" "$CMD"
rc=$?
set -e
say "finished with exit code $rc"
exit "$rc"
