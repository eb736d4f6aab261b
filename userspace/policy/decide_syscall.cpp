// Syscalls that reach files, processes or the network around the ones the probe judges
// (kernel record SK_SYSCALL): the kernel kills them in enforce mode; this is the verdict it
// stands for, and what monitor mode reports.
#include <sys/syscall.h>

#include "policy/judge.hpp"
#include "stockade/sysnr.h"

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
    case SYS_pidfd_open: return "pidfd_open";
    case SYS_mount: return "mount";
    case SYS_umount2: return "umount2";
    case SYS_pivot_root: return "pivot_root";
    case SYS_open_tree: return "open_tree";
    case SYS_move_mount: return "move_mount";
    case SYS_fsopen: return "fsopen";
    case SYS_fsconfig: return "fsconfig";
    case SYS_fsmount: return "fsmount";
    case SYS_fspick: return "fspick";
    case SYS_mount_setattr: return "mount_setattr";
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
    case SYS_mount: case SYS_umount2: case SYS_pivot_root: case SYS_open_tree: case SYS_move_mount:
    case SYS_fsopen: case SYS_fsconfig: case SYS_fsmount: case SYS_fspick: case SYS_mount_setattr:
    case NR_open_tree_attr:
        if (j.b.mount) return j.allow(kMountId, name + ": mount: true");
        return j.violation(kMountId, name + ": mounting is not allowed (a mount could cover stockade's files)");
    case SYS_open_by_handle_at:
        return j.violation(kByHandleId, name + ": opening by file handle skips path rules" +
                                            (e.path.empty() ? std::string() : " (" + e.path + ")"));
    default:
        return j.violation(kCrossProcessId, name + " of pid " + std::to_string(e.target_pid) +
                                                ", a process outside the agent");
    }
}

}  // namespace stockade::policy
