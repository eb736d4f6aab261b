#!/usr/bin/env bash
# Installs every build and test dependency of stockade from Debian 12's archive.
# Used by the README and by .ci/run, so both see the same toolchain.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  build-essential cmake ninja-build pkg-config git ca-certificates \
  clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev \
  libcereal-dev libspdlog-dev libfmt-dev catch2 \
  libyaml-cpp-dev libcli11-dev libsystemd-dev libssl-dev nlohmann-json3-dev \
  iproute2 procps util-linux python3 curl openssl prometheus prometheus-node-exporter \
  systemd systemd-journal-remote
