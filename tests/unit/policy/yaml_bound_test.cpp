// A boundary file that makes yaml-cpp 0.7 loop (found by fuzzing) is an error, not a hang.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "helpers.hpp"
#include "policy/yaml_reader.hpp"

using namespace stockade::policy;

TEST_CASE("a malformed flow collection that makes yaml-cpp loop is a located error", "[load][yaml]") {
    std::ifstream in(std::string(STOCKADE_SOURCE_DIR) + "/tests/fuzz/regressions/boundary/yaml-cpp-flow-loop");
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    auto res = load_boundary_text("rules/loop.yaml", text.str());
    REQUIRE_FALSE(res.ok());
    REQUIRE_FALSE(res.diagnostics.empty());
    const Diagnostic& d = res.diagnostics.front();
    CHECK(d.line > 0);
    CHECK_THAT(d.str(), Catch::Matchers::StartsWith("rules/loop.yaml:"));
    CHECK_THAT(d.message, Catch::Matchers::Contains("was stopped"));
}

TEST_CASE("the parser's event bound leaves ordinary files alone", "[load][yaml]") {
    // Dense but valid: many tiny flow items per byte.
    std::string many = "agent: dense\nmatch: { unit: u }\nfiles:\n  read: [";
    for (int i = 0; i < 2000; ++i) many += (i ? ",/" : "/") + std::string(1, char('a' + i % 26));
    many += "]\n";
    auto res = load_boundary_text("dense.yaml", many);
    INFO(format_diagnostics(res.diagnostics));
    CHECK(res.ok());
    CHECK(load_all_bounded("[[],[],{},{a},[a,b,c]]").size() == 1);
}
