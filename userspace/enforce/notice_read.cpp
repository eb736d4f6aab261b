// A gated syscall read as the actions the probes would report after it (mutation_gate.hpp).
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "common/clock.hpp"
#include "enforce/mutation_filter.hpp"
#include "enforce/mutation_gate.hpp"
#include "enforce/notice_paths.hpp"
#include "identity/procfs.hpp"

namespace stockade::enforce {

namespace {

constexpr int kFchmodat2 = kSysFchmodat2, kSetxattrat = kSysSetxattrat, kRemovexattrat = kSysRemovexattrat;
#ifndef RENAME_EXCHANGE
constexpr uint64_t RENAME_EXCHANGE = 1 << 1;
#endif

struct Reader {
    pid_t tid;
    const uint64_t* a;
    const SelfIds& self;
    Notice out;
    Event base;
    uint32_t pgid = 0;  // the caller's process group

    int fd(int i) const { return static_cast<int>(static_cast<int32_t>(a[i])); }
    std::string str(int i) const { return notice::read_string(tid, a[i]).value_or(""); }
    std::string at(int dirfd_arg, int path_arg, bool follow) const {
        return notice::resolve(tid, dirfd_arg < 0 ? AT_FDCWD : fd(dirfd_arg), str(path_arg), follow);
    }

    void file(Action act, std::string path, std::string path2 = "", uint32_t access = 0) {
        if (path.empty()) return;  // a pipe, a socket, an unreadable argument: nothing a rule names
        Event e = base;
        e.action = act;
        e.path = std::move(path);
        e.path2 = std::move(path2);
        e.access = access;
        out.actions.push_back(std::move(e));
        out.refuse_errno = EACCES;
    }
    // A signal, ptrace, pidfd or process_vm call: an action only when aimed at stockaded.
    void at_self(Action act, bool aimed, uint32_t target, uint32_t detail) {
        if (!aimed) return;
        Event e = base;
        e.action = act;
        e.target_pid = target;
        e.detail = detail;
        out.actions.push_back(std::move(e));
        out.refuse_errno = EPERM;
    }
    void mount_family(int nr) {
        Event e = base;
        e.action = Action::Syscall;
        e.syscall_nr = static_cast<uint32_t>(nr);
        e.kernel_rule = SK_RULE_SELF;
        out.actions.push_back(std::move(e));
        out.refuse_errno = EPERM;
    }

