#!/usr/bin/env bash
# Shipping the journal off the host, end to end, between two network namespaces on this machine:
# "host" runs stockaded (its records mirrored to a journald of the test's own, journal.mirror:
# all) and systemd-journal-upload; "collector" runs systemd-journal-remote. Proves:
#   1. a violation arrives at the collector with its STOCKADE_SEQ and STOCKADE_HASH;
#   2. a collector outage loses nothing: violations made while it is down arrive afterwards
#      (journal-upload resumes from its saved cursor);
#   3. the collected copy is the journal: the STOCKADE_RECORD lines, in seq order, are the journal
#      file byte for byte, and `stockade verify` passes on them (and fails on an edited copy).
# Root only; exits 77 (skipped) with the reason when a tool is missing.
#   ship_test.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:?usage: ship_test.sh BUILD_DIR}" && pwd)
say() { printf '[ship %4ss] %s\n' "$SECONDS" "$*"; }
skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (BPF, network namespaces)"
SD=/lib/systemd
for t in $SD/systemd-journald $SD/systemd-journal-remote $SD/systemd-journal-upload; do
    [ -x "$t" ] || skip "$t is not installed (packages systemd, systemd-journal-remote)"
done
for t in ip unshare journalctl; do command -v $t >/dev/null || skip "$t is not installed"; done

