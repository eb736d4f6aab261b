// Tool calls over stdio (MCP): a real client and server, both tracked, talking JSON-RPC over
// pipes; the journal holds each call with its tool, server, argument digest and outcome.
#include <catch2/catch.hpp>

#include "daemon_harness.hpp"

using namespace sktest;
using stockade::journal::Record;

TEST_CASE("MCP tool calls over stdio are journaled with tool, server, digest and outcome", "[tools]") {
    ScratchDir d("mcp");
    fs::create_directories(d / "markers");
    std::string mcp = mcp_dir();
    write_file(d / "agents.d/m.yaml",
               mcp_host_boundary(d, "mcpagent", "monitor"));
    Daemon daemon(d);
    daemon.start();
    std::string out;
    int st = daemon.run_as("mcpagent", {"/usr/bin/python3", "-I", mcp + "/client.py", d / "markers", "echo", "nosuch",
                                        "delete_all"},
                           &out);
    INFO(out);
    REQUIRE(WEXITSTATUS(st) == 0);
    CHECK(out.find("2 tools") != std::string::npos);
    CHECK(fs::exists(d / "markers/echo"));  // monitor mode: every call ran

    auto call = [&](const std::string& tool) {
        return daemon.wait_record([&](const Record& r) { return r.type == jr::RecordType::Tool && r.tool == tool; });
    };
    auto echo = call("echo");
    REQUIRE(echo);
    CHECK(echo->agent == "mcpagent");
    CHECK(echo->action == "tools/call");
    CHECK(echo->protocol == "stdio");
    CHECK(echo->path.empty());
    CHECK(echo->address.empty());
    CHECK(echo->server.find("server.py") != std::string::npos);  // the server's identity
    CHECK(echo->outcome == "result");
    CHECK(echo->args_digest.size() == 64);
    CHECK_FALSE(echo->request_id.empty());
    CHECK(echo->detail.find("secret-argument") == std::string::npos);  // a digest, never the arguments
    CHECK(echo->exe.find("python3") != std::string::npos);               // the caller
    auto bad = call("nosuch");
    REQUIRE(bad);
    CHECK(bad->outcome.rfind("error -32602", 0) == 0);
    auto framed = call("delete_all");  // Content-Length framed
    REQUIRE(framed);
    CHECK(framed->outcome == "result");
    auto listed =
        daemon.wait_record([](const Record& r) { return r.type == jr::RecordType::Tool && r.action == "tools/list"; });
    std::string tools_seen;
    for (auto& r : daemon.records())
        if (r.type == jr::RecordType::Tool) tools_seen += r.action + " " + r.tool + " | " + r.detail + "\n";
    INFO(tools_seen);
    REQUIRE(listed);
    CHECK(listed->detail.find("offers 2 tools") != std::string::npos);
    auto init =
        daemon.wait_record([](const Record& r) { return r.type == jr::RecordType::Tool && r.action == "initialize"; });
    CHECK(init);  // split across two writes, reassembled

    run_command({bin("stockade"), "--socket", daemon.socket(), "--journal", daemon.journal(), "agents", "show",
                 "mcpagent"},
                &out);
    CHECK(out.find("server.py") != std::string::npos);
    CHECK(out.find(": delete_all") != std::string::npos);
}

TEST_CASE("MCP tool calls are judged by the boundary's tools section", "[tools]") {
    ScratchDir d("mcpjudge");
    fs::create_directories(d / "markers");
    std::string mcp = mcp_dir();
    auto boundary = [&](const std::string& mode) {
        return mcp_host_boundary(d, "judged", mode) +
               "tools:\n  mcp:\n    - name: test-server\n      server: \"*server.py*\"\n      allow: [\"echo\"]\n"
               "      deny: [delete_all, \"drop_*\"]\n      arguments: full\n";
    };
    SECTION("monitor: both calls run, the denied one is journaled as would-deny") {
        write_file(d / "agents.d/j.yaml", boundary("monitor"));
        Daemon daemon(d);
        daemon.start();
        std::string out;
        daemon.run_as("judged", {"/usr/bin/python3", "-I", mcp + "/client.py", d / "markers", "echo", "delete_all"}, &out);
        CHECK(fs::exists(d / "markers/echo"));
        CHECK(fs::exists(d / "markers/delete_all"));
        auto denied = daemon.wait_record(
            [](const Record& r) { return r.type == jr::RecordType::Tool && r.tool == "delete_all"; });
        REQUIRE(denied);
        CHECK(denied->verdict == jr::Verdict::WouldDeny);
        CHECK(denied->rule == "j.yaml:test-server");
        CHECK(denied->detail.find("secret-argument") != std::string::npos);  // `arguments: full`
        auto allowed =
            daemon.wait_record([](const Record& r) { return r.type == jr::RecordType::Tool && r.tool == "echo"; });
        REQUIRE(allowed);
        CHECK(allowed->verdict == jr::Verdict::Allow);
        CHECK(allowed->rule == "j.yaml:test-server");
    }
    SECTION("enforce: the denied call never runs; the server dies at the read that delivers it") {
        write_file(d / "agents.d/j.yaml", boundary("enforce"));
        Daemon daemon(d);
        daemon.start();
        std::string out;
        daemon.run_as("judged", {"/usr/bin/python3", "-I", mcp + "/client.py", d / "markers", "echo", "delete_all",
                                 "echo"},
                      &out);
        INFO(out);
        CHECK(out.find("echo ok") != std::string::npos);
        CHECK(out.find("delete_all ok") == std::string::npos);
        CHECK(fs::exists(d / "markers/echo"));
        CHECK_FALSE(fs::exists(d / "markers/delete_all"));  // killed in the kernel before it ran
        auto server = daemon.wait_record([](const Record& r) {
            return r.type == jr::RecordType::Tool && r.enforcement == jr::Enforcement::ServerKilledInKernel;
        });
        REQUIRE(server);
        CHECK(server->tool == "delete_all");
        CHECK(server->server.find("server.py") != std::string::npos);
        CHECK(server->rule == "j.yaml:test-server");
        CHECK(server->argv.size() >= 2);
        CHECK(server->argv[2].find("server.py") != std::string::npos);
        auto caller = daemon.wait_record([](const Record& r) {
            return r.type == jr::RecordType::Tool && r.tool == "delete_all" &&
                   r.enforcement != jr::Enforcement::ServerKilledInKernel;
        });
        REQUIRE(caller);
        CHECK(caller->verdict == jr::Verdict::Kill);
        CHECK(caller->enforcement.has(jr::Enforcement::ServerStoppedInKernel));
    }
}
