// When a violation is stopped, per kind of action, for one agent: before the action happens,
// at its syscall's exit (before the process runs one more user instruction), or only after it
// (journaled, nothing stopped). `stockade check` and `stockade status` print it, so an operator
// knows from the boundary and the kernel plan, not from docs/architecture.md's general table,
// what this agent can still do once before it is stopped.
#pragma once

#include <string>
#include <vector>

#include "enforce/kernel_plan.hpp"
#include "policy/boundary.hpp"

namespace stockade::enforce {

enum class StopWhen { Before, AtExit, After };

struct StopLine {
    std::string action;  // "exec", "file read", ...
    StopWhen when = StopWhen::After;
    std::string how;
    // The same action for an agent launched by `stockade run` (Landlock on), when that differs.
    std::string launched;
};

// `k` is the kernel plan's state for b's agent (plan_kernel_tables().agents).
std::vector<StopLine> stop_timing(const policy::Boundary& b, const AgentKernelState& k);

const char* to_string(StopWhen w);

// The lines as text, one per action, indented by `indent`.
std::string format_stop_timing(const std::vector<StopLine>& lines, const std::string& indent);

}  // namespace stockade::enforce
