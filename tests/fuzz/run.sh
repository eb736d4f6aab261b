#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time, from seed corpora: the journal target from
# journals the writer makes, the boundary target from rules/.
# usage: tests/fuzz/run.sh BUILD_DIR [SECONDS_PER_TARGET=60]
#   BUILD_DIR: configured with clang and -DSTOCKADE_FUZZ=ON (built here if needed), e.g.
#   CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DSTOCKADE_FUZZ=ON
# Exits non-zero on the first target that finds a crash, a leak, a timeout or out-of-memory;
# the reproducer is left in BUILD_DIR/fuzz/<target>/ (crash-*, timeout-*, oom-*); once fixed,
# add it to tests/fuzz/regressions/<target>/, which every run replays first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:?usage: run.sh BUILD_DIR [SECONDS]}
secs=${2:-60}
mkdir -p "$build"
build=$(cd "$build" && pwd)  # the targets run from their corpus directories

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=${CC:-clang-14} CXX=${CXX:-clang++-14} cmake -S "$src" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTOCKADE_FUZZ=ON >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target fuzz_journal_reader fuzz_boundary_parser fuzz_journal_seeds

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$here/ubsan.supp"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
work="$build/fuzz"
mkdir -p "$work/journal/corpus" "$work/journal/seeds" "$work/boundary/corpus" "$work/boundary/seeds"
"$build/tests/fuzz/fuzz_journal_seeds" "$work/journal/seeds" >/dev/null
cp "$src"/rules/*.yaml "$work/boundary/seeds/"

# Inputs that once crashed a target (tests/fuzz/regressions/<target>/) must pass first.
replay() {
  local name=$1 target=$2
  local inputs=("$here/regressions/$name"/*)
  [ -e "${inputs[0]}" ] || return 0
  "$build/tests/fuzz/$target" "${inputs[@]}" >"$work/$name/replay.log" 2>&1 || {
    echo "fuzz: $target fails on a regression input; see $work/$name/replay.log" >&2
    tail -40 "$work/$name/replay.log" >&2
    exit 1
  }
}
replay journal fuzz_journal_reader
replay boundary fuzz_boundary_parser

# Generous per-input limits: a slow input is a finding too (superlinear parsing), but the
# sanitizers make everything several times slower than a release build.
run() {
  local name=$1 target=$2
  echo "fuzz: $target for ${secs}s"
  (cd "$work/$name" && "$build/tests/fuzz/$target" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
     -max_len=65536 -print_final_stats=1 corpus seeds) >"$work/$name/log" 2>&1 || {
    echo "fuzz: $target FAILED; last lines of $work/$name/log:" >&2
    tail -40 "$work/$name/log" >&2
    exit 1
  }
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$work/$name/log" | sed "s/^/fuzz: $target /"
}
run journal fuzz_journal_reader
run boundary fuzz_boundary_parser
echo "fuzz: no findings"
