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
    CHECK(r.type == journal::RecordType::Tool);
    CHECK(r.tool == "delete_files");
    CHECK(r.path.empty());
    CHECK(r.protocol == "stdio");
    CHECK(r.request_id == "1");
    CHECK(r.args_digest.size() == 64);
    CHECK(r.server.find("(pid " + std::to_string(kServer) + ")") != std::string::npos);
    CHECK(r.verdict == journal::Verdict::Kill);
    CHECK(r.rule == "coder.yaml:fs");
    CHECK(r.enforcement ==
          journal::Enforcements{journal::Enforcement::ServerKilledByDaemon, journal::Enforcement::KilledByDaemon});
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
    CHECK(h.journal[0].enforcement ==
          journal::Enforcements{journal::Enforcement::ServerStoppedInKernel, journal::Enforcement::KilledByDaemon});
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
    for (auto& r : h.journal)
        one_by_one += r.type == journal::RecordType::Tool && r.verdict == journal::Verdict::WouldDeny;
    CHECK(one_by_one == 20);
    CHECK(h.kills.empty());
    h.pipe.flush_summaries();
    REQUIRE_FALSE(h.journal.empty());
    CHECK(h.journal.back().type == journal::RecordType::Repeat);
    CHECK(h.journal.back().count == 10);
    CHECK(h.journal.back().tool == "delete_files");
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
    CHECK(r.verdict == journal::Verdict::Allow);
    CHECK(r.rule == "coder.yaml:fs");
    CHECK(r.tool == "read_file");
    CHECK(r.request_id == "3");
    CHECK(r.result == -1);
    CHECK(r.latency_us == 2000);
    CHECK(r.outcome == "error -1: gone");
    CHECK(r.server.find("(pid " + std::to_string(kServer) + ")") != std::string::npos);
    CHECK(r.detail.empty());  // everything it says has a field of its own
    CHECK(h.kills.empty());
}

namespace {

// A Node MCP host: the server's stdio are socket pairs, each end its own inode. The client
// writes on kClientEnd, whose peer (what the server reads) is kServerEnd.
constexpr uint64_t kClientEnd = 71, kServerEnd = 72;

std::string node_boundary(const std::string& mode) {
    return "agent: coder\nmode: " + mode + "\non_violation: kill\nmatch:\n  cgroup: /stockade/coder\n"
           "exec:\n  allow: [ /usr/bin/node ]\n"
           "tools:\n  mcp:\n    - name: fs\n      server: \"*server-filesystem*\"\n"
           "      allow: [\"list_*\", \"read_*\"]\n      deny: [\"move_*\"]\n";  // a glob: the daemon's
}

void start_node_server(Harness& h) {
    Event ex = base_event(Action::Exec);
    ex.pid = ex.tid = kServer;
    ex.start_ns = kServerStart;
    ex.path = "/usr/bin/node";
    ex.argv = {"node", "/cache/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js", "/work"};
    h.pipe.on_event(ex);
    Event rd = server_read();
    rd.io_inode = kServerEnd;  // the server reads its own end
    h.pipe.on_event(rd);
}

Event socket_call(const std::string& tool, int id) {
    Event e = call(tool, id);
    e.io_inode = kClientEnd;
    e.io_peer_inode = kServerEnd;
    return e;
}

}  // namespace

TEST_CASE("a server on a socket pair (Node) is found by the peer's inode and matched by its glob", "[judge][mcp]") {
    Harness h(node_boundary("enforce"));
    start_node_server(h);
    h.pipe.on_event(socket_call("list_allowed_directories", 1));
    CHECK(h.kills.empty());  // allowed by the `server:` glob rule, not the default deny
    Event resp = write_by(kServer, kServerStart, R"({"jsonrpc":"2.0","id":1,"result":{"content":[]}})");
    resp.io_inode = 81;
    resp.io_peer_inode = 82;
    h.pipe.on_event(resp);
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].verdict == journal::Verdict::Allow);
    CHECK(h.journal[0].rule == "coder.yaml:fs");
    CHECK(h.journal[0].server.find("server-filesystem") != std::string::npos);

    h.pipe.on_event(socket_call("move_file", 2));
    REQUIRE(h.journal.size() == 2);
    CHECK(h.journal[1].verdict == journal::Verdict::Kill);
    CHECK(h.journal[1].detail.find("not seen yet") == std::string::npos);
    CHECK(h.journal[1].server.find("server-filesystem") != std::string::npos);
    REQUIRE(h.kills.size() >= 1);
    CHECK(h.kills[0].pid == kServer);  // the server about to read the call is stopped first
}

TEST_CASE("a tools/list answer written in several records is read whole", "[judge][mcp]") {
    Harness h(node_boundary("enforce"));
    start_node_server(h);
    h.pipe.on_event(socket_call("list_x", 1));
    Event list = write_by(kPid, kStart, R"({"jsonrpc":"2.0","id":5,"method":"tools/list"})");
    list.io_inode = kClientEnd;
    list.io_peer_inode = kServerEnd;
    h.pipe.on_event(list);
    std::string answer = R"({"jsonrpc":"2.0","id":5,"result":{"tools":[)";
    for (int i = 0; i < 40; ++i)
        answer += std::string(i ? "," : "") + R"({"name":"tool_)" + std::to_string(i) + R"(","description":")" +
                  std::string(300, 'd') + R"("})";
    answer += "]}}\n";
    REQUIRE(answer.size() > 12000);
    for (size_t off = 0; off < answer.size(); off += 2048) {  // as the kernel sends it: SK_IO_MAX each
        Event part = write_by(kServer, kServerStart, "");
        part.io_data = answer.substr(off, 2048);
        part.result = static_cast<int64_t>(answer.size());
        part.io_more = off > 0;
        part.io_offset = off;
        part.io_inode = 81;
        h.pipe.on_event(part);
    }
    bool offered = false;
    for (auto& r : h.journal) {
        CHECK(r.rule != "builtin:tools-truncated");
        offered = offered || (r.action == "tools/list" && r.detail.find("offers 40 tools") != std::string::npos);
    }
    CHECK(offered);
    CHECK(h.pipe.counters().at("coder").mcp_offered.counts.size() == 40);
}

TEST_CASE("a denied tool is counted as denied, not also as called", "[judge][mcp]") {
    Harness h(node_boundary("monitor"));
    start_node_server(h);
    h.pipe.on_event(socket_call("move_file", 9));
    Event resp = write_by(kServer, kServerStart, R"({"jsonrpc":"2.0","id":9,"result":{"content":[]}})");
    resp.io_inode = 81;
    h.pipe.on_event(resp);
    auto& c = h.pipe.counters().at("coder");
    CHECK_FALSE(c.mcp_denied.counts.empty());
    CHECK(c.mcp_called.counts.empty());
}
