#!/usr/bin/env bash
# The README's first command and its "Try it" section, as a newcomer types them (as root, from the
# clone's root): `bash scripts/run.sh` in one terminal, then each command of the "Try it" code
# blocks in order, `tail -f` in a terminal of its own. The commands are read from README.md, so
# the README cannot drift from what works. Fails when:
# - run.sh logs a warning or an error on this first run (other than the violation it provokes);
# - a command fails, or the shadow read is not killed before it prints anything;
# - `tail -f` does not show the kill, or `verify` does not pass;
# - Ctrl-C does not stop the daemon cleanly.
# .ci/run runs it in the fresh root after the test command (the build is reused).
set -euo pipefail
cd "$(dirname "$0")/.."
LOG=$(mktemp -d /var/tmp/stockade-try-it.XXXXXX)
SOCK=/run/stockade/control.sock
say() { printf '[try-it] %s\n' "$*"; }
fail() { printf '[try-it] FAIL: %s\n' "$*" >&2; exit 1; }

daemon=
tailer=
cleanup() {
    local rc=$?
    [ -n "$tailer" ] && kill "$tailer" 2>/dev/null
    if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
        # Ctrl-C reaches the terminal's whole foreground group: the build too, if it still runs.
        kill -INT -- "-$daemon" 2>/dev/null
        sleep 5
        kill -KILL -- "-$daemon" 2>/dev/null
        wait "$daemon" 2>/dev/null || true
    fi
    [ $rc -eq 0 ] || { say "logs kept in $LOG"; tail -n 30 "$LOG/run.log" >&2 || true; }
    exit $rc
}
trap cleanup EXIT

# The commands of every ```sh block between "## Try it" and the next "## " heading.
mapfile -t commands < <(awk '
    /^## / { in_section = ($0 == "## Try it") }
    in_section && /^```sh$/ { in_block = 1; next }
    in_block && /^```$/ { in_block = 0; next }
    in_section && in_block && NF { print }' README.md)
[ ${#commands[@]} -ge 4 ] || fail "README.md: found ${#commands[@]} commands under '## Try it'"

say "bash scripts/run.sh (first terminal)"
# In a process group of its own, as in a terminal: Ctrl-C is a SIGINT to that group.
setsid bash scripts/run.sh >"$LOG/run.log" 2>&1 &
daemon=$!
for _ in $(seq 1800); do
    [ -S "$SOCK" ] && break
    kill -0 "$daemon" 2>/dev/null || fail "scripts/run.sh exited before the daemon listened on $SOCK"
    sleep 1
done
[ -S "$SOCK" ] || fail "no control socket at $SOCK after 30 minutes"

shadow_seen=0
for c in "${commands[@]}"; do
    if [[ $c == *"tail -f"* ]]; then
        say "$c   (its own terminal)"
        bash -c "$c" >"$LOG/tail.out" 2>&1 &
        tailer=$!
        continue
    fi
    say "$c"
    set +e
    bash -c "$c" >"$LOG/out" 2>"$LOG/err"
    rc=$?
    set -e
    if [[ $c == *"/etc/shadow"* ]]; then
        shadow_seen=1
        [ $rc -ne 0 ] || fail "the shadow read exited 0; it should have been killed"
        [ ! -s "$LOG/out" ] || fail "the shadow read printed $(wc -c <"$LOG/out") bytes before it was stopped"
        grep -q "was stopped" "$LOG/err" || { cat "$LOG/err" >&2; fail "stockade run did not say why it was stopped"; }
        say "  killed (exit $rc), nothing printed; stderr: $(head -1 "$LOG/err")"
    else
        [ $rc -eq 0 ] || { cat "$LOG/out" "$LOG/err" >&2; fail "exit $rc: $c"; }
    fi
    [[ $c != *" verify"* ]] || grep -qi "^ok" "$LOG/out" || fail "verify did not say ok: $(cat "$LOG/out")"
done
[ $shadow_seen -eq 1 ] || fail "the README's Try it no longer reads /etc/shadow; update this script"
[ -n "$tailer" ] || fail "the README's Try it no longer follows the journal with tail -f"

sleep 1
grep -q "/etc/shadow" "$LOG/tail.out" || { cat "$LOG/tail.out" >&2; fail "tail -f did not show the shadow read"; }
say "tail -f showed the stopped read"

# The BPF programs the daemon holds, by their descriptors (fdinfo of a program or link: prog_id).
progs=$(cat /proc/"$daemon"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" {print $2}' | sort -u)
[ -n "$progs" ] || fail "stockaded (pid $daemon) holds no BPF program descriptor"
kill -INT -- "-$daemon"
rc=0
wait "$daemon" || rc=$?
daemon=
[ $rc -eq 0 ] || fail "stockaded exited $rc on Ctrl-C"
# Ctrl-C detaches every probe (run.sh runs unpinned): none of the daemon's programs outlives it.
# (the kernel frees a released program a moment later, not at once: allow it 10 s)
for id in $progs; do
    for _ in $(seq 100); do bpftool prog show id "$id" >/dev/null 2>&1 || break; sleep 0.1; done
    ! bpftool prog show id "$id" >/dev/null 2>&1 || fail "BPF program $id of the daemon is still loaded 10 s after Ctrl-C"
done
say "Ctrl-C: exit 0, its $(echo $progs | wc -w) BPF programs are gone"
# (a violation the Try it provokes is logged as a warning naming its agent: that one is expected;
# so is a public model API host in rules/claude-code.yaml or codex.yaml that does not resolve on a
# machine without DNS for public names, as CI's: the daemon says so and keeps running)
if grep -nE '^[0-9-]{10}T[0-9:.]+ (warning|error|critical): ' "$LOG/run.log" | grep -v ': agent=[a-z0-9._-]* task=' |
    grep -vE 'warning: host rule api\.(anthropic|openai)\.com: does not resolve'; then
    fail "the first run logged the warnings or errors above"
fi
say "passed: run.sh started without a warning, every Try it command worked, Ctrl-C stopped it"
rm -rf "$LOG"
