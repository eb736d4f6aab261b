#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (as root), builds stockade, and runs the daemon in the
# foreground with the example boundaries in rules/. Ctrl-C stops it and detaches every probe.
# The journal goes to /var/tmp/stockade/journal.jsonl; follow it from another terminal with
#   build/userspace/stockade --journal /var/tmp/stockade/journal.jsonl tail -f
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Members of group stockade may query the daemon (socket_group); the package's sysusers.d
# creates it on an install, this does on a build run from the clone.
getent group stockade >/dev/null || groupadd --system stockade
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)"
build/userspace/stockade check rules/
# A try-out runs unpinned: its programs go with it on Ctrl-C. The installed service pins them, so
# that the kernel keeps enforcing across restarts (docs/architecture.md, "Restarts").
mkdir -p /var/tmp/stockade
printf 'bpf_pin_dir: ""\nstate_dir: /var/tmp/stockade/state\n' > /var/tmp/stockade/run.yaml
exec build/userspace/stockaded --config /var/tmp/stockade/run.yaml --agents-dir rules/ \
  --journal /var/tmp/stockade/journal.jsonl --socket /run/stockade/control.sock "$@"
