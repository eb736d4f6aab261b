#!/usr/bin/env bash
# Schema check of packaging/kubernetes/*.yaml, offline once installed: the kubernetes-models
# schemas (npm) validate each object. The checker is first shown to refuse a broken copy (a
# string for hostPID, an unknown mountPropagation), so a pass means something.
# Exit 77 (skipped) when npm or the registry is not there.
#   k8s_schema_check.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1 work=$2
mkdir -p "$work"
if [ ! -d "$work/node_modules/kubernetes-models" ]; then
    command -v npm >/dev/null || { echo "SKIPPED: npm is not installed"; exit 77; }
    (cd "$work" && npm install --silent --no-audit --no-fund --no-save kubernetes-models@4.5.1 js-yaml@4.1.0) ||
        { echo "SKIPPED: kubernetes-models could not be installed from the npm registry"; exit 77; }
fi
check() { NODE_PATH="$work/node_modules" node "$src/tests/packaging/k8s_check.js" "$1"; }
for manifest in "$src"/packaging/kubernetes/*.yaml; do
    broken="$work/broken-$(basename "$manifest")"
    sed 's/hostPID: true/hostPID: "yes"/; s/mountPropagation: Bidirectional/mountPropagation: Sideways/' \
        "$manifest" >"$broken"
    if check "$broken" >"$broken.out"; then
        echo "the checker accepted a broken copy of $manifest:"; cat "$broken.out"; exit 1
    fi
    grep -q "hostPID must be boolean" "$broken.out" || { echo "broken copy refused, but not for hostPID:"; cat "$broken.out"; exit 1; }
    check "$manifest"
done
