#!/usr/bin/env bash
# Builds stockade and runs every test: unit tests (no privileges), integration tests (root,
# real kernel; they skip with the reason otherwise), the systemd end-to-end test, the benchmark
# smoke pass, and the unit tests again in a sanitizer (ASan/UBSan) build made with CMake's
# default generator (Unix Makefiles), so that both generators stay working.
# Usage: bash scripts/test.sh            (from the repository root)
# Ends with every skipped test and its reason, and one closing line with the counts.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
skips=$(mktemp)
trap 'rm -f "$skips"' EXIT

# Skip reasons a run printed ("SKIP: ..." from a test binary, a Catch WARN or a script).
collect_skips() { # LastTest.log of a ctest run
  grep -h -E '^\s*SKIP(PED)?[: ]' "$1" 2>/dev/null | sed -E 's/^\s+//' >>"$skips" || true
}

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure
collect_skips build/Testing/Temporary/LastTest.log

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSTOCKADE_SANITIZE=ON
# The unit test binaries (unit_*); other unit-labelled entries, such as bpf_headers_stand_alone,
# are checks run by ctest, not build targets.
unit_targets=$(ctest --test-dir build -L unit -N | sed -n 's/^ *Test *#[0-9]*: \(unit_[a-z_]*\)$/\1/p')
# shellcheck disable=SC2086 # one word per target
cmake --build build-asan -j "$jobs" --target $unit_targets
ctest --test-dir build-asan --output-on-failure -L unit

# Fuzzing (clang, libFuzzer): the journal reader and the boundary parser, a bounded time each,
# after replaying every saved crash input (tests/fuzz/README or the script's header).
bash tests/fuzz/run.sh build-fuzz 45

# ---- benchmark smoke pass (owner: bench/; see docs/performance.md) --------------------------
# bench/run.sh --quick runs every benchmark at tiny sizes so that none can rot. A figure that
# misses its target never fails CI; only a benchmark that could not run at all does.
if [ "$(id -u)" -eq 0 ]; then
  bash bench/run.sh --quick build
else
  echo "SKIP: benchmark smoke pass: it needs root (BPF programs, cgroups)" | tee -a "$skips"
fi
# ---- end of benchmark smoke pass --------------------------------------------------------------

# ---- Debian package (owner: packaging/; docs/systemd.md) -------------------------------------
# `ctest --test-dir build` above already ran the systemd end-to-end test (e2e_systemd, which
# builds and installs this package). Here: the package holds the service wherever it is built.
cmake --build build --target deb
deb=$(ls -t build/stockade_*_amd64.deb | head -1)
dpkg-deb --info "$deb" >/dev/null
contents=$(dpkg-deb --contents "$deb")
grep -q ' \./lib/systemd/system/stockade\.service$' <<<"$contents"
echo "package ok: $deb"
# ---- end of Debian package --------------------------------------------------------------------

nskip=$(sort -u "$skips" | grep -c . || true)
echo
echo "==== skipped: $nskip"
sort -u "$skips" | sed 's/^/  /'
echo "==== all tests passed: $(ctest --test-dir build -N | sed -n 's/^Total Tests: //p') ctest entries, ASan unit pass, fuzzing, bench smoke, package; $nskip skipped"