    void open(int dirfd_arg, int path_arg, uint64_t flags);
    void rename(int d1, int p1, int d2, int p2, uint64_t flags);
    void kill_like(int64_t pid, uint32_t sig);
    void read_files(int nr);
    bool read_self(int nr);
};

uint32_t open_access(uint64_t flags, bool created) {
    uint32_t acc = 0;
    switch (flags & O_ACCMODE) {
    case O_RDONLY: acc = kRead; break;
    case O_WRONLY: acc = kWrite; break;
    default: acc = kRead | kWrite; break;
    }
    if (flags & O_TRUNC) acc |= kTruncate;
    if (flags & O_APPEND) acc |= kAppend;
    if (created) acc |= kCreate;
    return acc;
}

void Reader::open(int dirfd_arg, int path_arg, uint64_t flags) {
    std::string written = str(path_arg);
    int dirfd = dirfd_arg < 0 ? AT_FDCWD : fd(dirfd_arg);
    bool follow = !(flags & O_NOFOLLOW);
    // O_CREAT makes a name only where there is none: an existing file is opened (and truncated).
    bool created = (flags & O_CREAT) && !notice::exists(tid, dirfd, written, follow);
    if (!(flags & O_TRUNC) && !created) return;  // nothing changes before the probes see it
    file(Action::Open, notice::resolve(tid, dirfd, written, follow), "", open_access(flags, created));
    if (!out.actions.empty()) out.actions.back().open_flags = static_cast<uint32_t>(flags);
}

void Reader::rename(int d1, int p1, int d2, int p2, uint64_t flags) {
    std::string from = at(d1, p1, false), to = at(d2, p2, false);
    file(Action::Rename, from, to);
    if (flags & RENAME_EXCHANGE) file(Action::Rename, to, from);  // both names move
}

void Reader::kill_like(int64_t pid, uint32_t sig) {
    if (sig == 0) return;  // a probe: delivers nothing
    bool aimed = pid > 0    ? self.is_thread(static_cast<pid_t>(pid))
                 : pid == 0 ? pgid == static_cast<uint32_t>(self.pgid)
                 : pid == -1 ? true  // every process it may signal: stockaded among them
                             : static_cast<pid_t>(-pid) == self.pgid;
    at_self(Action::Signal, aimed, static_cast<uint32_t>(pid > 0 ? pid : self.pid), sig);
}

// Signals, ptrace and its kin, pidfds and mounts: what could reach stockaded. False: not one.
bool Reader::read_self(int nr) {
    auto sig = [&](int i) { return static_cast<uint32_t>(a[i]); };
    auto pid = [&](int i) { return static_cast<pid_t>(static_cast<int32_t>(a[i])); };
    switch (nr) {
    case SYS_kill: kill_like(static_cast<int64_t>(pid(0)), sig(1)); return true;
    case SYS_rt_sigqueueinfo: kill_like(pid(0) > 0 ? pid(0) : 0, sig(1)); return true;
    case SYS_tkill: at_self(Action::Signal, sig(1) && self.is_thread(pid(0)), pid(0), sig(1)); return true;
    case SYS_tgkill:
    case SYS_rt_tgsigqueueinfo:
        at_self(Action::Signal, sig(2) && (pid(0) == self.pid || self.is_thread(pid(1))), pid(0), sig(2));
        return true;
    case SYS_pidfd_send_signal: {
        pid_t t = notice::pidfd_target(tid, fd(0));
        at_self(Action::Signal, sig(1) && t > 0 && self.is_thread(t), t, sig(1));
        return true;
    }
    case SYS_ptrace:
        at_self(Action::Ptrace, a[0] != PTRACE_TRACEME && self.is_thread(pid(1)), pid(1), sig(0));
        return true;
    case SYS_process_vm_readv:
    case SYS_process_vm_writev:
    case SYS_pidfd_open: at_self(Action::Ptrace, self.is_thread(pid(0)), pid(0), 0); return true;
    case SYS_pidfd_getfd: {
        pid_t t = notice::pidfd_target(tid, fd(0));
        at_self(Action::Ptrace, t > 0 && self.is_thread(t), t, 0);
        return true;
    }
    case SYS_mount: case SYS_umount2: case SYS_move_mount: case SYS_open_tree: case SYS_fsmount:
    case SYS_fsconfig: case SYS_fsopen: case SYS_fspick: case SYS_mount_setattr: case SYS_pivot_root:
        mount_family(nr);
        return true;
    default: return false;
    }
}

// Names made, moved and removed; metadata and contents changed in place.
void Reader::read_files(int nr) {
    constexpr int kCwd = -1;
    switch (nr) {
    case SYS_open: open(kCwd, 0, a[1]); break;
    case SYS_openat: open(0, 1, a[2]); break;
    case SYS_creat: open(kCwd, 0, O_CREAT | O_WRONLY | O_TRUNC); break;
    case SYS_openat2: {
        open_how how{};
        if (notice::read_bytes(tid, a[2], &how, sizeof how.flags)) open(0, 1, how.flags);
        break;
    }
    case SYS_unlink: file(Action::Unlink, at(kCwd, 0, false)); break;
    case SYS_unlinkat: file(a[2] & AT_REMOVEDIR ? Action::Rmdir : Action::Unlink, at(0, 1, false)); break;
    case SYS_rmdir: file(Action::Rmdir, at(kCwd, 0, false)); break;
    case SYS_rename: rename(kCwd, 0, kCwd, 1, 0); break;
    case SYS_renameat: rename(0, 1, 2, 3, 0); break;
    case SYS_renameat2: rename(0, 1, 2, 3, a[4]); break;
    case SYS_link: file(Action::Link, at(kCwd, 0, false), at(kCwd, 1, false)); break;
    case SYS_linkat:
        file(Action::Link, a[4] & AT_EMPTY_PATH && str(1).empty() ? notice::fd_path(tid, fd(0))
                                                                   : at(0, 1, a[4] & AT_SYMLINK_FOLLOW),
             at(2, 3, false));
        break;
    case SYS_symlink: file(Action::Symlink, at(kCwd, 1, false), str(0)); break;
    case SYS_symlinkat: file(Action::Symlink, at(1, 2, false), str(0)); break;
    case SYS_mkdir: file(Action::Mkdir, at(kCwd, 0, false)); break;
    case SYS_mkdirat: file(Action::Mkdir, at(0, 1, false)); break;
    case SYS_mknod: file(Action::Open, at(kCwd, 0, false), "", kCreate | kWrite); break;
    case SYS_mknodat: file(Action::Open, at(0, 1, false), "", kCreate | kWrite); break;
    case SYS_chmod: case SYS_chown: file(Action::Chmod, at(kCwd, 0, true)); break;
    case SYS_lchown: file(Action::Chmod, at(kCwd, 0, false)); break;
    case SYS_fchmod: case SYS_fchown: file(Action::Chmod, notice::fd_path(tid, fd(0))); break;
    case SYS_fchmodat: file(Action::Chmod, at(0, 1, true)); break;
    case kFchmodat2: file(Action::Chmod, at(0, 1, !(a[3] & AT_SYMLINK_NOFOLLOW))); break;
    case SYS_fchownat: file(Action::Chmod, at(0, 1, !(a[4] & AT_SYMLINK_NOFOLLOW))); break;
    case SYS_truncate: file(Action::Truncate, at(kCwd, 0, true)); break;
    case SYS_ftruncate: file(Action::Truncate, notice::fd_path(tid, fd(0))); break;
    case SYS_setxattr: case SYS_removexattr: file(Action::Xattr, at(kCwd, 0, true), str(1)); break;
    case SYS_lsetxattr: case SYS_lremovexattr: file(Action::Xattr, at(kCwd, 0, false), str(1)); break;
    case SYS_fsetxattr: case SYS_fremovexattr: file(Action::Xattr, notice::fd_path(tid, fd(0)), str(1)); break;
    case kSetxattrat: case kRemovexattrat: file(Action::Xattr, at(0, 1, !(a[2] & AT_SYMLINK_NOFOLLOW)), str(3)); break;
    default: break;
    }
}
}  // namespace

bool SelfIds::is_thread(pid_t tid) const {
    return tid == pid || std::filesystem::exists("/proc/self/task/" + std::to_string(tid));
}

Notice read_notice(pid_t tid, int nr, const uint64_t args[6], const SelfIds& self) {
    Reader r{tid, args, self, {}, {}};
    r.out.nr = nr;
    notice::Ids ids = notice::ids_of(tid);
    r.base.ktime_ns = boot_ns();
    r.base.pid = ids.tgid ? ids.tgid : static_cast<uint32_t>(tid);
    r.base.tid = static_cast<uint32_t>(tid);
    r.base.start_ns = identity::read_proc_start(r.base.pid).value_or(0);  // a kill must find this process
    r.base.ppid = ids.ppid;
    r.base.uid = ids.uid;
    r.base.gid = ids.gid;
    r.base.comm = ids.comm;
    r.pgid = ids.pgid;
    if (!r.read_self(nr)) r.read_files(nr);
    return r.out;
}

}  // namespace stockade::enforce