# One BPF test at a time on this machine, whatever build tree it comes from (as the integration tests).
exec 9>/run/lock/stockade-integration.lock
flock 9
T=$(mktemp -d /tmp/stockade-ship.XXXXXX)
made_dirs=""
CG_ROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
HOST_NS=stockade-ship-$$-host COLL_NS=stockade-ship-$$-coll
cleanup() {
    local rc=$?
    # The private mount namespace (journald, stockaded, the collector) died with the inner shell;
    # what it started is killed there. Here: the namespaces and the scratch directory.
    ip netns del "$HOST_NS" 2>/dev/null || true
    ip netns del "$COLL_NS" 2>/dev/null || true
    # The launcher cgroups stockaded made under its cgroup_base, deepest first (empty by now).
    [ -n "$CG_ROOT" ] && [ -d "$CG_ROOT/stockade-ship-$$" ] &&
        find "$CG_ROOT/stockade-ship-$$" -depth -type d -exec rmdir {} + 2>/dev/null || true
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
        for f in "$T"/*.log; do [ -f "$f" ] && { echo "---- $f"; tail -30 "$f"; }; done
    fi
    for d in $made_dirs; do rmdir "$d" 2>/dev/null || true; done  # mount points made for the namespace
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT

# Two namespaces joined by a veth pair: host 10.77.0.1, collector 10.77.0.2.
ip netns add "$HOST_NS"
ip netns add "$COLL_NS"
ip -n "$HOST_NS" link add veth-host type veth peer name veth-coll netns "$COLL_NS"
ip -n "$HOST_NS" addr add 10.77.0.1/30 dev veth-host
ip -n "$COLL_NS" addr add 10.77.0.2/30 dev veth-coll
for ns in "$HOST_NS" "$COLL_NS"; do
    ip -n "$ns" link set lo up
done
ip -n "$HOST_NS" link set veth-host up
ip -n "$COLL_NS" link set veth-coll up

mkdir -p "$T/agents.d" "$T/secret" "$T/collector" "$T/state"
echo TOPSECRET >"$T/secret/key"
cat >"$T/agents.d/shipper.yaml" <<EOF
agent: shipper
mode: enforce
match:
  cgroup: /stockade-ship-unused
files:
  never: ["$T/secret/**"]
exec:
  allow: [/usr/bin/cat]
EOF
cat >"$T/stockade.yaml" <<EOF
agents_dir: $T/agents.d
socket_path: $T/control.sock
cgroup_base: /stockade-ship-$$
bpf_pin_dir: ""
state_dir: $T/state
metrics_dir: ""
summary_interval: 3600
journal:
  path: $T/journal.jsonl
  fsync: never
  group: ""
  mirror: all
EOF

# Mount points for the test's own /run/systemd and /run/log (absent on a host without systemd).
made_dirs=""
for d in /run/systemd /run/log; do [ -d "$d" ] || { mkdir "$d"; made_dirs="$made_dirs $d"; }; done

export T BUILD SD HOST_NS COLL_NS
# Everything else in a mount namespace of its own: the test's journald gets private /run/systemd
# and /run/log (the host's are untouched), and stockaded finds its socket there.
unshare --mount --propagation private -- bash -euo pipefail -c '
say() { printf "[ship %4ss] %s\n" "$SECONDS" "$*"; }
fail() { echo "FAIL: $*"; exit 1; }
pids=()
trap "for p in \${pids[@]+\"\${pids[@]}\"}; do kill \$p 2>/dev/null || true; done; wait 2>/dev/null || true" EXIT
mount -t tmpfs tmpfs /run/systemd
mount -t tmpfs tmpfs /run/log
mkdir -p /run/systemd/journal
$SD/systemd-journald >"$T/journald.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
[ -S /run/systemd/journal/socket ] || fail "journald did not open its socket"

"$BUILD/userspace/stockaded" --config "$T/stockade.yaml" >"$T/stockaded.log" 2>&1 & pids+=($!)
DAEMON=$!
for _ in $(seq 600); do "$BUILD/userspace/stockade" --socket "$T/control.sock" status >/dev/null 2>&1 && break; sleep 0.1; done
"$BUILD/userspace/stockade" --socket "$T/control.sock" status >/dev/null || fail "stockaded did not start"
say "stockaded runs, mirroring every record to the test journald"

collector() {  # $1: output file
    ip netns exec "$COLL_NS" $SD/systemd-journal-remote --listen-http=10.77.0.2:19532 --split-mode=none \
        --output="$1" >>"$T/collector.log" 2>&1 &
    COLLECTOR=$!; pids+=($COLLECTOR)
    for _ in $(seq 100); do ip netns exec "$COLL_NS" ss -ltn | grep -q 10.77.0.2:19532 && return; sleep 0.1; done
    fail "systemd-journal-remote did not listen"
}
upload() {
    ip netns exec "$HOST_NS" $SD/systemd-journal-upload --directory=/run/log/journal --follow=no \
        --url=http://10.77.0.2:19532 --save-state="$T/upload.state" >>"$T/upload.log" 2>&1
}
violation() {  # $1: a name for it; the cat is killed at its open
    "$BUILD/userspace/stockade" --socket "$T/control.sock" run --no-landlock --agent shipper -- \
        /usr/bin/cat "$T/secret/key" >"$T/run-$1.out" 2>&1 || true
    grep -q TOPSECRET "$T/run-$1.out" && fail "the secret was read ($1)"
    return 0
}
collected() { journalctl --directory="$T/collector" -o json STOCKADE_AGENT=shipper STOCKADE_ACTION=open STOCKADE_VERDICT=kill 2>/dev/null |
              grep -c STOCKADE_HASH || true; }

collector "$T/collector/first.journal"
violation one
upload || fail "upload to a running collector failed"
n=$(collected); [ "$n" = 1 ] || fail "collector holds $n violation records, not 1"
say "1: the violation arrived at the collector"

kill $COLLECTOR; wait $COLLECTOR 2>/dev/null || true
violation two
violation three
if upload; then fail "upload succeeded with the collector down"; fi
say "2: collector down, two more violations, the upload failed (cursor kept)"
collector "$T/collector/second.journal"
upload || fail "upload after the outage failed"
n=$(collected); [ "$n" = 3 ] || fail "after the outage the collector holds $n violation records, not 3"
say "2: after the outage all three are there"

kill $DAEMON; wait $DAEMON 2>/dev/null || true   # its stop record and chain head, mirrored too
upload || fail "the last upload failed"
journalctl --directory="$T/collector" -o json SYSLOG_IDENTIFIER=stockade >"$T/collected.json"
python3 - "$T/collected.json" "$T/collected.jsonl" <<PY
import json, sys
recs = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    if "STOCKADE_RECORD" in e:
        recs[int(e["STOCKADE_SEQ"])] = e["STOCKADE_RECORD"]
with open(sys.argv[2], "w") as out:
    for seq in sorted(recs):
        out.write(recs[seq] + "\n")
PY
cmp "$T/collected.jsonl" "$T/journal.jsonl" || fail "the collected records are not the journal file"
"$BUILD/userspace/stockade" verify "$T/collected.jsonl" || fail "stockade verify failed on the collected copy"
sed "0,/\"agent\":\"shipper\"/s//\"agent\":\"shipped\"/" "$T/collected.jsonl" >"$T/edited.jsonl"
cmp -s "$T/edited.jsonl" "$T/collected.jsonl" && fail "the edit changed nothing"
if "$BUILD/userspace/stockade" verify "$T/edited.jsonl" >/dev/null 2>&1; then fail "verify passed an edited copy"; fi
say "3: the collected copy is the journal ($(wc -l <"$T/collected.jsonl") records); verify passes, and fails once edited"
'
say "passed"
