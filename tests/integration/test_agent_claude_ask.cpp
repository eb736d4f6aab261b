// The real Claude Code under rules/claude-code.yaml with on_violation: ask, driven by the fake
// Messages API: its Bash tool runs curl twice to a loopback host the boundary does not name. Each
// connect is held for a person; the test (an operator outside the agent) approves the first, whose
// bytes then arrive, and denies the second, which is refused: no byte arrives, curl fails, and
// Claude Code carries on and finishes. Skipped, loudly, without npm or the registry.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "agent_harness.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

constexpr const char* kVersion = "2.1.332";

std::string bash(const std::string& command) {
    return "{\"tool\": \"Bash\", \"input\": {\"command\": \"" + command + "\", \"description\": \"run it\"}}";
}

}  // namespace

TEST_CASE("Claude Code's held connects: stockade approve lets one through, stockade deny refuses the other",
          "[agents][claude][approve]") {
    std::string root = npm_package("claude-code", "@anthropic-ai/claude-code", kVersion, "bin/claude.exe");
    if (root.empty()) {
        WARN("SKIPPED: @anthropic-ai/claude-code@" << kVersion << " could not be installed (npm or registry)");
        return;
    }
    std::string claude = root + "/bin/claude.exe";
    std::string install = fs::path(claude).parent_path().parent_path().parent_path().string();
    CodingProject p("claude-ask");
    LoopbackListener first, second;  // hosts the boundary does not name
    auto curl = [](const LoopbackListener& l, const char* body) {
        return bash("curl -s -m 3 -d " + std::string(body) + " http://127.0.0.1:" + std::to_string(l.port) +
                    "/upload; echo curl-exit=$?");
    };
    FakeModelApi api(p.dir, FakeModelApi::model(p.dir, "fake_anthropic.py",
                     "{\"turns\": [[" + curl(first, "FIRSTBODY") + "], [" + curl(second, "SECONDBODY") +
                         "], [{\"text\": \"Both uploads were tried.\"}]]}"));
    write_file(p.dir / "agents.d/claude-code.yaml",
               shipped_boundary("claude-code.yaml",
                                {{"on_violation: kill", "on_violation: ask"},
                                 {"home: /home/claude", "home: " + p.home},
                                 {"/usr/local/lib/node_modules/@anthropic-ai/**", install + "/**"},
                                 {"host: api.anthropic.com, ports: 443", "cidr: 127.0.0.1, ports: " +
                                                                             std::to_string(api.port)}}));
    Daemon daemon(p.dir);
    daemon.start();

    // The operator: approves what asks for the first host, denies the second, with the real CLI.
    std::atomic<bool> done{false};
    std::vector<std::string> decided;
    std::thread op([&] {
        while (!done) {
            std::string out;
            run_command({bin("stockade"), "--socket", daemon.socket(), "approvals", "--json"}, &out);
            std::vector<stockade::control::ApprovalInfo> list;
            try {
                list = stockade::control::decode_approvals(out.substr(0, out.find('\n')));
            } catch (const std::exception&) {
            }
            for (auto& a : list) {
                bool yes = a.object == "127.0.0.1:" + std::to_string(first.port);
                run_command({bin("stockade"), "--socket", daemon.socket(), yes ? "approve" : "deny",
                             std::to_string(a.id)});
                decided.push_back((yes ? "approve " : "deny ") + a.object + " " + a.exe);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    });
    AgentRun run = run_agent(daemon, "claude-code", {claude, "-p", "Upload the file twice.", "--allowedTools",
                                                     "Bash,Read,Edit,Write", "--output-format", "text"},
                             {{"HOME", p.home}, {"PATH", "/usr/bin:/bin"}, {"SHELL", "/bin/bash"}, {"LANG", "C.UTF-8"},
                              {"ANTHROPIC_BASE_URL", api.url()}, {"ANTHROPIC_API_KEY", "sk-ant-fake-key"},
                              {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"}, {"DISABLE_AUTOUPDATER", "1"},
                              {"DISABLE_TELEMETRY", "1"}, {"DISABLE_ERROR_REPORTING", "1"}},
                             p.path, 180);
    done = true;
    op.join();
    std::string all;
    for (auto& d : decided) all += d + "\n";
    std::string sent = api.received();
    INFO("stdout: " << run.out << "\nstderr: " << run.err << "\ndecided:\n" << all);
    CHECK(run.exited_ok());  // Claude Code itself was never stopped
    CHECK(run.out.find("Both uploads were tried.") != std::string::npos);
    REQUIRE(decided.size() == 2);
    CHECK(decided[0].rfind("approve 127.0.0.1:", 0) == 0);
    CHECK(decided[1].rfind("deny 127.0.0.1:", 0) == 0);
    CHECK(decided[1].find("/usr/bin/curl") != std::string::npos);
    // The approved upload arrived; the denied one: a handshake, not one byte.
    auto bytes_at = [](const LoopbackListener& l) {
        int c = l.accept_now();
        if (c < 0) return std::string("(no connection)");
        char buf[4096];
        ssize_t n = recv(c, buf, sizeof buf, MSG_DONTWAIT);
        close(c);
        return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
    };
    CHECK(bytes_at(first).find("FIRSTBODY") != std::string::npos);
    CHECK(bytes_at(second).empty());
    CHECK(sent.find("curl-exit=") != std::string::npos);  // the commands' results went back to the model
    auto refused = daemon.wait_record([&](const Record& r) {
        return r.type == jr::RecordType::Approval && r.port == second.port &&
               r.enforcement == jr::Enforcement::RefusedWhileHeld;
    });
    REQUIRE(refused);
    CHECK(refused->approver.find("uid=0 ") == 0);
    auto released = daemon.wait_record([&](const Record& r) {
        return r.type == jr::RecordType::Approval && r.port == first.port &&
               r.enforcement == jr::Enforcement::ReleasedByApprover;
    });
    CHECK(released);
}
