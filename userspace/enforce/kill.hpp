// Kills from userspace: one process by pidfd (never a recycled pid), or a whole agent at once
// through its cgroup's cgroup.kill.
#pragma once

#include <cstdint>
#include <string>

namespace stockade::enforce {

struct KillResult {
    bool ok = false;
    std::string error;  // why not, when !ok
};

// Kills the process (pid, start_ns): the pidfd pins the process, and its start time is checked
// through /proc before the signal, so a pid reused by another process is never hit.
KillResult kill_process(uint32_t pid, uint64_t start_ns);

// Releases a process the kernel held (bpf/hold.bpf.h): SIGCONT, checked like kill_process, with
// sigqueue's value = `hold`, the number of the hold judged. The kernel lets only this SIGCONT
// (from the daemon, for the process's last hold) release it.
KillResult continue_process(uint32_t pid, uint64_t start_ns, uint16_t hold);

// Refuses a connect after the fact: the socket `fd` of the (held) process (pid, start_ns), taken
// with pidfd_getfd, is shut down both ways, so the process finds it closed before it sent a byte
// through it. Checked like kill_process.
KillResult shut_down_socket(uint32_t pid, uint64_t start_ns, int fd);

// Kills every process of a cgroup (relative to the v2 root).
KillResult kill_cgroup(const std::string& rel);

}  // namespace stockade::enforce
