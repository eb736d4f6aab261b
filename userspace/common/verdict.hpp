// What the policy stage decides about one attributed event.
#pragma once

#include <string>
#include <string_view>

namespace stockade {

enum class Decision : uint8_t {
    Allow,      // inside the boundary
    Flag,       // outside, the boundary says only report it
    Deny,       // outside, refused (kernel deny) in enforce mode
    Kill,       // outside, process or agent killed in enforce mode
    WouldDeny,  // outside, but the agent is in monitor mode: what enforce would have done
};
std::string_view to_string(Decision d);

// What the boundary asks for when an action falls outside it. Ask: an action outside the allow
// lists (the default deny) of an enforce agent is held until an operator approves or denies it
// (judge/approvals.hpp); explicit deny rules still kill. Refuse: refused where the kernel can
// (EPERM at connect/sendmsg, a held connect's socket shut down), killed where it cannot.
enum class OnViolation : uint8_t { Flag, KillProcess, KillAgent, Ask, Refuse };
std::string_view to_string(OnViolation v);

enum class Mode : uint8_t { Monitor, Enforce };
std::string_view to_string(Mode m);

struct Verdict {
    Decision decision = Decision::Allow;
    std::string rule_id;   // e.g. "coder.yaml:files.never[0]", "coder.yaml:default-deny"
    std::string resolved;  // how the rule resolved: "matched /repo/** (files.write[0])"
    OnViolation on_violation = OnViolation::Flag;
    bool inside() const { return decision == Decision::Allow; }
};

}  // namespace stockade
