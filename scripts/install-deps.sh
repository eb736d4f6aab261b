#!/usr/bin/env bash
# Installs every build and test dependency of stockade from Debian 12's archive, and starts
# nothing: packages that ship a service (prometheus, its node exporter, dbus) are installed for
# their binaries only, so no port opens on the machine. Used by the README and by .ci/run
# (inside a fresh Debian 12 root), so both see the same toolchain.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# Debian's maintainer scripts ask invoke-rc.d before starting a service; exit code 101 from
# policy-rc.d means "not now". Installed only for this run, and only if none is there already.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# stockade install-deps.sh: start no service while installing\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi

apt-get update
# build: compilers (clang also for BPF and the libFuzzer targets), CMake (Ninja and make), BPF toolchain, libraries
# tests: file (CPack's package step), dbus and systemd (the systemd end-to-end test's bus),
#   nodejs and npm (HTTPS from Node; MCP hosts, and the reference servers the tests install from the
#   npm registry),
#   golang-go (a Go binary's start-up under a boundary), python3/curl/openssl (test clients and
#   servers), prometheus and
#   the node exporter (metrics format checks), iproute2/procps/util-linux (namespaces, ps),
#   podman and runc (agents in containers: tests/integration/test_containers.cpp; runc because
#   crun 1.8 refuses hybrid cgroup layouts)
apt-get install -y --no-install-recommends \
  build-essential cmake ninja-build make pkg-config git ca-certificates file \
  clang llvm libclang-rt-14-dev bpftool libbpf-dev libelf-dev zlib1g-dev \
  libcereal-dev libspdlog-dev libfmt-dev catch2 \
  libyaml-cpp-dev libcli11-dev libsystemd-dev libssl-dev nlohmann-json3-dev \
  iproute2 procps util-linux python3 curl openssl nodejs golang-go \
  prometheus prometheus-node-exporter \
  systemd dbus systemd-journal-remote podman runc
# npm: Debian's package, unless the nodejs installed already carries its own (NodeSource's
# nodejs provides npm and conflicts with Debian's).
command -v npm >/dev/null || apt-get install -y --no-install-recommends npm
