// Loading a boundary written in a test: one helper for every stage's tests (policy, enforce,
// judge). Fails the test, printing the diagnostics with their locations, when it does not load.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "policy/policy.hpp"

namespace stockade::test {

inline std::shared_ptr<const policy::PolicySet> load_ok(const std::string& yaml, const std::string& file = "t.yaml") {
    auto res = policy::load_boundary_text(file, yaml);
    INFO(policy::format_diagnostics(res.diagnostics));
    REQUIRE(res.ok());
    REQUIRE(res.set);
    return res.set;
}

}  // namespace stockade::test
