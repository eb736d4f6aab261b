// What the kernel tables should hold for a set of boundaries, computed without touching the
// kernel: plan_kernel_tables() turns boundaries into the content of each BPF map, per agent, and
// says what the kernel cannot decide (left to the daemon) and what does not fit (the set is then
// refused). KernelTables::apply() (kernel_tables.hpp) writes a plan through checked map writers.
//
//   exec allow/deny of exact files and whole directories   -> inode_rules (dev, inode)
//   files.never, read/write allows, self-protection          -> inode_rules
//   network deny / connect CIDRs and resolved host names     -> net_deny / net_allow LPM tries
//   exact MCP tool names of deny lists                       -> tool_deny
//   HTTP routes (enforce/http_routes.hpp)                    -> http_rules
//   per agent switches                                       -> agent_cfg
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "policy/boundary.hpp"
#include "policy/task_rules.hpp"
#include "stockade/events.h"

namespace stockade::enforce {

// Kernel rule numbers: a rule id gets a number on first use and keeps it for the daemon's life,
// so events already in the ring buffer still name the right rule after a reload.
class RuleNumbers {
public:
    // 1 = builtin:self-protection (SK_RULE_SELF), 2 = builtin:http-unclear-path, 3 = builtin:no-daemon,
    // 4 = builtin:hold-release, 5 = builtin:unseen-tls
    RuleNumbers();
    uint32_t number(const std::string& id);
    std::string id(uint32_t number) const;  // "" if unknown
    // Every id in number order (ids()[n - 1] is number n): what a restarted daemon restores, so
    // the numbers in the pinned tables and in records still in the ring keep their meaning.
    const std::vector<std::string>& ids() const { return ids_; }
    // Takes `ids` as the numbering when it extends this one (the builtins first, in order);
    // false, and nothing changed, otherwise.
    bool restore(const std::vector<std::string>& ids);

private:
    std::vector<std::string> ids_;  // number n is ids_[n - 1]
    std::map<std::string, uint32_t> numbers_;
};

// What the plan did for one kernel identity (an agent, or a task with grants), for logs and
// `stockade status`.
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
    bool user_file = false, user_exec = false;  // which of them judge opens, which execs
};


struct InodeKey {
    uint32_t agent = 0;
    uint64_t dev = 0, ino = 0;  // dev in the kernel's encoding (MKDEV)
    auto operator<=>(const InodeKey&) const = default;
};

// An address block of one kernel identity (unmapped: IPv4 traffic is always AF_INET).
struct NetPrefix {
    uint32_t agent = 0;
    uint32_t family = 0;
    std::array<uint8_t, 16> addr{};  // host bits cleared
    uint32_t prefix = 0;             // address bits
    auto operator<=>(const NetPrefix&) const = default;
    bool contains(const NetPrefix& inner) const;  // same agent and family, inner at least as long
};

// The port ranges an address block's LPM entry holds. Each entry holds its own ranges and those
// of every shorter block of the same table that contains it, because the kernel's lookup
// returns only the longest match.
using PortSpans = std::vector<sk_port_span>;

struct ToolKey {
    uint32_t agent = 0;
    uint64_t name_hash = 0;
    auto operator<=>(const ToolKey&) const = default;
};

struct HttpKey {
    uint32_t agent = 0, tag = 0;
    uint64_t route_hash = 0, path_hash = 0;
    auto operator<=>(const HttpKey&) const = default;
};

struct KernelPlan {
    std::map<InodeKey, sk_inode_rule> inode_rules;
    std::map<NetPrefix, PortSpans> net_allow, net_deny;
    std::map<ToolKey, uint32_t> tool_deny;  // -> rule number
    std::map<HttpKey, sk_http_rule> http_rules;
    std::map<uint32_t, sk_agent_cfg> agent_cfg;
    std::vector<AgentKernelState> agents;
    std::map<uint32_t, std::string> owners;  // kernel id (agent, task, sequence lock) -> name
    // Shapes the kernel cannot hold: any one refuses the whole set (never entries dropped).
    std::vector<std::string> problems;

    std::string owner(uint32_t kernel_id) const;
};

// The sizes of the kernel maps (max_entries of bpf/ maps).
struct KernelCapacity {
    size_t inode_rules = 65536, net_allow = 16384, net_deny = 16384, tool_deny = 4096, http_rules = 16384;
    size_t agent_cfg = 1024;  // ids are array indices: every id must be below this
};

// A file that had a files.never rule's name when the agent gave it another (rename, link; the
// daemon killed it for that): kept out under every name by its inode (enforce/never_pins.hpp, Daemon::keep_never).
struct PinnedInode {
    std::string agent;
    uint64_t dev = 0, ino = 0;  // dev in the kernel's encoding
    bool dir = false;           // a directory: everything below it too
    std::string rule;           // the never rule it broke
};

struct PlanInput {
    const policy::PolicySet* set = nullptr;
    std::map<std::string, uint32_t> ids;  // agent name -> kernel id
    std::vector<std::string> protect;     // stockade's own files and directories
    // Each live task's grants, installed with its agent's rules under the task's own kernel id;
    // gone when the task is no longer passed here.
    std::vector<policy::TaskRules> overlays;
    std::vector<PinnedInode> pinned;
};

KernelPlan plan_kernel_tables(const PlanInput& in, RuleNumbers& rules);

// Adds to plan.problems every table the plan would overflow, naming the agent with most entries.
void check_capacity(KernelPlan& plan, const KernelCapacity& cap);

// Network part of the plan (kernel_plan_net.cpp): one identity's rules into net_allow/net_deny.
struct NetPlanner {
    KernelPlan& plan;
    RuleNumbers& rules;
    using Ordered = std::vector<std::pair<uint32_t, sk_port_span>>;  // (rule order, span)
    std::map<NetPrefix, Ordered> allow, deny;  // each block's own spans
    uint32_t order = 0;

    // Returns the number of LPM entries the rule made.
    size_t put(bool deny_table, uint32_t kernel_id, const policy::Boundary& b, const policy::NetRule& r);
    // Folds each block's ancestors into it, merges and bounds the spans, fills plan.net_*.
    void finish();
};

// The hash the kernel computes over an MCP tool name (FNV-1a 64).
uint64_t tool_hash(const std::string& name);
// Tool names the kernel refuses for a boundary: exact (glob-free) names in tools.mcp deny lists,
// whatever their server (the kernel cannot match the server's command line). (tool, rule id)
std::vector<std::pair<std::string, std::string>> kernel_denied_tools(const policy::Boundary& b);
// Kernel encoding of a dev_t (MKDEV) from a userspace st_dev.
uint64_t kernel_dev(uint64_t st_dev);

}  // namespace stockade::enforce
