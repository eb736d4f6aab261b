#!/usr/bin/env bash
# `stockade check`: the examples in rules/ pass; a broken copy fails with file:line:column.
# Usage: check_test.sh STOCKADE_BINARY RULES_DIR
set -euo pipefail
bin=$1 rules=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" check "$rules" > "$tmp/out" || { cat "$tmp/out"; echo "FAIL: rules/ does not pass check"; exit 1; }
grep -q "0 errors" "$tmp/out" || { cat "$tmp/out"; echo "FAIL: no summary line"; exit 1; }
# Per agent, when a violation is stopped: coder (enforce) stops a connect before it happens.
# (awk, not grep | grep -q: under pipefail the first grep's SIGPIPE would fail the check.)
awk '/^[a-z-]+: a violation is stopped/ { agent = $1 } agent == "coder:" && /connect, sendto: before it happens/ { found = 1 }
     END { exit !found }' "$tmp/out" || { cat "$tmp/out"; echo "FAIL: no stop timing for coder"; exit 1; }

# expect_error WHAT PATTERN: `stockade check` of $tmp exits 1 and prints a line matching PATTERN.
expect_error() {
  set +e
  "$bin" check "$tmp" > "$tmp/out2" 2>&1
  local rc=$?
  set -e
  [ "$rc" -eq 1 ] || { cat "$tmp/out2"; echo "FAIL: $1: exit code $rc, want 1"; exit 1; }
  grep -q "$2" "$tmp/out2" || { cat "$tmp/out2"; echo "FAIL: $1: no line matching $2"; exit 1; }
}

# Break coder.yaml: a misspelt section on a known line.
cp "$rules"/*.yaml "$tmp/"
line=$(grep -n '^files:' "$tmp/coder.yaml" | cut -d: -f1)
sed -i "${line}s/^files:/flies:/" "$tmp/coder.yaml"
expect_error "misspelt section" "coder.yaml:${line}:1: error: unknown key \"flies\""

# Break an HTTP route of researcher.yaml: a lower-case method.
cp "$rules"/*.yaml "$tmp/"
hline=$(grep -n '"GET /v2/search"' "$tmp/researcher.yaml" | cut -d: -f1)
sed -i 's|"GET /v2/search"|"get /v2/search"|' "$tmp/researcher.yaml"
expect_error "bad route" "researcher.yaml:${hline}:[0-9]*: error: tools.http\[0\].allow\[0\]"
# A shape the kernel tables cannot hold (40 separate port ranges on one address) is an error
# here, as it would be at the daemon's load, never entries dropped.
rm -f "$tmp"/*.yaml
{ printf 'agent: wide\nmode: enforce\nmatch: { cgroup: /stockade/wide }\nnetwork:\n  connect:\n'
  for p in $(seq 1 40); do printf '    - { cidr: 10.9.9.9, ports: %d }\n' $((p * 10)); done; } > "$tmp/wide.yaml"
expect_error "kernel table shape" "error: the kernel tables cannot hold this: .*port ranges"
echo "ok: rules/ passes; broken copies fail at coder.yaml:${line}:1 and researcher.yaml:${hline}"
