#!/usr/bin/env bash
# End-to-end test of the stockade Debian package on a real systemd (docs/systemd.md).
#
#   tests/e2e/systemd_e2e.sh BUILD_DIR        (root; ctest -L e2e runs it as e2e_systemd)
#
# Builds the .deb (`cmake --build BUILD_DIR --target deb`), boots systemd in its own pid, mount
# and cgroup namespace (rooted at a cgroup of its own, so a host whose PID 1 is systemd is not
# disturbed) on an overlay of / (recipe: /work/shared/DESIGN.md, "Testing"; pivot_root
# instead of its chroot, see below and docs/systemd.md), installs the
# package there with dpkg, enables the service, loads a boundary, runs an agent unit that
# reads a forbidden file, and checks that the agent was stopped, that the journal and journald
# recorded it, and that stopping the service leaves no BPF program behind.
#
# Exit 0 = pass, 1 = fail, 77 = skipped (the reason is printed). Artifacts (logs, the
# `systemd-analyze security` table) go to BUILD_DIR/e2e-systemd/.
#
# Safety: systemd never boots over the real root (that would empty the real /tmp). Units that
# would act on the shared kernel or devices (sysctl, modules, binfmt, clock, gettys on the
# host console, tmpfiles for /dev, ...) are masked in the overlay before boot. Cleanup runs
# on every exit: SIGKILL to that systemd by pid (its namespace dies with it), then removal of
# its cgroup and everything below it.
set -uo pipefail
export LC_ALL=C

T0=$EPOCHREALTIME
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[e2e %6ss] %s\n' "$(since "$T0")" "$*"; }
skip() {
    echo "SKIP: $*"
    exit 77
}
fail() {
    say "FAIL: $*"
    if [ -n "${SD_PID:-}" ] && kill -0 "$SD_PID" 2>/dev/null; then
        inside systemctl status --no-pager stockade >"$ART/fail-status.txt" 2>&1
        inside journalctl -u stockade --no-pager >"$ART/fail-stockade.journal" 2>&1
        inside stockade tail -n 30 --json >"$ART/fail-journal.jsonl" 2>&1
        echo "---- journalctl -u stockade (last 40 lines; all in $ART/fail-stockade.journal)"
        tail -40 "$ART/fail-stockade.journal"
    fi
    exit 1
}

[ $# -eq 1 ] || {
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
}
B=$(realpath "$1")

# ---- preconditions (skip, never fail, when the machine cannot run this) ----------------------
[ "$(id -u)" -eq 0 ] || skip "needs root (boots systemd in a namespace, loads BPF)"
[ -x /lib/systemd/systemd ] || skip "/lib/systemd/systemd is absent"
for t in unshare nsenter chroot pivot_root mount umount mountpoint bpftool cmake; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done
grep -qw overlay /proc/filesystems || skip "overlayfs is not available in this kernel"
unshare --pid --fork --mount --propagation private true 2>/dev/null || skip "unshare --pid --mount is not permitted here"
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG2" ] || skip "no cgroup v2 hierarchy is mounted"
[ -f "$B/CPackConfig.cmake" ] || skip "$B is not a configured stockade build directory"

ART="$B/e2e-systemd"
rm -rf "$ART"
mkdir -p "$ART"

# ---- build the package -----------------------------------------------------------------------
say "building the .deb (cmake --build $B --target deb)"
cmake --build "$B" --target deb >"$ART/build.log" 2>&1 || {
    tail -30 "$ART/build.log"
    fail "building the .deb failed (log: $ART/build.log)"
}
VERSION=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$B/CPackConfig.cmake")
DEB="$B/stockade_${VERSION}_amd64.deb"
[ -f "$DEB" ] || fail "expected $DEB after cpack"
say "package: $DEB ($(stat -c %s "$DEB") bytes)"

