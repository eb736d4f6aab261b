// Internal to decide: building verdicts for one (boundary, event) pair.
#pragma once

#include <optional>
#include <string>

#include "common/event.hpp"
#include "common/verdict.hpp"
#include "policy/boundary.hpp"

namespace stockade::policy {

inline constexpr const char* kAlwaysId = "builtin:always";
inline constexpr const char* kPathOnlyId = "builtin:path-only";
inline constexpr const char* kUnixSocketId = "builtin:unix-socket";
inline constexpr const char* kIoUringId = "builtin:io_uring";
inline constexpr const char* kMountId = "builtin:mount";
inline constexpr const char* kCompatSyscallId = "builtin:compat-syscall";
inline constexpr const char* kByHandleId = "builtin:open-by-handle";
inline constexpr const char* kCrossProcessId = "builtin:cross-process";
inline constexpr const char* kLoaderExecId = "builtin:loader-exec";  // ld.so run, its program unknown
inline constexpr const char* kScriptExecId = "builtin:script-exec";  // a `#!` script whose name was cut

struct Judge {
    const Boundary& b;
    const Event& e;

    Verdict allow(std::string rule_id, std::string resolved) const {
        return {Decision::Allow, std::move(rule_id), std::move(resolved), b.on_violation};
    }
    Verdict violation(std::string rule_id, std::string resolved) const {
        Decision d = violation_for(b);
        return {d, std::move(rule_id), std::move(resolved), b.on_violation};
    }
    Verdict default_deny(std::string resolved) const { return violation(b.default_deny_id(), std::move(resolved)); }
};

// A path as matched: lexically normalised, and with the event's own /proc/<pid> also tried as
// /proc/self (the kernel reports /proc/self/x as /proc/<pid>/x).
struct PathForms {
    std::string path;       // for messages
    std::string normal;     // lexically normalised
    std::string self_form;  // "/proc/self/..." or empty
    PathForms(const Event& e, const std::string& p);
    bool hit(const PathRule& r) const {
        return r.matches(normal) || (!self_form.empty() && r.matches(self_form));
    }
};

Verdict decide_files(const Judge& j);    // Open, Unlink ... Symlink
Verdict decide_exec(const Judge& j);
Verdict decide_network(const Judge& j);  // Connect, Send, Bind, Listen
Verdict decide_syscall(const Judge& j);  // Syscall: io_uring, 32-bit, by handle, cross-process
// The files.never verdict for `path`, if a never rule matches it.
std::optional<Verdict> never_hit(const Judge& j, const PathForms& path);

}  // namespace stockade::policy
