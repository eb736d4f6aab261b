// One answer to "what does a violation of this boundary become", used by every judgement.
#include <catch2/catch.hpp>

#include "policy/policy.hpp"

using namespace stockade;
using namespace stockade::policy;

TEST_CASE("violation_for: monitor would-deny whatever on_violation says; flag flags; else kill", "[policy]") {
    Boundary b;
    b.mode = Mode::Monitor;
    for (auto ov : {OnViolation::Flag, OnViolation::KillProcess, OnViolation::KillAgent}) {
        b.on_violation = ov;
        CHECK(violation_for(b) == Decision::WouldDeny);
    }
    b.mode = Mode::Enforce;
    b.on_violation = OnViolation::Flag;
    CHECK(violation_for(b) == Decision::Flag);
    b.on_violation = OnViolation::KillProcess;
    CHECK(violation_for(b) == Decision::Kill);
    b.on_violation = OnViolation::KillAgent;
    CHECK(violation_for(b) == Decision::Kill);
}

TEST_CASE("decide_http, decide_tool and decide() agree with violation_for", "[policy]") {
    for (auto [mode, ov] : {std::pair{"monitor", "kill"}, std::pair{"enforce", "flag"}, std::pair{"enforce", "kill-agent"}}) {
        std::string yaml = std::string("agent: a\nmode: ") + mode + "\non_violation: " + ov +
                           "\nmatch: { cgroup: /x }\nfiles:\n  never: [\"/nonexistent-stockade/s/**\"]\n"
                           "tools:\n  mcp:\n    - allow: [echo]\n  http:\n    - host: h.example\n      allow: [\"GET /ok\"]\n";
        auto res = load_boundary_text("a.yaml", yaml);
        INFO(format_diagnostics(res.diagnostics));
        REQUIRE(res.ok());
        const Boundary& b = *res.set->find("a");
        Event e;
        e.action = Action::Open;
        e.access = kRead;
        e.path = "/nonexistent-stockade/s/key";
        CHECK(decide(b, e).decision == violation_for(b));
        CHECK(decide_tool(b, "srv", "rm_rf").decision == violation_for(b));
        CHECK(decide_http(b, "h.example", "POST", "/ok").decision == violation_for(b));
    }
}