# ---- state to restore / compare --------------------------------------------------------------
SCRATCH=$(mktemp -d /var/tmp/stockade-e2e.XXXXXX)
UNSHARE_PID=""
SD_PID=""
# The booted systemd gets a cgroup of its own, E2E_CG, as the root of its cgroup namespace: it
# makes init.scope, system.slice, ... below it and never touches the host's (whose PID 1 may be
# a systemd too). Only cgroup v2 is mounted inside, as on Debian 12.
E2E_CG="$CG2/stockade-e2e-$$"
top_cgroups() { find "$CG2" -mindepth 1 -maxdepth 1 -type d -printf "%f\n" 2>/dev/null | sort; }
top_cgroups >"$ART/cgroups.before"
# BPF programs named sk_* present before boot (other test runs may own some).
sk_progs() { bpftool prog list 2>/dev/null | awk '/ name sk_/ { sub(":", "", $1); print $1 }' | sort -n; }
sk_progs >"$ART/sk-progs.before"

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    say "cleanup"
    # 1. SIGKILL the systemd we booted, by pid. Every process of its pid namespace dies with it,
    #    and the private mount namespace (overlay, tmpfs) goes away when the last one exits.
    #    Before systemd has started, the same pid (the unshare's child, PID 1 inside) is the
    #    namespace's shell.
    if [ -z "$SD_PID" ] && [ -n "$UNSHARE_PID" ]; then
        SD_PID=$(awk '{ print $1 }' "/proc/$UNSHARE_PID/task/$UNSHARE_PID/children" 2>/dev/null)
    fi
    if [ -n "$SD_PID" ] && kill -0 "$SD_PID" 2>/dev/null; then
        kill -KILL "$SD_PID" 2>/dev/null
    elif [ -n "$UNSHARE_PID" ] && kill -0 "$UNSHARE_PID" 2>/dev/null; then
        kill -KILL "$UNSHARE_PID" 2>/dev/null
    fi
    if [ -n "$UNSHARE_PID" ]; then
        for _ in $(seq 100); do kill -0 "$UNSHARE_PID" 2>/dev/null || break; sleep 0.1; done
        wait "$UNSHARE_PID" 2>/dev/null
    fi
    # 2. E2E_CG and everything systemd made below it, deepest first. A new systemd-named cgroup
    #    at the top of the host's tree would mean the namespace leaked: report it, leave it.
    local left=0
    if [ -d "$E2E_CG" ]; then
        for _ in $(seq 50); do
            find "$E2E_CG" -depth -type d -exec rmdir {} + 2>/dev/null
            [ -d "$E2E_CG" ] || break
            sleep 0.1
        done
        [ -d "$E2E_CG" ] && { echo "  could not remove cgroup $E2E_CG" >&2; left=1; }
    fi
    top_cgroups >"$ART/cgroups.after"
    local leaked
    leaked=$(comm -13 "$ART/cgroups.before" "$ART/cgroups.after" | grep -E '\.(slice|scope|mount|service|socket)$' || true)
    [ -z "$leaked" ] || { echo "  systemd cgroups appeared at the top of the host's tree: $leaked" >&2; left=1; }
    [ "$left" -eq 0 ] || rc=1
    # 3. The scratch directory (its tmpfs was mounted only inside the private namespace).
    if mountpoint -q "$SCRATCH" 2>/dev/null; then umount -R "$SCRATCH" 2>/dev/null || umount -l "$SCRATCH"; fi
    rmdir "$SCRATCH" 2>/dev/null || rm -rf --one-file-system "$SCRATCH"
    say "done (exit $rc)"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- boot systemd in an isolated root ---------------------------------------------------------
# Units masked in the overlay: they would act on what the namespace shares with the host (the
# kernel's sysctls, modules, binfmt table, clock, entropy; the host's /dev through the /dev
# bind; its serial console), or start services that have no business in this test.
MASK="systemd-sysctl.service systemd-modules-load.service kmod-static-nodes.service
systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount
sys-fs-fuse-connections.mount sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount
dev-hugepages.mount systemd-tmpfiles-setup-dev.service systemd-random-seed.service
systemd-timesyncd.service systemd-remount-fs.service systemd-fsck-root.service systemd-firstboot.service
systemd-machine-id-commit.service systemd-hwdb-update.service systemd-repart.service
systemd-pcrphase.service systemd-pcrphase-sysinit.service systemd-journald-audit.socket
systemd-logind.service getty.target getty@.service serial-getty@.service console-getty.service
container-getty@.service getty-static.service systemd-ask-password-wall.path
systemd-ask-password-console.path postgresql.service postgresql@.service e2scrub_reap.service
apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer
man-db.timer systemd-tmpfiles-clean.timer"

