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

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSTOCKADE_SANITIZE=ON
cmake --build build-asan -j "$jobs" --target unit_policy unit_journal unit_core
ctest --test-dir build-asan --output-on-failure -L unit
