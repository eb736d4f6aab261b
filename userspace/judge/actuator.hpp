// What the judge stage needs from the outside world; the daemon wires real kills and the journal,
// unit tests a recording fake.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "journal/record.hpp"

namespace stockade::judge {

struct Actuator {
    std::function<bool(uint32_t pid, uint64_t start_ns, std::string& err)> kill_process;
    std::function<bool(const std::string& cgroup, std::string& err)> kill_cgroup;
    std::function<void(journal::Record&)> journal;                   // appends (fills chain fields)
    std::function<std::string(uint32_t kernel_rule)> kernel_rule_id;  // "" if unknown
    std::function<uint64_t()> now_boot_ns;                            // CLOCK_BOOTTIME
    // Tells the kernel a process carries a sequence's label (optional: tests may leave it empty).
    std::function<void(uint32_t pid, const std::string& sequence_id)> label_process;
    // The kernel tracked a cgroup made with an agent's unit or cgroup name (optional).
    std::function<void(const std::string& path, uint32_t agent_id, uint64_t cgroup_id)> cgroup_created;
};

}  // namespace stockade::judge