# Step 4 of the recipe is `chroot OVERLAY`. The probes resolve paths up to the root of the
# mount namespace, not the chroot, so under chroot every path the daemon sees carries the
# "$SCRATCH/root" prefix and no boundary path matches. pivot_root makes the overlay the
# namespace's root (and detaches the host root from it), as on a real host.
# E2E_ROOT_SWITCH=chroot runs the recipe's chroot literally (the boundary checks then fail).
ROOT_SWITCH=${E2E_ROOT_SWITCH:-pivot_root}
say "booting systemd (unshare --cgroup --pid --fork --mount --propagation private in $E2E_CG; overlay on $SCRATCH; $ROOT_SWITCH)"
mkdir "$E2E_CG" || fail "could not create $E2E_CG"
# The subshell joins E2E_CG first, so the cgroup namespace unshare makes is rooted there.
# shellcheck disable=SC2016 # expanded by the inner shell
(echo "$BASHPID" >"$E2E_CG/cgroup.procs" && exec unshare --cgroup --pid --fork --mount --propagation private -- /bin/sh -c '
    set -e
    S=$1; MASK=$2; SWITCH=$3
    mount -t tmpfs -o mode=0755,size=1g stockade-e2e "$S"
    mkdir "$S/upper" "$S/work" "$S/root"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$S/upper,workdir=$S/work" "$S/root"
    mount -t proc proc "$S/root/proc"
    mount -t sysfs sysfs "$S/root/sys"
    mount -t cgroup2 cgroup2 "$S/root/sys/fs/cgroup"
    mount -t bpf bpf "$S/root/sys/fs/bpf"
    mount --rbind /dev "$S/root/dev"
    mount -t tmpfs -o mode=0755 tmpfs "$S/root/run"
    mount -t tmpfs -o mode=1777 tmpfs "$S/root/tmp"
    for u in $MASK; do ln -sf /dev/null "$S/root/etc/systemd/system/$u"; done
    if [ "$SWITCH" = chroot ]; then
        exec chroot "$S/root" /lib/systemd/systemd --system
    fi
    # pivot_root: make the overlay the root mount of the namespace and detach the host root.
    cd "$S/root"
    mkdir -p .e2e-oldroot
    pivot_root . .e2e-oldroot
    umount -l /.e2e-oldroot
    rmdir /.e2e-oldroot
    exec chroot / /lib/systemd/systemd --system
' stockade-e2e-boot "$SCRATCH" "$MASK" "$ROOT_SWITCH") >"$ART/systemd-console.log" 2>&1 &
UNSHARE_PID=$!

# systemd is the child of the unshare process (PID 1 inside).
for _ in $(seq 100); do
    SD_PID=$(awk '{ print $1 }' "/proc/$UNSHARE_PID/task/$UNSHARE_PID/children" 2>/dev/null)
    [ -n "$SD_PID" ] && [ "$(cat "/proc/$SD_PID/comm" 2>/dev/null)" = systemd ] && break
    kill -0 "$UNSHARE_PID" 2>/dev/null || { cat "$ART/systemd-console.log"; fail "the namespace shell exited before systemd started"; }
    sleep 0.1
done
[ -n "$SD_PID" ] || fail "systemd did not start"
say "systemd is pid $SD_PID on the host"

# Run a command inside: its mount and pid namespace, root and cwd, with a clean environment.
inside() {
    nsenter -t "$SD_PID" -m -p -r -w -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        SYSTEMD_PAGER= SYSTEMD_COLORS=0 TERM=dumb timeout 60 "$@"
}

state=""
for _ in $(seq 180); do
    state=$(inside systemctl is-system-running 2>/dev/null || true)
    case "$state" in running | degraded) break ;; esac
    sleep 0.5
done
case "$state" in
running | degraded) say "systemd reached '$state'" ;;
*) inside systemctl --failed --no-legend >"$ART/failed-units.txt" 2>&1; fail "systemd did not reach running/degraded (last: '$state')" ;;
esac
inside systemctl --failed --no-legend --plain >"$ART/failed-units.txt" 2>&1 || true
[ -s "$ART/failed-units.txt" ] && say "failed units (unrelated to stockade): $(awk '{ print $1 }' "$ART/failed-units.txt" | tr '\n' ' ')"

