#include "common/verdict.hpp"

namespace stockade {

std::string_view to_string(Decision d) {
    switch (d) {
    case Decision::Allow: return "allow";
    case Decision::Flag: return "flag";
    case Decision::Deny: return "deny";
    case Decision::Kill: return "kill";
    case Decision::WouldDeny: return "would-deny";
    }
    return "unknown";
}

std::string_view to_string(OnViolation v) {
    switch (v) {
    case OnViolation::Flag: return "flag";
    case OnViolation::KillProcess: return "kill";
    case OnViolation::KillAgent: return "kill-agent";
    case OnViolation::Ask: return "ask";
    case OnViolation::Refuse: return "refuse";
    }
    return "unknown";
}

std::string_view to_string(Mode m) { return m == Mode::Enforce ? "enforce" : "monitor"; }

}  // namespace stockade
