// Decoding of ring-buffer records (include/stockade/events.h) into typed Events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/event.hpp"

namespace stockade::probe {

// Turns the leaf-first, NUL-terminated components the kernel wrote into "/a/b/c".
std::string assemble_path(std::string_view leaf_first_components);

// Joins a base directory and a name as the caller passed it, then removes "." and ".."
// lexically (the kernel already resolved the base; the name's own symlinks are not resolved).
std::string join_normalize(std::string_view base, std::string_view name);

// A path the program named through one of its descriptors ("/proc/self/fd/N/rest",
// "/proc/thread-self/fd/N/rest" or "/proc/<pid>/fd/N/rest") as the file the descriptor stands
// for, read from /proc/<pid>/fd/N while the process still holds it; otherwise `path` unchanged.
std::string through_fd_link(uint32_t pid, const std::string& path);

// argv as the kernel laid it out: NUL separated, possibly cut at SK_ARGV_MAX.
std::vector<std::string> split_argv(std::string_view block);

// The FNV-1a 64 hash the BPF programs compute over names they look up in hashed tables (MCP
// tool names, cgroup names, HTTP routes): one definition for every table userspace fills.
uint64_t kernel_hash(std::string_view bytes);

// Throws stockade::Error when the record is shorter than its header says.
Event decode(const void* data, size_t size);

}  // namespace stockade::probe