# ---- install the package ---------------------------------------------------------------------
say "dpkg -i $(basename "$DEB") inside"
inside sh -c 'cat > /var/tmp/stockade.deb' <"$DEB" || fail "copying the .deb in"
inside dpkg -i /var/tmp/stockade.deb >"$ART/dpkg.log" 2>&1 || { cat "$ART/dpkg.log"; fail "dpkg -i failed"; }
for f in /usr/sbin/stockaded /usr/bin/stockade /lib/systemd/system/stockade.service /etc/stockade/stockade.yaml \
    /etc/stockade/agents.d/coder.yaml.example /usr/lib/tmpfiles.d/stockade.conf /usr/lib/sysusers.d/stockade.conf \
    /usr/share/man/man8/stockaded.8.gz /usr/share/man/man1/stockade.1.gz; do
    inside test -e "$f" || fail "the package did not install $f"
done
inside getent group stockade >/dev/null || fail "postinst did not create group stockade"
perm=$(inside stat -c '%a %U:%G' /var/log/stockade /run/stockade | tr '\n' ' ')
[ "$perm" = "750 root:stockade 750 root:stockade " ] || fail "directories: expected 750 root:stockade, got: $perm"
# shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
inside dpkg-query -W -f='${Conffiles}\n' stockade | grep -q /etc/stockade/stockade.yaml || fail "/etc/stockade/stockade.yaml is not a conffile"
say "installed: binaries, unit, config (conffiles), tmpfiles, sysusers, man pages; group stockade; dirs 0750 root:stockade"

# ---- start the service -----------------------------------------------------------------------
say "systemctl enable --now stockade"
inside systemctl enable --now stockade >"$ART/enable.log" 2>&1 || {
    inside journalctl -u stockade --no-pager >"$ART/stockade.journal" 2>&1
    cat "$ART/enable.log" "$ART/stockade.journal"
    fail "systemctl enable --now stockade failed"
}
for _ in $(seq 60); do
    [ "$(inside systemctl is-active stockade 2>/dev/null)" = active ] && break
    sleep 0.5
done
[ "$(inside systemctl is-active stockade 2>/dev/null)" = active ] || fail "stockade did not become active"
inside systemctl is-enabled stockade >/dev/null || fail "stockade is not enabled"
MAINPID=$(inside systemctl show -p MainPID --value stockade)
say "stockade.service active, main pid $MAINPID (inside)"
inside stockade status >"$ART/status-empty.txt" 2>&1 || { cat "$ART/status-empty.txt"; fail "stockade status failed"; }

# The BPF programs a daemon holds: prog_id lines of its fds (read through the namespace's /proc),
# as "id:name" for those named sk_*.
daemon_progs() {
    local pid id name out=""
    pid=$(inside systemctl show -p MainPID --value stockade)
    for id in $(inside sh -c "cat /proc/$pid/fdinfo/* 2>/dev/null" | awk '$1 == "prog_id:" { print $2 }' | sort -nu); do
        name=$(bpftool prog show id "$id" 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "name") print $(i + 1) }')
        case "$name" in sk_*) out="$out $id:$name" ;; esac
    done
    echo "$out"
}
ours=$(daemon_progs)
[ -n "$ours" ] || fail "the daemon holds no sk_* BPF program"
say "the daemon holds BPF programs:$ours"

inside systemd-analyze security --no-pager stockade.service >"$ART/systemd-analyze-security.txt" 2>&1 || true
say "systemd-analyze security: $(tail -1 "$ART/systemd-analyze-security.txt")"

# ---- boundary, reload ------------------------------------------------------------------------
inside sh -c 'mkdir -p /srv/e2e && echo E2E-SECRET-CONTENT > /srv/e2e/secret && chmod 0644 /srv/e2e/secret'
inside sh -c 'cat > /etc/stockade/agents.d/e2e.yaml' <<'EOF'
# e2e: the agent run by tests/e2e/systemd_e2e.sh as agent-e2e.service.
agent: e2e
description: "systemd e2e test agent: may run sh, cat and sleep; may never read /srv/e2e/secret"
mode: enforce
on_violation: kill-agent
match:
  unit: agent-e2e.service
files:
  never:
    - { name: e2e-secret, pattern: /srv/e2e/secret }
exec:
  allow:
    - /usr/bin/dash
    - /usr/bin/cat
    - /usr/bin/sleep
