// The verdict on one event already attributed to an agent. docs/boundary.md lists the
// precedence this implements.
#pragma once

#include "common/event.hpp"
#include "common/verdict.hpp"
#include "policy/boundary.hpp"

namespace stockade::policy {

// Never throws. Outside the boundary the decision is WouldDeny in monitor mode, and in enforce
// mode Flag (on_violation: flag) or Kill (kill, kill-agent); decide() never returns Deny, which
// callers set when the kernel itself refused the operation.
Verdict decide(const Boundary& boundary, const Event& event);

}  // namespace stockade::policy
