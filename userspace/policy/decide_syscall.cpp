// Syscalls that reach files, processes or the network around the ones the probe judges
// (kernel record SK_SYSCALL): the kernel kills them in enforce mode; this is the verdict it
// stands for, and what monitor mode reports.
#include <sys/syscall.h>

#include "policy/judge.hpp"

namespace stockade::policy {

namespace {

std::string nr_name(long nr) {
    switch (nr) {
    case SYS_io_uring_setup: return "io_uring_setup";
    case SYS_io_uring_enter: return "io_uring_enter";
    case SYS_io_uring_register: return "io_uring_register";
    case SYS_open_by_handle_at: return "open_by_handle_at";
    case SYS_ptrace: return "ptrace";
    case SYS_process_vm_readv: return "process_vm_readv";
    case SYS_process_vm_writev: return "process_vm_writev";
    case SYS_pidfd_getfd: return "pidfd_getfd";
    default: return "syscall " + std::to_string(nr);
    }
}

}  // namespace

Verdict decide_syscall(const Judge& j) {
    const Event& e = j.e;
    if (e.compat)
        return j.violation(kCompatSyscallId, "32-bit syscall " + std::to_string(e.syscall_nr) +
                                                 " (int 0x80 / sysenter): not seen by the 64-bit hooks");
    std::string name = nr_name(e.syscall_nr);
    switch (e.syscall_nr) {
    case SYS_io_uring_setup:
    case SYS_io_uring_enter:
    case SYS_io_uring_register:
        if (j.b.io_uring) return j.allow(kIoUringId, name + ": io_uring: true");
        return j.violation(kIoUringId, name + ": io_uring is not allowed (its operations bypass the syscall hook)");
    case SYS_open_by_handle_at:
        return j.violation(kByHandleId, name + ": opening by file handle skips path rules" +
                                            (e.path.empty() ? std::string() : " (" + e.path + ")"));
    default:
        return j.violation(kCrossProcessId, name + " of pid " + std::to_string(e.target_pid) +
                                                ", a process outside the agent");
    }
}

}  // namespace stockade::policy