EOF
inside stockade check /etc/stockade/agents.d >"$ART/check.txt" 2>&1 || { cat "$ART/check.txt"; fail "stockade check rejected the e2e boundary"; }
say "systemctl reload stockade"
inside systemctl reload stockade || fail "systemctl reload stockade failed"
sleep 0.3
if [ "$(inside systemctl is-active stockade)" != active ] || [ "$(inside systemctl show -p MainPID --value stockade)" != "$MAINPID" ]; then
    fail "stockaded did not survive the reload (SIGHUP): $(inside systemctl show -p ExecMainCode -p ExecMainStatus -p ActiveState -p Result stockade | tr '\n' ' ')(ExecMainCode=2 is 'killed'; status 1 is SIGHUP)"
fi
inside stockade agents | grep -q '^e2e ' || fail "agent e2e is not in force after reload"

# ---- the agent misbehaves ----------------------------------------------------------------------
# No wait anywhere: the kernel tracks agent-e2e.service's cgroup from the mkdir systemd makes
# for it (docs/systemd.md, "Discovery"), so the unit's program is an agent from its exec. The
# kernel kills `cat` at the open and, with on_violation: kill-agent, dooms the unit's cgroup:
# the shell dies as its wait for `cat` returns, before it can print SHOULD-NOT-PRINT (the
# daemon's cgroup.kill follows for tasks that make no syscall; docs/systemd.md, "kill-agent").
say "systemd-run --unit agent-e2e --wait /bin/sh -c 'cat /srv/e2e/secret; echo SHOULD-NOT-PRINT'"
t_run=$EPOCHREALTIME
inside systemd-run --unit agent-e2e --wait /bin/sh -c 'cat /srv/e2e/secret; echo SHOULD-NOT-PRINT' \
    >"$ART/agent-run.txt" 2>&1
run_rc=$?
say "systemd-run exited $run_rc after $(since "$t_run") s: $(grep -E 'Finished|terminated' "$ART/agent-run.txt" | tr '\n' ' ')"
inside journalctl -u agent-e2e --no-pager -o cat >"$ART/agent-e2e.journal" 2>&1 || true
if grep -q E2E-SECRET-CONTENT "$ART/agent-e2e.journal"; then fail "the agent read the secret"; fi
killed=0
grep -Eq 'status=(9/)?KILL' "$ART/agent-run.txt" && killed=1
printed=0
grep -qx SHOULD-NOT-PRINT "$ART/agent-e2e.journal" && printed=1
[ "$killed" -eq 1 ] || fail "the agent unit did not end by SIGKILL: $(grep -E 'Finished|terminated' "$ART/agent-run.txt" | tr '\n' ' ')"
[ "$printed" -eq 0 ] || fail "the agent kept running after the violation: it printed SHOULD-NOT-PRINT"
say "agent stopped: the unit's main process died of SIGKILL, SHOULD-NOT-PRINT never printed, the secret never read"

# ---- what stockade recorded -------------------------------------------------------------------
inside stockade tail -n 1 --json >"$ART/tail-last.json" 2>&1 || fail "stockade tail failed"
inside stockade tail -n 1 --json --agent e2e --verdict kill >"$ART/tail-violation.json" 2>&1 || fail "stockade tail --agent e2e failed"
rec=$(cat "$ART/tail-violation.json")
echo "$rec" | grep -q '"agent":"e2e"' || fail "no kill record for agent e2e: $rec (last record: $(cat "$ART/tail-last.json"))"
echo "$rec" | grep -q '"path":"/srv/e2e/secret"' || fail "the violation record does not name /srv/e2e/secret: $rec"
echo "$rec" | grep -Eq '"cgroup":"[^"]*agent-e2e\.service' || fail "the violation record's cgroup does not contain agent-e2e.service: $rec"
echo "$rec" | grep -q '"verdict":"kill"' || fail "the violation record's verdict is not kill: $rec"
say "journal: $(echo "$rec" | grep -o '"action":"[^"]*"\|"path":"[^"]*"\|"cgroup":"[^"]*"\|"verdict":"[^"]*"\|"rule":"[^"]*"\|"enforcement":"[^"]*"' | tr '\n' ' ')"
if ! grep -q '"agent":"e2e"' "$ART/tail-last.json"; then
    say "note: the newest record is not the violation (it is: $(cut -c1-200 "$ART/tail-last.json"))"
