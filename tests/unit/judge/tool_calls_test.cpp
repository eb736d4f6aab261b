// MCP tool calls over stdio through the judge: a denied call stops the server about to read it
// and then the caller (through the same conclusion as every other violation), a call the kernel
// refuses at the server's read is not killed twice, repeats are limited, and an allowed call is
// journaled with its response.
#include "harness.hpp"

namespace {

constexpr uint32_t kServer = 4'600'002;
constexpr uint64_t kServerStart = 8 * kSec;
constexpr uint64_t kPipe = 55;

std::string mcp_boundary(const std::string& mode) {
    return boundary_yaml(mode, "kill", "summary") +
           "tools:\n  mcp:\n    - name: fs\n      allow: [\"read_*\"]\n      deny: [\"delete_*\", drop_db]\n";
}

// The server reading the pipe: what tells the judge who will run a call written to it.
Event server_read() {
    Event e = base_event(Action::Io);
    e.pid = e.tid = kServer;
    e.start_ns = kServerStart;
    e.io_inode = kPipe;
    e.io_write = false;
    return e;
}

Event write_by(uint32_t pid, uint64_t start, const std::string& json) {
    Event e = base_event(Action::Io);
    e.pid = e.tid = pid;
    e.start_ns = start;
    e.io_inode = kPipe;
    e.io_write = true;
    e.io_data = json + "\n";
    e.result = static_cast<int64_t>(e.io_data.size());
    return e;
}

Event call(const std::string& tool, int id) {
    return write_by(kPid, kStart, R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
                                      R"(,"method":"tools/call","params":{"name":")" + tool + R"(","arguments":{}}})");
}

}  // namespace

TEST_CASE("a denied tool call stops the server, then the caller, and measures the latency", "[judge][mcp]") {
    Harness h(mcp_boundary("enforce"));
    h.pipe.on_event(server_read());
    h.now_ns = 20 * kSec + 300'000;
    h.pipe.on_event(call("delete_files", 1));
    REQUIRE(h.journal.size() == 1);
    const journal::Record& r = h.journal[0];
    CHECK(r.type == "tool");
    CHECK(r.path == "delete_files");
    CHECK(r.verdict == "kill");
    CHECK(r.rule == "coder.yaml:fs");
    CHECK(r.enforcement == "server-killed-by-daemon, killed-by-daemon");
    CHECK(r.latency_us == 300);
    REQUIRE(h.kills.size() == 2);
    CHECK(h.kills[0].pid == kServer);
    CHECK(h.kills[0].start_ns == kServerStart);
    CHECK(h.kills[1].pid == kPid);
    auto& c = h.pipe.counters().at("coder");
    CHECK(c.violations == 1);
    CHECK(c.kills == 1);
}

TEST_CASE("a tool the kernel refuses at the server's read: only the caller is killed by the daemon", "[judge][mcp]") {
    Harness h(mcp_boundary("enforce"));
    h.pipe.on_event(server_read());
    h.pipe.on_event(call("drop_db", 2));
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].enforcement == "server-stopped-in-kernel, killed-by-daemon");
    REQUIRE(h.kills.size() == 1);
    CHECK(h.kills[0].pid == kPid);
}

TEST_CASE("a tool call one process repeats goes through the repeat limit", "[judge][mcp]") {
    Harness h(mcp_boundary("monitor"));
    h.pipe.on_event(server_read());
    for (int i = 0; i < 30; ++i) {
        Event e = call("delete_files", 100 + i);
        e.ktime_ns = 20 * kSec + i * 1'000'000ull;
        h.pipe.on_event(e);
    }
    size_t one_by_one = 0;
    for (auto& r : h.journal) one_by_one += r.type == "tool" && r.verdict == "would-deny";
    CHECK(one_by_one == 20);
    CHECK(h.kills.empty());
    h.pipe.flush_summaries();
    REQUIRE_FALSE(h.journal.empty());
    CHECK(h.journal.back().type == "repeat");
    CHECK(h.journal.back().count == 10);
    CHECK(h.journal.back().path == "delete_files");
}

TEST_CASE("an allowed tool call is journaled when its response arrives, with the outcome", "[judge][mcp]") {
    Harness h(mcp_boundary("enforce"));
    h.pipe.on_event(server_read());
    h.pipe.on_event(call("read_file", 3));
    CHECK(h.journal.empty());
    Event resp = write_by(kServer, kServerStart, R"({"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"gone"}})");
    resp.ktime_ns = 20 * kSec + 2'000'000;
    h.pipe.on_event(resp);
    REQUIRE(h.journal.size() == 1);
    const journal::Record& r = h.journal[0];
    CHECK(r.verdict == "allow");
    CHECK(r.rule == "coder.yaml:fs");
    CHECK(r.path == "read_file");
    CHECK(r.result == -1);
    CHECK(r.latency_us == 2000);
    CHECK(r.detail.find("outcome: error -1: gone") != std::string::npos);
    CHECK(r.detail.find("(pid " + std::to_string(kServer) + ")") != std::string::npos);
    CHECK(h.kills.empty());
}
