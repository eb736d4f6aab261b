// sequences[].through: what a sequence's label passes through besides fork (pipes, unix sockets,
// files), its default, and its errors with their locations.
#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace stockade::policy;
using namespace stockade::policy::test;

namespace {

const std::string kHead = "agent: a\nmatch: { cgroup: /x }\nsequences:\n  - name: s\n";  // lines 1-4
const std::string kSteps = "    after: { read: [ /srv/creds.txt ] }\n    forbid: { connect: any }\n";  // lines 5-6

uint32_t through_of(const std::string& extra) {
    auto res = load_boundary_text("s.yaml", kHead + kSteps + extra);
    INFO(format_diagnostics(res.diagnostics));
    REQUIRE(res.ok());
    return res.set->find("a")->sequences.at(0).through;
}

std::string errors_of(const std::string& text) {
    auto res = load_boundary_text("s.yaml", text);
    CHECK_FALSE(res.ok());
    return format_diagnostics(res.diagnostics);
}

}  // namespace

TEST_CASE("a sequence's label passes through pipes, sockets and files unless through: says less", "[sequences]") {
    CHECK(through_of("") == (SK_THROUGH_PIPE | SK_THROUGH_SOCKET | SK_THROUGH_FILE));  // the default
    CHECK(through_of("    through: [process]\n") == 0);                                // the process line only
    CHECK(through_of("    through: [process, pipe]\n") == SK_THROUGH_PIPE);
    CHECK(through_of("    through: [process, file, socket]\n") == (SK_THROUGH_FILE | SK_THROUGH_SOCKET));
    CHECK(through_of("    through: process\n") == 0);  // one word for a list of one
}

TEST_CASE("through: errors name the file, line and column", "[sequences][errors]") {
    std::string e = errors_of(kHead + kSteps + "    through: [process, fifo]\n");
    INFO(e);
    CHECK(e.find("s.yaml:7:24: error: sequences[0].through: \"fifo\" is not one of process, pipe, socket, file") !=
          std::string::npos);

    e = errors_of(kHead + kSteps + "    through: [pipe, file]\n");
    INFO(e);
    CHECK(e.find("s.yaml:7:14: error: sequences[0].through must list process") != std::string::npos);

    e = errors_of(kHead + "    count: { read: [\"**/*.pem\"], distinct: 2, within: 10s }\n    through: [process]\n");
    INFO(e);
    CHECK(e.find("s.yaml:6:5: error: sequences[0].through: a count sequence attaches no label to pass on") !=
          std::string::npos);

    e = errors_of(kHead + kSteps + "    through: [process, {pipe: 1}]\n");
    INFO(e);
    CHECK(e.find("s.yaml:7:24: error: sequences[0].through: \"\" is not one of") != std::string::npos);
}
