// The allow rules one task adds to its agent's boundary, in the boundary's own terms. One type
// for both sides of the join: scope hands each live task's grants out in it
// (TaskRegistry::kernel_grants), and enforce plans the kernel tables from it (PlanInput::overlays),
// so neither knows the other and no conversion can drop a field.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policy/boundary.hpp"

namespace stockade::policy {

struct TaskRules {
    uint32_t kernel_id = 0;  // the task's own kernel identity (its processes' tag)
    std::string agent, task;
    std::vector<PathRule> exec_allow;
    std::vector<NetRule> connect;
    std::vector<PathRule> read_allow, write_allow;  // file grants (write: write and create)
    std::vector<HttpRule> http_allow;               // HTTP grants: allow routes
};

}  // namespace stockade::policy
