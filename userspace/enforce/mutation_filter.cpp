#include "enforce/mutation_filter.hpp"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <map>

#include "common/error.hpp"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

namespace stockade::enforce {

namespace {

constexpr int kFchmodat2 = kSysFchmodat2, kSetxattrat = kSysSetxattrat, kRemovexattrat = kSysRemovexattrat;
constexpr uint32_t kX32Bit = 0x40000000;

const std::map<int, std::string>& names() {
    static const std::map<int, std::string> m = {
        // Names made, moved or removed.
        {SYS_unlink, "unlink"}, {SYS_unlinkat, "unlinkat"}, {SYS_rmdir, "rmdir"}, {SYS_rename, "rename"},
        {SYS_renameat, "renameat"}, {SYS_renameat2, "renameat2"}, {SYS_link, "link"}, {SYS_linkat, "linkat"},
        {SYS_symlink, "symlink"}, {SYS_symlinkat, "symlinkat"}, {SYS_mkdir, "mkdir"}, {SYS_mkdirat, "mkdirat"},
        {SYS_mknod, "mknod"}, {SYS_mknodat, "mknodat"}, {SYS_creat, "creat"}, {SYS_openat2, "openat2"},
        // Metadata and contents changed in place.
        {SYS_chmod, "chmod"}, {SYS_fchmod, "fchmod"}, {SYS_fchmodat, "fchmodat"}, {kFchmodat2, "fchmodat2"},
        {SYS_chown, "chown"}, {SYS_fchown, "fchown"}, {SYS_lchown, "lchown"}, {SYS_fchownat, "fchownat"},
        {SYS_truncate, "truncate"}, {SYS_ftruncate, "ftruncate"}, {SYS_setxattr, "setxattr"},
        {SYS_lsetxattr, "lsetxattr"}, {SYS_fsetxattr, "fsetxattr"}, {SYS_removexattr, "removexattr"},
        {SYS_lremovexattr, "lremovexattr"}, {SYS_fremovexattr, "fremovexattr"}, {kSetxattrat, "setxattrat"},
        {kRemovexattrat, "removexattrat"},
        // What could reach stockaded itself: signals, ptrace and its kin, mounts over its files.
        {SYS_kill, "kill"}, {SYS_tkill, "tkill"}, {SYS_tgkill, "tgkill"}, {SYS_rt_sigqueueinfo, "rt_sigqueueinfo"},
        {SYS_rt_tgsigqueueinfo, "rt_tgsigqueueinfo"}, {SYS_pidfd_send_signal, "pidfd_send_signal"},
        {SYS_ptrace, "ptrace"}, {SYS_process_vm_readv, "process_vm_readv"},
        {SYS_process_vm_writev, "process_vm_writev"}, {SYS_pidfd_open, "pidfd_open"},
        {SYS_pidfd_getfd, "pidfd_getfd"}, {SYS_mount, "mount"}, {SYS_umount2, "umount2"},
        {SYS_move_mount, "move_mount"}, {SYS_open_tree, "open_tree"}, {SYS_fsmount, "fsmount"},
        {SYS_fsconfig, "fsconfig"}, {SYS_fsopen, "fsopen"}, {SYS_fspick, "fspick"}, {SYS_mount_setattr, "mount_setattr"}, {SYS_pivot_root, "pivot_root"},
    };
    return m;
}

constexpr uint32_t kNotify = SECCOMP_RET_USER_NOTIF;
constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;

sock_filter stmt(uint16_t code, uint32_t k) { return BPF_STMT(code, k); }
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { return BPF_JUMP(code, k, jt, jf); }

// The low 32 bits of argument `i` (little-endian: the first word).
uint32_t arg_low(int i) { return static_cast<uint32_t>(offsetof(seccomp_data, args) + 8 * i); }

// Hands `nr` over when (flags argument `arg`) has O_CREAT or O_TRUNC: an open that makes a name
// or empties a file; other opens change nothing before the probes see them.
void open_with_flags(std::vector<sock_filter>& p, int nr, int arg) {
    p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 4));
    p.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, arg_low(arg)));
    p.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, O_CREAT | O_TRUNC, 0, 1));
    p.push_back(stmt(BPF_RET | BPF_K, kNotify));
    p.push_back(stmt(BPF_RET | BPF_K, kAllow));
}

std::vector<sock_filter> program() {
    std::vector<sock_filter> p;
    p.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
    // 32-bit syscalls: the probes judge (or kill) them; this filter's numbers are x86-64's.
    p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
    p.push_back(stmt(BPF_RET | BPF_K, kAllow));
    p.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
    // x32 numbers would name the same syscalls unseen: refused outright (no agent uses x32).
    p.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, kX32Bit, 0, 1));
    p.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
    for (auto& [nr, name] : names()) {
        p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1));
        p.push_back(stmt(BPF_RET | BPF_K, kNotify));
    }
    open_with_flags(p, SYS_open, 1);  // leaves the accumulator as it found it when nr differs
    open_with_flags(p, SYS_openat, 2);
    p.push_back(stmt(BPF_RET | BPF_K, kAllow));
    return p;
}

bool has_cap_sys_admin() {
    // capget through the status file: no libcap needed for one bit.
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return false;
    buf[n] = 0;
    const char* eff = std::strstr(buf, "CapEff:");
    if (!eff) return false;
    unsigned long long caps = std::strtoull(eff + 7, nullptr, 16);
    return caps & (1ull << 21);  // CAP_SYS_ADMIN
}

}  // namespace

const std::vector<int>& gated_syscalls() {
    static const std::vector<int> v = [] {
        std::vector<int> out;
        for (auto& [nr, name] : names()) out.push_back(nr);
        out.push_back(SYS_open);
        out.push_back(SYS_openat);
        return out;
    }();
    return v;
}

std::string syscall_name(int nr) {
    if (nr == SYS_open) return "open";
    if (nr == SYS_openat) return "openat";
    auto it = names().find(nr);
    return it == names().end() ? "syscall " + std::to_string(nr) : it->second;
}

int install_mutation_filter() {
    if (!has_cap_sys_admin() && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        throw Error(std::string("prctl(PR_SET_NO_NEW_PRIVS): ") + std::strerror(errno));
    auto p = program();
    sock_fprog prog{static_cast<unsigned short>(p.size()), p.data()};
    // Killable once received: a Go runtime's preemption signals do not restart the wait.
    unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (fd < 0 && errno == EINVAL) {  // a kernel before 5.19: without the killable wait
        flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
        fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    }
    if (fd < 0) {
        int err = errno;
        throw Error(std::string("seccomp filter with a listener: ") + std::strerror(err) +
                    (err == EBUSY ? " (this process already has one: a `stockade run` inside an agent?)" : ""));
    }
    return static_cast<int>(fd);
}

}  // namespace stockade::enforce
