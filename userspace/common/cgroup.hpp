// cgroup v2 helpers: the unit of agent identity (systemd unit or launcher scope) and of
// whole-agent kill.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace stockade::cgroup {

// The cgroup v2 mount ("" if none); cached after the first call.
const std::string& root();

// Absolute directory of a cgroup given its path relative to the v2 root ("/a/b").
std::string dir_of(const std::string& rel);

// The cgroup id the kernel reports (bpf_get_current_cgroup_id) for a cgroup directory.
// Throws stockade::Error if it does not exist.
uint64_t id_of(const std::string& rel);

// The path relative to the v2 root, as this process's mounts show it, of the cgroup with the
// kernel id `id` ("" if there is none). The kernel names cgroups by their path from the
// hierarchy's root; inside a cgroup namespace that differs from what the mount shows, so the
// cgroup is opened by its id (a kernfs file handle) and its directory read back.
std::string rel_of_id(uint64_t id);

// A process's cgroup v2 path relative to the root, from /proc/PID/cgroup ("" if gone).
std::string of_pid(pid_t pid);

// Creates (mkdir -p) a cgroup; returns its id.
uint64_t create(const std::string& rel);

// Moves a process into a cgroup.
void move(const std::string& rel, pid_t pid);

// Kills every process of the cgroup at once (cgroup.kill, Linux 5.14+). Returns false if
// the cgroup is gone.
bool kill_all(const std::string& rel);

// Removes an empty cgroup, waiting up to timeout_ms for its processes to be reaped.
bool remove(const std::string& rel, int timeout_ms = 2000);

// The systemd unit a cgroup path belongs to ("agent-coder.service"), "" if none.
std::string unit_of(const std::string& rel);

}  // namespace stockade::cgroup
