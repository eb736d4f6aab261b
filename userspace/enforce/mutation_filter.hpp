// Mutations refused before they happen, for agents started with `stockade run`. The probes see a
// rename, unlink, chmod or O_TRUNC only at the syscall's exit, after it changed the file: a kill
// then comes too late. A seccomp filter installed by the launcher just before it execs the agent
// hands those syscalls (and signals, ptrace and mounts, which could reach stockaded) to the
// daemon as user notifications: the calling thread waits in the kernel while the daemon judges
// the action with the boundary in force, and the syscall runs only if the daemon lets it. While
// no daemon holds the listener (it died, it was restarted) the kernel fails them with ENOSYS:
// closed, never open.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stockade::enforce {

// Syscall numbers newer than this system's headers (x86-64).
constexpr int kSysFchmodat2 = 452, kSysSetxattrat = 463, kSysRemovexattrat = 466;

// Installs the filter on the calling thread (it is inherited by every thread and child made
// after) and returns its listener. Sets no_new_privs first when the caller lacks CAP_SYS_ADMIN.
// Throws stockade::Error (EBUSY: the caller already has a filter with a listener: a nested run).
int install_mutation_filter();

// The syscalls the filter hands over (x86-64 numbers; open, openat only with O_CREAT or O_TRUNC).
const std::vector<int>& gated_syscalls();
// Its name, for logs and errors ("renameat2").
std::string syscall_name(int nr);

}  // namespace stockade::enforce
