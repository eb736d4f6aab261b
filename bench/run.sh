#!/usr/bin/env bash
# Builds and runs stockade's benchmarks; prints one report (Markdown tables) with every figure
# beside the daemon-off baseline and its target. docs/performance.md explains the method.
#
#   bench/run.sh [--quick] [BUILD_DIR] [-- STOCKADE_BENCH_ARGS...]
#
#   --quick     the CI smoke pass: every benchmark, tiny sizes, a few seconds of measuring
#   BUILD_DIR   build tree to use (default: build-bench at the repository root); configured
#               (Ninja, RelWithDebInfo) when it does not exist yet
#   after --    passed to stockade-bench, e.g. `-- syscalls latency`, `-- tls` (the TLS uprobes),
#               `-- --reps 9`, `-- --out FILE`
#
# Needs root (BPF programs, cgroups). Exits non-zero only when a benchmark could not run at all,
# never because a figure missed its target.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-bench"
quick=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=(--quick) ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    -*) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) build="$(realpath -m "$1")" ;;
  esac
  shift
done

if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build" -j "$(nproc)" --target stockade-bench stockaded stockade
exec "$build/bench/stockade-bench" "${quick[@]}" --bin-dir "$build" "${extra[@]}"
