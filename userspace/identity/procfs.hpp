// Processes that already run when the daemon starts (or when an agent's cgroup is first
// seen) are adopted from /proc, so a restart of the daemon does not blind it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "identity/process_table.hpp"

namespace stockade::identity {

// Reads one process from /proc; nullopt if it is gone.
std::optional<Process> read_proc(pid_t pid);

// Start time (ns since boot, tick resolution) of a live process.
std::optional<uint64_t> read_proc_start(uint32_t pid);

// Every process in a cgroup (relative to the v2 root), read from cgroup.procs and /proc.
std::vector<Process> read_cgroup_procs(const std::string& cgroup_rel);

// The cgroups (relative to `root`, the cgroup2 mount) that are a container's own, not one below
// a container's. Containers live up to five levels down (kubepods.slice/kubepods-burstable.slice/
// kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope).
std::vector<std::string> container_cgroups(const std::string& root);

// The container runtime's own init (runc's "runc init", crun), which sets the container up
// before it execs the container's program: not the agent's code, never adopted.
bool is_runtime_init(const Process& p);

}  // namespace stockade::identity
