#!/usr/bin/env bash
# Builds stockade and runs every test: unit tests (no privileges), integration tests (root,
# real kernel; they skip with the reason otherwise), the benchmark smoke pass and the systemd
# end-to-end test when present. Also a sanitizer (ASan/UBSan) build for the unit tests.
# Usage: scripts/test.sh            (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure

# This one uses Unix Makefiles (CMake's default generator): the build must work with any generator.
cmake -S . -B build-asan -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Debug -DSTOCKADE_SANITIZE=ON
cmake --build build-asan -j "$jobs" --target unit_policy unit_journal unit_core unit_learn
ctest --test-dir build-asan --output-on-failure -L unit

# ---- benchmark smoke pass (owner: bench/; see docs/performance.md) --------------------------
# bench/run.sh --quick runs every benchmark at tiny sizes so that none can rot. A figure that
# misses its target never fails CI; only a benchmark that could not run at all does.
if [ "$(id -u)" -eq 0 ]; then
  bash bench/run.sh --quick build
else
  echo "benchmark smoke pass skipped: it needs root (BPF programs, cgroups)"
fi
# ---- end of benchmark smoke pass --------------------------------------------------------------

# ---- Debian package and systemd end-to-end test (owner: packaging/, tests/e2e/; docs/systemd.md)
# `ctest --test-dir build` above already ran the e2e test (e2e_systemd, label e2e: it boots a
# real systemd in a namespace; without root or systemd it exits 77 = skipped, with the reason).
# The package itself needs no privileges: build it and check it holds the service everywhere.
cmake --build build --target deb
deb=$(ls -t build/stockade_*_amd64.deb | head -1)
dpkg-deb --info "$deb" >/dev/null
contents=$(dpkg-deb --contents "$deb")
grep -q ' \./lib/systemd/system/stockade\.service$' <<<"$contents"
echo "package ok: $deb"
# ---- end of Debian package and systemd end-to-end test ----------------------------------------
