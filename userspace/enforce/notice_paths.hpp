// How a gated syscall's arguments are read from the waiting caller (mutation_gate.hpp): its
// strings from its memory, its paths in its own view. Internal to the mutation gate.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace stockade::enforce::notice {

// A NUL-terminated string at `addr` in the memory of `tid` (nullopt: unreadable).
std::optional<std::string> read_string(pid_t tid, uint64_t addr);
// `n` bytes at `addr` (false: unreadable).
bool read_bytes(pid_t tid, uint64_t addr, void* out, size_t n);

// The path a syscall of `tid` acts on: `path` relative to `dirfd` (AT_FDCWD: its cwd; an
// absolute path: its root), with every symlink followed except a last one when !follow. A name
// not there yet is its resolved directory plus the name. "" when there is nothing to judge (the
// path names a pipe, a socket or an anonymous inode).
std::string resolve(pid_t tid, int dirfd, const std::string& path, bool follow);
// What descriptor `fd` of `tid` is open on ("" as above).
std::string fd_path(pid_t tid, int fd);
// Whether `path` (as written by the caller, relative to `dirfd`) names something now.
bool exists(pid_t tid, int dirfd, const std::string& path, bool follow);

// The pid a pidfd of `tid` refers to (0: not a pidfd).
pid_t pidfd_target(pid_t tid, int fd);
// From /proc/TID/status: the thread group (process) id, the parent's and the real uid.
struct Ids {
    uint32_t tgid = 0, ppid = 0, uid = 0, gid = 0, pgid = 0;
    std::string comm;
};
Ids ids_of(pid_t tid);

}  // namespace stockade::enforce::notice
