#include "enforce/notice_paths.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

namespace stockade::enforce::notice {

namespace {

std::string proc(pid_t tid, const std::string& rest) { return "/proc/" + std::to_string(tid) + rest; }

std::string link_target(const std::string& p) {
    char buf[PATH_MAX];
    ssize_t n = readlink(p.c_str(), buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// The file `p` leads to by the kernel's own walk: the /proc/TID magic links lead into the
// caller's root, cwd and descriptors, and symlinks are followed as the syscall would follow them.
std::optional<std::string> walk(const std::string& p, bool follow) {
    int fd = open(p.c_str(), O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0) return std::nullopt;
    std::string r = link_target("/proc/self/fd/" + std::to_string(fd));
    close(fd);
    if (r.empty()) return std::nullopt;
    return r;
}

bool starts(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// The names that mean "this process" would mean the daemon in its own walk: made the caller's.
std::string own_names(pid_t tid, const std::string& path) {
    struct Alias {
        const char* name;
        std::string means;
    };
    const Alias aliases[] = {{"/proc/self/", proc(tid, "/")},
                             {"/proc/thread-self/", proc(tid, "/task/" + std::to_string(tid) + "/")},
                             {"/dev/fd/", proc(tid, "/fd/")},
                             {"/dev/stdin", proc(tid, "/fd/0")},
                             {"/dev/stdout", proc(tid, "/fd/1")},
                             {"/dev/stderr", proc(tid, "/fd/2")}};
    for (auto& a : aliases)
        if (starts(path, a.name)) return a.means + path.substr(std::strlen(a.name));
    return path;
}

std::string base_of(pid_t tid, int dirfd, const std::string& path) {
    if (!path.empty() && path[0] == '/') return proc(tid, "/root");
    if (dirfd == AT_FDCWD) return proc(tid, "/cwd");
    return proc(tid, "/fd/" + std::to_string(dirfd));
}

std::string judged(const std::string& resolved) { return starts(resolved, "/") ? resolved : ""; }

}  // namespace

bool read_bytes(pid_t tid, uint64_t addr, void* out, size_t n) {
    iovec local{out, n}, remote{reinterpret_cast<void*>(addr), n};
    return process_vm_readv(tid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(n);
}

std::optional<std::string> read_string(pid_t tid, uint64_t addr) {
    if (!addr) return std::nullopt;
    std::string out;
    char chunk[256];
    while (out.size() < PATH_MAX) {
        // Never across a page in one read: the next page may be unmapped.
        size_t n = std::min<size_t>(sizeof chunk, 4096 - addr % 4096);
        iovec local{chunk, n}, remote{reinterpret_cast<void*>(addr), n};
        ssize_t got = process_vm_readv(tid, &local, 1, &remote, 1, 0);
        if (got <= 0) return std::nullopt;
        if (auto* end = static_cast<char*>(std::memchr(chunk, 0, static_cast<size_t>(got))))
            return out.append(chunk, static_cast<size_t>(end - chunk));
        out.append(chunk, static_cast<size_t>(got));
        addr += static_cast<uint64_t>(got);
    }
    return out;  // too long: the kernel fails it with ENAMETOOLONG
}

std::string resolve(pid_t tid, int dirfd, const std::string& written, bool follow) {
    std::string path = own_names(tid, written);
    std::string base = base_of(tid, dirfd, path);
    if (path.empty()) return judged(walk(base, true).value_or(""));  // AT_EMPTY_PATH: the descriptor
    std::string joined = base + "/" + path;
    if (auto r = walk(joined, follow)) return judged(*r);
    // Not there (yet): its directory resolved, then the name.
    std::string trimmed = joined;
    while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
    auto slash = trimmed.rfind('/');
    std::string name = trimmed.substr(slash + 1);
    if (name != "." && name != "..")
        if (auto dir = walk(trimmed.substr(0, slash), true)) return judged((*dir == "/" ? "" : *dir) + "/" + name);
    // Not even its directory (the syscall fails with ENOENT): as written, made absolute.
    return path[0] == '/' ? path : judged(link_target(base) + "/" + path);
}

std::string fd_path(pid_t tid, int fd) { return judged(link_target(proc(tid, "/fd/" + std::to_string(fd)))); }

bool exists(pid_t tid, int dirfd, const std::string& written, bool follow) {
    std::string path = own_names(tid, written);
    return walk(path.empty() ? base_of(tid, dirfd, path) : base_of(tid, dirfd, path) + "/" + path, follow)
        .has_value();
}

pid_t pidfd_target(pid_t tid, int fd) {
    std::ifstream in(proc(tid, "/fdinfo/" + std::to_string(fd)));
    std::string line;
    while (std::getline(in, line))
        if (starts(line, "Pid:")) return static_cast<pid_t>(std::strtol(line.c_str() + 4, nullptr, 10));
    return 0;
}

Ids ids_of(pid_t tid) {
    Ids ids;
    std::ifstream in(proc(tid, "/status"));
    std::string line;
    while (std::getline(in, line)) {
        auto num = [&](size_t at) { return static_cast<uint32_t>(std::strtoul(line.c_str() + at, nullptr, 10)); };
        if (starts(line, "Name:")) {
            ids.comm = line.substr(line.find_first_not_of(" \t", 5));
        } else if (starts(line, "Tgid:")) {
            ids.tgid = num(5);
        } else if (starts(line, "PPid:")) {
            ids.ppid = num(5);
        } else if (starts(line, "Uid:")) {
            ids.uid = num(4);
        } else if (starts(line, "Gid:")) {
            ids.gid = num(4);
        }
    }
    ids.pgid = static_cast<uint32_t>(getpgid(static_cast<pid_t>(tid)));
    return ids;
}

}  // namespace stockade::enforce::notice
