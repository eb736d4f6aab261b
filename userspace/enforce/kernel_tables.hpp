// Puts what a map can express of each boundary into the kernel, so those decisions are taken
// in BPF before the process returns to user space:
//   exec allow/deny of exact files and whole directories   -> inode_rules (dev, inode)
//   files.never of exact files and whole directories         -> inode_rules
//   network deny and connect CIDRs (and resolved host names) -> net_deny / net_allow LPM tries
// Globs and everything else stay with the userspace decision (and its kill). Rules are keyed
// by inode so that symlinks, hard links and bind mounts of a denied file are the same file.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "policy/boundary.hpp"
#include "stockade/events.h"

namespace stockade::probe {
class Probe;
}

namespace stockade::enforce {

// What install() did for one agent, for logs and `stockade status`.
struct AgentKernelState {
    std::string agent;
    uint32_t agent_id = 0;
    bool enforce = false;
    bool exec_strict = false;  // the kernel kills any exec outside the allow list
    bool net_strict = false;   // the kernel refuses any connect outside the allow list
    bool file_strict = false;  // the kernel kills any open of a file outside the allow lists
    bool http_strict = false;  // the kernel kills any HTTP request outside the allow routes
    size_t inode_rules = 0, net_rules = 0, http_rules = 0;
    std::vector<std::string> userspace_only;  // rule ids the kernel cannot decide, and why
};

// A task's grants that the kernel can decide (exact/directory executables, CIDR destinations),
// installed with its agent's rules under the task's own kernel id, and gone when the task's
// overlay is no longer passed to install().
struct KernelOverlay {
    uint32_t kernel_id = 0;
    std::string agent, task;
    std::vector<policy::PathRule> exec_allow;
    std::vector<policy::NetRule> connect;
    std::vector<policy::PathRule> read_allow, write_allow;  // file grants (write: write and create)
    std::vector<policy::HttpRule> http_allow;               // HTTP grants: allow routes
};

class KernelTables {
public:
    // Rule 1 is always "builtin:self-protection" (SK_RULE_SELF).
    // Rule 2 is "builtin:http-unclear-path" (SK_RULE_HTTP_UNCLEAR).
    explicit KernelTables(probe::Probe& probe) : probe_(probe) {
        rule_number(kSelfProtection);
        rule_number(kHttpUnclear);
    }
    static constexpr const char* kSelfProtection = "builtin:self-protection";
    static constexpr const char* kHttpUnclear = "builtin:http-unclear-path";

    // Replaces the kernel tables with those of `set`. Entries of the new set are written before
    // stale ones are removed and before an agent's strict flags are raised, so no moment has
    // less than the union of old and new allow rules, nor strict mode without its allow list.
    // `protect` lists stockade's own directories (boundaries, journal, cgroup tree): no agent may
    // write below them, whatever its mode.
    std::vector<AgentKernelState> install(const policy::PolicySet& set, const std::map<std::string, uint32_t>& ids,
                                          const std::vector<std::string>& protect = {},
                                          const std::vector<KernelOverlay>& overlays = {});

    // The kernel rule number of a rule id (assigned on first use).
    uint32_t kernel_rule(const std::string& id) { return rule_number(id); }
    // The rule id of a kernel rule number reported in an event ("" if unknown).
    std::string rule_id(uint32_t kernel_rule) const;

    // The hash the kernel computes over an MCP tool name (FNV-1a 64).
    static uint64_t tool_hash(const std::string& name);
    // Tool names the kernel refuses for a boundary: exact (glob-free) names in tools.mcp deny
    // lists, whatever their server (the kernel cannot match the server's command line).
    static std::vector<std::pair<std::string, std::string>> kernel_denied_tools(const policy::Boundary& b);

    // Kernel encoding of a dev_t (MKDEV) from a userspace st_dev.
    static uint64_t kernel_dev(uint64_t st_dev);

private:
    uint32_t rule_number(const std::string& id);
    probe::Probe& probe_;
    std::vector<std::string> rules_;  // kernel rule n is rules_[n - 1]
    std::map<std::string, uint32_t> rule_numbers_;
    std::vector<uint32_t> agent_ids_;  // agents configured last time
};

}  // namespace stockade::enforce
