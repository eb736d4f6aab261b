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

// An MCP tools/call of `tool` on the server whose command line is `server`. With no tools.mcp
// rules the call is not judged (Allow, rule "builtin:tools-not-judged"). Otherwise rules whose
// server glob matches apply: a deny glob beats an allow glob; no allow match is a violation
// named after the (first) matching rule, or "<file>:tools-default-deny" when no rule's server
// matches.
Verdict decide_tool(const Boundary& boundary, const std::string& server, const std::string& tool);

}  // namespace stockade::policy
