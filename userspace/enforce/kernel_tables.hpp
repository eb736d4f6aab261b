// Puts what a map can express of each boundary into the kernel, so those decisions are taken
// in BPF before the process returns to user space. The content is planned without the kernel
// (enforce/kernel_plan.hpp); this class numbers the rules, refuses plans that do not fit, and
// writes a plan through checked map writers. Rules are keyed by inode so that symlinks, hard
// links and bind mounts of a denied file are the same file.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "enforce/kernel_plan.hpp"
#include "policy/boundary.hpp"
#include "stockade/events.h"

namespace stockade::probe {
class Probe;
}

namespace stockade::enforce {

class KernelTables {
public:
    // Reads the size of each map, so a plan that would overflow one is refused before any write.
    explicit KernelTables(probe::Probe& probe);
    static constexpr const char* kSelfProtection = "builtin:self-protection";  // rule 1 (SK_RULE_SELF)
    static constexpr const char* kHttpUnclear = "builtin:http-unclear-path";   // rule 2 (SK_RULE_HTTP_UNCLEAR)

    // The tables for `in`. Throws stockade::Error listing every shape the kernel cannot hold
    // (a map that would overflow, too many port ranges for one address block); nothing is
    // written then, and the tables in force stay.
    KernelPlan plan(const PlanInput& in);

    // Makes the kernel tables those of `plan`. Entries of the new plan are written before stale
    // ones are removed, and an agent's strict flags go up only after its allow entries are in
    // (they come down first), so no moment has less than the union of old and new allow rules,
    // nor strict mode without its allow list. A failed write throws stockade::Error naming the
    // table and the agent, after the previous plan was written back.
    std::vector<AgentKernelState> apply(const KernelPlan& plan);

    // plan() then apply().
    std::vector<AgentKernelState> install(const policy::PolicySet& set, const std::map<std::string, uint32_t>& ids,
                                          const std::vector<std::string>& protect = {},
                                          const std::vector<policy::TaskRules>& overlays = {},
                                          const std::vector<PinnedInode>& pinned = {});

    // Who holds each kernel id in the tables in force: "agent", "agent/task-id" or
    // "agent sequence ID" (KernelPlan::owners).
    std::map<uint32_t, std::string> owners() const { return applied_ ? applied_->owners : std::map<uint32_t, std::string>{}; }

    // The kernel rule number of a rule id (assigned on first use).
    uint32_t kernel_rule(const std::string& id) { return rules_.number(id); }
    // The rule id of a kernel rule number reported in an event ("" if unknown).
    std::string rule_id(uint32_t kernel_rule) const { return rules_.id(kernel_rule); }
    // Every rule id in number order, and the numbering a previous daemon left (RuleNumbers).
    const std::vector<std::string>& rule_ids() const { return rules_.ids(); }
    bool restore_rule_ids(const std::vector<std::string>& ids) { return rules_.restore(ids); }

    static uint64_t tool_hash(const std::string& name) { return enforce::tool_hash(name); }
    static std::vector<std::pair<std::string, std::string>> kernel_denied_tools(const policy::Boundary& b) {
        return enforce::kernel_denied_tools(b);
    }
    static uint64_t kernel_dev(uint64_t st_dev) { return enforce::kernel_dev(st_dev); }

private:
    void write(const KernelPlan& plan, const KernelPlan* previous);
    probe::Probe& probe_;
    RuleNumbers rules_;
    KernelCapacity capacity_;
    std::optional<KernelPlan> applied_;  // what the kernel holds
};

}  // namespace stockade::enforce
