// tools.mcp: which MCP tool calls an agent may make, per server.
#include <catch2/catch.hpp>

#include "policy/policy.hpp"

using namespace stockade;
using namespace stockade::policy;

namespace {

std::shared_ptr<const PolicySet> tools_set(const std::string& tools, const std::string& mode = "enforce") {
    auto res = load_boundary_text("t.yaml", "agent: a\nmode: " + mode + "\nmatch: { cgroup: /x }\n" + tools);
    INFO(format_diagnostics(res.diagnostics));
    REQUIRE(res.ok());
    return res.set;
}

}  // namespace

TEST_CASE("tool calls: deny beats allow, per server, every decision named", "[tools]") {
    auto set = tools_set("tools:\n  mcp:\n    - name: fs\n      server: \"*fs_server*\"\n      allow: [\"read_*\", search]\n"
                         "      deny: [read_secret]\n    - server: \"*git*\"\n      allow: [\"*\"]\n");
    const Boundary& b = *set->find("a");
    const std::string fs = "/usr/bin/python3 /opt/fs_server.py";
    auto ok = decide_tool(b, fs, "read_file");
    CHECK(ok.inside());
    CHECK(ok.rule_id == "t.yaml:fs");
    auto denied = decide_tool(b, fs, "read_secret");  // matches allow read_* too: deny wins
    CHECK(denied.decision == Decision::Kill);
    CHECK(denied.rule_id == "t.yaml:fs");
    CHECK(denied.resolved.find(".deny read_secret") != std::string::npos);
    auto unlisted = decide_tool(b, fs, "write_file");
    CHECK(unlisted.decision == Decision::Kill);
    CHECK(unlisted.resolved.find("no tools.mcp[0].allow") != std::string::npos);
    CHECK(decide_tool(b, "/usr/bin/git-mcp", "anything").inside());  // another server, its own rule
    auto unknown = decide_tool(b, "/usr/bin/other", "read_file");
    CHECK(unknown.decision == Decision::Kill);
    CHECK(unknown.rule_id == "t.yaml:tools-default-deny");
}

TEST_CASE("tool calls: monitor mode and boundaries without a tools section", "[tools]") {
    auto mon = tools_set("tools:\n  mcp:\n    - allow: [echo]\n", "monitor");
    auto v = decide_tool(*mon->find("a"), "", "rm_rf");
    CHECK(v.decision == Decision::WouldDeny);
    CHECK(v.rule_id == "t.yaml:tools.mcp[0]");
    auto none = tools_set("");
    auto n = decide_tool(*none->find("a"), "srv", "rm_rf");
    CHECK(n.inside());
    CHECK(n.rule_id == "builtin:tools-not-judged");
}

TEST_CASE("a tools section without allow or deny is an error with its location", "[tools]") {
    auto res = load_boundary_text("t.yaml", "agent: a\nmatch: { cgroup: /x }\ntools:\n  mcp:\n    - server: x\n");
    CHECK_FALSE(res.ok());
    CHECK(format_diagnostics(res.diagnostics).find("t.yaml:5:7: error: tools.mcp[0] needs allow: or deny:") !=
          std::string::npos);
}

TEST_CASE("arguments are journaled in full only for servers whose rule asks", "[tools]") {
    auto set = tools_set("tools:\n  mcp:\n    - server: \"*fs_server*\"\n      allow: [\"*\"]\n      arguments: full\n"
                         "    - server: \"*git*\"\n      allow: [\"*\"]\n");
    const Boundary& b = *set->find("a");
    CHECK(full_arguments(b, "/usr/bin/python3 /opt/fs_server.py"));
    CHECK_FALSE(full_arguments(b, "/usr/bin/git-mcp"));
    CHECK_FALSE(full_arguments(b, "other"));

    auto bad = load_boundary_text("t.yaml", "agent: a\nmatch: { cgroup: /x }\ntools:\n  mcp:\n    - allow: [x]\n"
                                            "      arguments: everything\n");
    REQUIRE_FALSE(bad.ok());
    std::string msg = format_diagnostics(bad.diagnostics);
    CHECK(msg.find("t.yaml:6:18") != std::string::npos);
    CHECK(msg.find("digest") != std::string::npos);
}
