// The daemon's own configuration (/etc/stockade/stockade.yaml). Every key is optional; the
// defaults are what a packaged install wants. docs/operator-guide.md lists them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "journal/writer.hpp"

namespace stockade::daemon {

struct Config {
    std::string agents_dir = "/etc/stockade/agents.d";
    std::string socket_path = "/run/stockade/control.sock";
    std::string socket_group = "stockade";  // members may query; policy changes need root
    std::string cgroup_base = "/stockade";  // where `stockade run` scopes are created
    uint32_t ring_bytes = 8u << 20;
    uint32_t summary_interval_s = 60;  // how often allowed-action summaries are journaled
    bool tls_uprobes = true;               // uprobes on OpenSSL for HTTPS requests of agents
    bool tls_go = true;  // Go crypto/tls uprobes, per agent process (probe/go_tls.hpp)
    std::vector<std::string> tls_libraries;  // files to probe besides the system's libssl.so.3
    std::vector<std::string> service_executors;  // executors besides /usr/lib/systemd/systemd-executor
    std::string metrics_dir = "/var/lib/prometheus/node-exporter";  // textfile collector; "" = off
    // bpffs directory of the pinned maps and links: the kernel keeps enforcing while no daemon
    // runs, and a restarted daemon takes over (probe/pins.hpp). "" = nothing pinned.
    std::string bpf_pin_dir = "/sys/fs/bpf/stockade";
    // What a restarted daemon restores: tasks with their grants, agent kernel ids (scope/saved_state.hpp).
    std::string state_dir = "/var/lib/stockade";
    journal::WriterOptions journal;    // path, rotation, retention, fsync, group, mirror
};

// Reads the file; throws stockade::LocatedError (file:line:col) on a bad key or value.
// A missing file is an error only when `must_exist`.
Config load_config(const std::string& path, bool must_exist);

}  // namespace stockade::daemon
