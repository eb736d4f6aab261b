// A second, synchronous layer for agents started with `stockade run --landlock`: a Landlock
// ruleset derived from the boundary, applied to the launcher just before it execs the agent.
// Landlock can only allow (never deny inside an allowed tree), so the ruleset is the boundary's
// allow rules widened to directories: it refuses (EACCES) what is clearly outside, at the
// syscall, in any mode; the probes and the daemon still judge everything, `never` rules and
// globs included. With ABI >= 4 TCP connect/bind ports, with ABI >= 6 a signal scope (the agent
// cannot signal processes outside its domain, stockaded among them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policy/boundary.hpp"

namespace stockade::enforce {

struct LandlockPlan {
    int abi = 0;
    uint64_t handled_fs = 0;
    struct PathRule {
        std::string path;
        uint64_t access = 0;
    };
    std::vector<PathRule> paths;
    bool handle_connect = false, handle_bind = false;
    std::vector<uint16_t> connect_ports, bind_ports;
    bool scope_signal = false;
    std::vector<std::string> notes;  // what could not be expressed and was left wider
};

// Builds the plan for this kernel's Landlock ABI (0 = none: an empty plan).
LandlockPlan plan_landlock(const policy::Boundary& b, int abi);

// The plan as one line of JSON and back: the daemon plans from the boundary in force and
// `stockade run` builds the ruleset from it, so the launcher never depends on reading a boundary
// file that may have been moved, edited or made unreadable since it was loaded. decode_plan
// throws stockade::Error on a malformed document.
std::string encode_plan(const LandlockPlan& plan);
LandlockPlan decode_plan(const std::string& json);

// Restricts the calling process (and what it execs). Throws stockade::Error.
void apply_landlock(const LandlockPlan& plan);
// The same in two steps: the ruleset (it opens every path of the plan), then the restriction
// (which closes it). A launcher builds it before it joins the agent's scope, where its own opens
// would be the agent's.
int build_landlock_ruleset(const LandlockPlan& plan);
void restrict_to_ruleset(int ruleset_fd);

// The Landlock ABI version of this kernel, 0 if none.
int landlock_abi();

}  // namespace stockade::enforce
