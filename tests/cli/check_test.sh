#!/usr/bin/env bash
# `stockade check`: the examples in rules/ pass; a broken copy fails with file:line:column.
# Usage: check_test.sh STOCKADE_BINARY RULES_DIR
set -euo pipefail
bin=$1 rules=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" check "$rules" > "$tmp/out" || { cat "$tmp/out"; echo "FAIL: rules/ does not pass check"; exit 1; }
grep -q "0 errors" "$tmp/out" || { cat "$tmp/out"; echo "FAIL: no summary line"; exit 1; }

cp "$rules"/*.yaml "$tmp/"
# Break coder.yaml: a misspelt section on a known line.
line=$(grep -n '^files:' "$tmp/coder.yaml" | cut -d: -f1)
sed -i "${line}s/^files:/flies:/" "$tmp/coder.yaml"
set +e
"$bin" check "$tmp" > "$tmp/out2" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$tmp/out2"; echo "FAIL: exit code $rc, want 1"; exit 1; }
grep -q "coder.yaml:${line}:1: error: unknown key \"flies\"" "$tmp/out2" ||
  { cat "$tmp/out2"; echo "FAIL: error does not name coder.yaml:${line}:1"; exit 1; }

# Break an HTTP route of researcher.yaml: a lower-case method.
cp "$rules"/*.yaml "$tmp/"
hline=$(grep -n '"GET /v2/search"' "$tmp/researcher.yaml" | cut -d: -f1)
sed -i 's|"GET /v2/search"|"get /v2/search"|' "$tmp/researcher.yaml"
set +e
"$bin" check "$tmp" > "$tmp/out3" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$tmp/out3"; echo "FAIL: bad route: exit code $rc, want 1"; exit 1; }
grep -q "researcher.yaml:${hline}:[0-9]*: error: tools.http\[0\].allow\[0\]" "$tmp/out3" ||
  { cat "$tmp/out3"; echo "FAIL: bad route not reported at researcher.yaml:${hline}"; exit 1; }
echo "ok: rules/ passes; broken copies fail at coder.yaml:${line}:1 and researcher.yaml:${hline}"