fi
inside journalctl -u stockade --no-pager >"$ART/stockade.journal" 2>&1
grep -q '/srv/e2e/secret' "$ART/stockade.journal" || fail "journalctl -u stockade does not show the violation"
say "journalctl -u stockade: $(grep -m1 '/srv/e2e/secret' "$ART/stockade.journal" | cut -c1-220)"
inside stockade verify >"$ART/verify.txt" 2>&1 || { cat "$ART/verify.txt"; fail "stockade verify failed"; }
inside stockade status >"$ART/status.txt" 2>&1 || fail "stockade status failed"

# ---- pinned: a killed daemon leaves the kernel enforcing, and its successor takes over ---------
inside journalctl -u stockade --no-pager >"$ART/stockade.journal" 2>&1
if grep -q 'running unpinned' "$ART/stockade.journal"; then
    fail "the daemon runs unpinned under the unit: $(grep -m1 'running unpinned' "$ART/stockade.journal" | cut -c1-300)"
fi
pins=$(inside sh -c 'ls /sys/fs/bpf/stockade/*/ 2>/dev/null | wc -l')
[ "${pins:-0}" -gt 0 ] || fail "nothing is pinned under /sys/fs/bpf/stockade inside the unit's view"
# An agent is running (tracked: the syscall hook and the TLS probes are attached for it) when the
# daemon is killed; it reads the secret 3 s later, after the restart (100 ms), under the tables
# the kernel kept and the daemon took over.
inside systemctl reset-failed agent-e2e >/dev/null 2>&1 || true
inside systemd-run --unit agent-e2e --wait /bin/sh -c 'sleep 3; cat /srv/e2e/secret; echo SHOULD-NOT-PRINT' \
    >"$ART/agent-run-2.txt" 2>&1 &
agent2=$!
for _ in $(seq 50); do
    [ "$(inside systemctl is-active agent-e2e 2>/dev/null)" = active ] && break
    sleep 0.1
done
sleep 0.5 # the daemon has registered the unit's cgroup (its mkdir record) by now
# The daemon's programs that are attached (a link holds them); the skeleton also loads programs
# it does not attach (the TLS entries a library's plan does not use), and those go with it.
linked=" $(bpftool link list 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "prog") print $(i + 1) }' | tr '\n' ' ')"
held=""
for p in $(daemon_progs); do case "$linked" in *" ${p%%:*} "*) held="$held $p" ;; esac; done
[ -n "$held" ] || fail "bpftool link list shows none of the daemon's programs attached"
say "pinned: $pins objects under /sys/fs/bpf/stockade; an agent is running; systemctl kill -s SIGKILL stockade (it holds:$held)"
inside systemctl kill -s SIGKILL --kill-who=main stockade || fail "systemctl kill failed"
newpid=""
for _ in $(seq 100); do
    newpid=$(inside systemctl show -p MainPID --value stockade)
    [ "$(inside systemctl is-active stockade 2>/dev/null)" = active ] && [ -n "$newpid" ] && [ "$newpid" != 0 ] &&
        [ "$newpid" != "$MAINPID" ] && break
    sleep 0.1
done
[ "$newpid" != "$MAINPID" ] || fail "stockade was not restarted after SIGKILL"
MAINPID=$newpid
# The killed daemon's attached programs are still loaded (the pins hold them): no moment without them.
gone=""
for p in $held; do bpftool prog show id "${p%%:*}" >/dev/null 2>&1 || gone="$gone $p"; done
[ -z "$gone" ] || fail "programs of the killed daemon were unloaded (not pinned):$gone"
inside journalctl -u stockade --no-pager >"$ART/stockade.journal" 2>&1
grep -q 'links kept attached' "$ART/stockade.journal" || fail "the restarted daemon did not take over the pinned links"
say "restarted as pid $MAINPID (inside); every program of the killed daemon stayed loaded; $(grep -o '[0-9]* links kept attached' "$ART/stockade.journal" | tail -1)"
wait "$agent2"
inside journalctl -u agent-e2e --no-pager -o cat >"$ART/agent-e2e-2.journal" 2>&1 || true
grep -Eq 'status=(9/)?KILL' "$ART/agent-run-2.txt" || fail "the agent running across the restart was not killed: $(tr '\n' ' ' <"$ART/agent-run-2.txt")"
if grep -q E2E-SECRET-CONTENT "$ART/agent-e2e-2.journal"; then fail "the agent running across the restart read the secret"; fi
if grep -qx SHOULD-NOT-PRINT "$ART/agent-e2e-2.journal"; then fail "the agent running across the restart kept running after the violation"; fi
rec2=$(inside stockade tail -n 1 --json --agent e2e --verdict kill)
echo "$rec2" | grep -q '"path":"/srv/e2e/secret"' || fail "no kill record for the secret after the restart: $rec2"
echo "$rec2" | grep -q '"rule":"e2e.yaml:e2e-secret"' || fail "the record after the restart does not name the rule: $rec2"
[ "$rec2" != "$rec" ] || fail "the newest kill record is still the one from before the restart"
say "the agent that ran across the restart was killed at the secret; nothing read, SHOULD-NOT-PRINT never printed; journaled under its rule"

