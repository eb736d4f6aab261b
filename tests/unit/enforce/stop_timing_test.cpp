// stop_timing(): what `stockade check` and `stockade status` say about when a violation is
// stopped follows the boundary and its kernel plan, not a fixed text.
#include <catch2/catch.hpp>

#include "enforce/stop_timing.hpp"
#include "helpers.hpp"

using namespace stockade;
using namespace stockade::enforce;
using namespace stockade::enforce::test;

namespace {

struct Timing {
    std::shared_ptr<const policy::PolicySet> set;
    std::vector<StopLine> lines;
    const StopLine* find(const std::string& action) const {
        for (auto& l : lines)
            if (l.action == action) return &l;
        return nullptr;
    }
};

Timing timing_of(const std::string& yaml) {
    Timing t;
    t.set = load_ok(yaml);
    RuleNumbers rules;
    auto plan = plan_for(*t.set, rules);
    REQUIRE(plan.agents.size() >= 1);
    t.lines = stop_timing(*t.set->agents().front(), plan.agents.front());
    return t;
}

const std::string kHead = "agent: t\nmatch: { cgroup: /stockade/t }\nsystem_read: false\n";

}  // namespace

TEST_CASE("an enforce agent's exec and connect are stopped before they happen, opens at the exit", "[enforce][stops]") {
    TempDir d;
    d.write("bin/tool", "x");
    auto t = timing_of(kHead + "mode: enforce\nexec:\n  allow: [" + d / "bin/tool" + "]\nfiles:\n  read: [" +
                       d / "data/**" + "]\n");
    REQUIRE(t.find("exec"));
    CHECK(t.find("exec")->when == StopWhen::Before);
    CHECK(t.find("exec")->how.find("held") == std::string::npos);  // exact rule: the kernel alone
    REQUIRE(t.find("connect, sendto"));
    CHECK(t.find("connect, sendto")->when == StopWhen::Before);
    REQUIRE(t.find("file read"));
    CHECK(t.find("file read")->when == StopWhen::AtExit);
    CHECK_FALSE(t.find("file read")->launched.empty());  // Landlock changes it under stockade run
    REQUIRE(t.find("io_uring"));
    CHECK(t.find("io_uring")->when == StopWhen::AtExit);
    CHECK_FALSE(t.find("MCP tools/call"));  // no tools rules: nothing to say
    CHECK_FALSE(t.find("HTTPS request (OpenSSL)"));
}

TEST_CASE("a glob rule makes the daemon judge while the kernel holds", "[enforce][stops]") {
    auto t = timing_of(kHead + "mode: enforce\nexec:\n  allow: [\"/usr/bin/py*\"]\n");
    REQUIRE(t.find("exec"));
    CHECK(t.find("exec")->when == StopWhen::Before);
    CHECK(t.find("exec")->how.find("held") != std::string::npos);
}

TEST_CASE("tools rules add their own lines; io_uring allowed removes its line", "[enforce][stops]") {
    auto t = timing_of(kHead +
                       "mode: enforce\nio_uring: true\ntools:\n  mcp:\n    - { server: \"*\", deny: [delete_all] }\n"
                       "  http:\n    - { host: localhost, allow: [\"GET /a/**\"] }\n");
    REQUIRE(t.find("MCP tools/call"));
    CHECK(t.find("MCP tools/call")->when == StopWhen::Before);
    REQUIRE(t.find("HTTPS request (OpenSSL)"));
    CHECK(t.find("HTTPS request (OpenSSL)")->when == StopWhen::Before);
    REQUIRE(t.find("plaintext HTTP request"));
    CHECK(t.find("plaintext HTTP request")->when == StopWhen::AtExit);
    CHECK_FALSE(t.find("io_uring"));
    REQUIRE(t.find("HTTPS request (other TLS stacks)"));  // flag by default: journaled, not stopped
    CHECK(t.find("HTTPS request (other TLS stacks)")->when == StopWhen::After);
    auto deny = timing_of(kHead + "mode: enforce\ntools:\n  http:\n    - { host: localhost, allow: [\"GET /a/**\"] }\n"
                                  "  http_unseen_tls: deny\n");
    REQUIRE(deny.find("HTTPS request (other TLS stacks)"));
    CHECK(deny.find("HTTPS request (other TLS stacks)")->when == StopWhen::AtExit);
}

TEST_CASE("monitor mode and on_violation flag stop nothing", "[enforce][stops]") {
    for (std::string extra : {"mode: monitor\n", "mode: enforce\non_violation: flag\n"}) {
        auto t = timing_of(kHead + extra + "exec:\n  allow: [/usr/bin/true]\n");
        REQUIRE_FALSE(t.lines.empty());
        for (auto& l : t.lines) {
            INFO(extra << l.action);
            CHECK(l.when == StopWhen::After);
        }
    }
}

TEST_CASE("kill-agent says the rest of the agent dies at its next syscall", "[enforce][stops]") {
    auto t = timing_of(kHead + "mode: enforce\non_violation: kill-agent\n");
    REQUIRE(t.find("the rest of the agent"));
    CHECK(t.find("the rest of the agent")->when == StopWhen::AtExit);
    auto text = format_stop_timing(t.lines, "  ");
    CHECK(text.find("  exec") == std::string::npos);  // no exec rules: no exec line
    CHECK(text.find("  connect, sendto: before it happens") != std::string::npos);
}

TEST_CASE("on_violation: ask says what is held for a person, and that Landlock is not applied", "[enforce][stops]") {
    auto t = timing_of(kHead + "mode: enforce\non_violation: ask\nexec:\n  allow: [/usr/bin/true]\n");
    for (const char* action : {"exec", "file read", "connect, sendto"}) {
        INFO(action);
        REQUIRE(t.find(action));
        CHECK(t.find(action)->how.find("stockade approve") != std::string::npos);
        CHECK(t.find(action)->launched.empty());
    }
    CHECK(t.find("io_uring")->how.find("approve") == std::string::npos);  // not asked: killed as before
}