# ---- shipping: the violation travels with systemd's own tools, fields intact -------------------
# The daemon's journald mirror carries STOCKADE_* fields; systemd-journal-remote (the receiving
# end of systemd-journal-upload) takes the export stream and writes a journal file that any
# journalctl reads with --directory.
if inside test -x /lib/systemd/systemd-journal-remote; then
    inside sh -c 'mkdir -p /var/tmp/shipped && journalctl -u stockade -o export STOCKADE_AGENT=e2e |
        /lib/systemd/systemd-journal-remote --output=/var/tmp/shipped/remote.journal -' \
        >"$ART/journal-remote.txt" 2>&1 || fail "systemd-journal-remote could not import the export stream"
    inside journalctl --directory=/var/tmp/shipped -o json STOCKADE_AGENT=e2e >"$ART/shipped.json" 2>&1 || true
    grep -q '"STOCKADE_RULE"' "$ART/shipped.json" && grep -q '/srv/e2e/secret' "$ART/shipped.json" ||
        fail "the shipped journal does not hold the violation with its STOCKADE_* fields"
    say "shipped: $(grep -o '"STOCKADE_[A-Z]*":"[^"]*"' "$ART/shipped.json" | head -6 | tr '\n' ' ')"
else
    say "note: systemd-journal-remote is not installed; shipping not checked"
fi

# ---- stop: no BPF program of ours may remain ---------------------------------------------------
ours=$(daemon_progs) # again: the syscall hook is attached only while an agent is tracked
echo "$ours" >"$ART/daemon-progs-before-stop.txt"
say "systemctl stop stockade (the daemon holds:$ours)"
inside systemctl stop stockade || fail "systemctl stop stockade failed"
[ "$(inside systemctl is-active stockade)" != active ] || fail "stockade is still active"
# The daemon's programs must go, and no new sk_* program may be left that no process holds
# (a leaked attachment). Others' sk_* programs (a concurrent test run) are held by their
# processes and left alone. The kernel frees a detached tracing program after an RCU grace
# period, hence the polling.
orphans() {
    local id
    for id in $(comm -13 "$ART/sk-progs.before" <(sk_progs)); do
        grep -qsE "^prog_id:[[:space:]]+$id\$" /proc/[0-9]*/fdinfo/* 2>/dev/null || echo "$id"
    done
}
remaining="" leaked=""
for _ in $(seq 100); do
    remaining=""
    for p in $ours; do bpftool prog show id "${p%%:*}" >/dev/null 2>&1 && remaining="$remaining $p"; done
    leaked=$(orphans | tr '\n' ' ')
    [ -z "$remaining" ] && [ -z "${leaked// /}" ] && break
    sleep 0.1
done
bpftool prog list >"$ART/bpftool-after-stop.txt" 2>&1
[ -z "$remaining" ] || fail "BPF programs of the stopped daemon are still loaded:$remaining"
[ -z "${leaked// /}" ] || fail "sk_* BPF programs held by no process after stop (leaked attachments): $leaked"
others=$(comm -13 "$ART/sk-progs.before" <(sk_progs) | wc -l)
say "no BPF program of stockade remains ($others sk_* program(s) of other live processes left alone)"
inside stockade verify >>"$ART/verify.txt" 2>&1 || fail "stockade verify failed after stop"
inside stockade tail -n 1 --json | grep -q '"detail":"stopped' || say "note: the last record is not the daemon's \"stopped\""
left=$(inside sh -c 'ls /sys/fs/bpf/stockade 2>/dev/null | wc -l')
[ "${left:-0}" -eq 0 ] || fail "systemctl stop left pins under /sys/fs/bpf/stockade (ExecStopPost --unpin)"
say "systemctl stop removed the pins (ExecStopPost: stockaded --unpin)"

say "PASS"
exit 0
