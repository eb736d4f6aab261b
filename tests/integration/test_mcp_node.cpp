// MCP hosts written in Node, under an enforcing boundary: Node gives a server its stdio as unix
// socket pairs (each end its own inode), and the reference filesystem server answers tools/list
// with ~13 KB in one write. The servers are found by their `server:` glob (both framings), every
// offered tool is read, and a denied call is stopped before it runs. The filesystem server and
// the SDK come from the npm registry, installed once into the build tree (skipped without it).
#include <catch2/catch.hpp>

#include "agent_harness.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

const std::string kMcpDir = std::string(STOCKADE_SOURCE_DIR) + "/tests/integration/mcp";

// The npm packages, installed once under the build tree (pinned versions); "" when npm or the
// registry cannot be reached.
std::string npm_cache() {
    std::string dir = std::string(STOCKADE_BINARY_DIR) + "/npm-cache";
    std::string server = dir + "/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js";
    std::string sdk = dir + "/node_modules/@modelcontextprotocol/sdk/package.json";
    if (fs::exists(server) && fs::exists(sdk)) return dir;
    if (!fs::exists("/usr/bin/npm") || !fs::exists("/usr/bin/node")) return "";
    std::string out;
    int st = run_command({"/usr/bin/npm", "install", "--no-audit", "--no-fund", "--prefix", dir,
                          "@modelcontextprotocol/server-filesystem@2026.8.31", "@modelcontextprotocol/sdk@1.32.2"},
                         &out, 300000);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !fs::exists(server) || !fs::exists(sdk)) {
        WARN("npm install failed (registry unreachable?): " << out.substr(0, 400));
        return "";
    }
    return dir;
}

std::string dump(const Daemon& daemon) {
    std::string s;
    for (auto& r : daemon.records())
        if (r.verdict != jr::Verdict::None)
            s += std::string(jr::to_string(r.type)) + " " + r.action + " " + r.path + r.tool + " " +
                 std::string(jr::to_string(r.verdict)) + " " + r.rule + " [" +
                 std::string(jr::to_string(r.enforcement)) + "] " + r.detail.substr(0, 160) + "\n";
    return s;
}

size_t kills(const Daemon& daemon) {
    size_t n = 0;
    for (auto& r : daemon.records()) n += r.verdict == jr::Verdict::Kill;
    return n;
}

}  // namespace

TEST_CASE("a Node host's server on socket pairs is found by its server glob, in both framings", "[tools][node]") {
    if (!fs::exists("/usr/bin/node")) {
        WARN("SKIPPED: no /usr/bin/node");
        return;
    }
    ScratchDir d("mcpnode");
    fs::create_directories(d / "markers");
    write_file(d / "agents.d/n.yaml",
               "agent: nodehost\nmode: enforce\nmatch:\n  cgroup: /stockade-it-unused-nodehost\n"
               "files:\n  read: [\"" + kMcpDir + "/**\"]\n  write: [\"" + d / "markers/**" + "\"]\n"
               "  create: [\"" + d / "markers/**" + "\"]\nexec:\n  allow: [/usr/bin/node, /usr/bin/python3*]\n"
               "tools:\n  mcp:\n    - name: test-server\n      server: \"*server.py*\"\n      allow: [echo]\n"
               "      deny: [delete_all]\n");
    Daemon daemon(d);
    daemon.start();
    // Two allowed calls, the second Content-Length framed: no kill at all.
    std::string out;
    int st = daemon.run_as("nodehost", {"/usr/bin/node", kMcpDir + "/node_host.js", d / "markers", "echo", "echo"}, &out);
    INFO(out << dump(daemon));
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    CHECK(out.find("echo ok") != std::string::npos);
    CHECK(fs::exists(d / "markers/echo"));
    auto allowed =
        daemon.wait_record([](const Record& r) { return r.type == jr::RecordType::Tool && r.tool == "echo"; });
    REQUIRE(allowed);
    CHECK(allowed->verdict == jr::Verdict::Allow);
    CHECK(allowed->rule == "n.yaml:test-server");  // the server glob matched, not the default deny
    CHECK(allowed->server.find("server.py") != std::string::npos);
    auto framed = daemon.wait_record(
        [](const Record& r) { return r.type == jr::RecordType::Tool && r.tool == "echo" && r.request_id == "11"; });
    REQUIRE(framed);
    CHECK(framed->rule == "n.yaml:test-server");
    CHECK(kills(daemon) == 0);

    // A denied call (framed): the server dies at the read that delivers it; it never runs.
    daemon.run_as("nodehost", {"/usr/bin/node", kMcpDir + "/node_host.js", d / "markers", "echo", "delete_all"}, &out);
    INFO(out << dump(daemon));
    CHECK_FALSE(fs::exists(d / "markers/delete_all"));
    auto caller = daemon.wait_record([](const Record& r) {
        return r.type == jr::RecordType::Tool && r.tool == "delete_all" &&
               r.enforcement != jr::Enforcement::ServerKilledInKernel;
    });
    REQUIRE(caller);
    CHECK(caller->verdict == jr::Verdict::Kill);
    CHECK(caller->server.find("server.py") != std::string::npos);
    CHECK(caller->detail.find("not seen yet") == std::string::npos);
}

TEST_CASE("the reference filesystem server under the real SDK and rules/mcp-filesystem.yaml: glob matched, 13 KB "
          "tools/list read",
          "[tools][node]") {
    std::string cache = npm_cache();
    if (cache.empty()) {
        WARN("SKIPPED: the npm packages could not be installed (npm or the registry unreachable)");
        return;
    }
    ScratchDir d("mcpfs");
    fs::create_directories(d / "work");
    write_file(d / "work/notes.txt", "hello from the work dir\n");
    fs::copy_file(kMcpDir + "/fs_host.mjs", cache + "/fs_host.mjs", fs::copy_options::overwrite_existing);
    std::string server = cache + "/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js";
    // The shipped boundary, with the test's home and npm directory.
    write_file(d / "agents.d/mcp-filesystem.yaml",
               shipped_boundary("mcp-filesystem.yaml", {{"home: /srv/agents/mcp", "home: " + d.path.string()},
                                                        {"/usr/local/lib/node_modules/**", cache + "/**"}}));
    Daemon daemon(d);
    daemon.start();
    std::string out;
    std::string read_args = "read_text_file={\"path\":\"" + d / "work/notes.txt" + "\"}";
    int st = daemon.run_as("mcp-filesystem", {"/usr/bin/node", cache + "/fs_host.mjs", server, d / "work",
                                      "list_allowed_directories", read_args},
                           &out);
    INFO(out << dump(daemon));
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    CHECK(out.find("read_text_file ok") != std::string::npos);
    CHECK(kills(daemon) == 0);  // the clean run: nothing stopped, nothing flagged
    INFO(describe(violations(daemon, "mcp-filesystem")));
    CHECK(violations(daemon, "mcp-filesystem").empty());
    auto first = daemon.wait_record(
        [](const Record& r) { return r.type == jr::RecordType::Tool && r.tool == "list_allowed_directories"; });
    REQUIRE(first);
    CHECK(first->verdict == jr::Verdict::Allow);
    CHECK(first->rule == "mcp-filesystem.yaml:fs");
    CHECK(first->server.find("server-filesystem") != std::string::npos);
    // Every offered tool was read from the (~13 KB) answer, none of it cut.
    size_t at = out.find("offered ");
    REQUIRE(at != std::string::npos);
    int offered = std::stoi(out.substr(at + 8));
    CHECK(offered >= 10);
    auto list =
        daemon.wait_record([](const Record& r) { return r.type == jr::RecordType::Tool && r.action == "tools/list"; });
    REQUIRE(list);
    CHECK(list->detail.find("offers " + std::to_string(offered) + " tools") != std::string::npos);
    for (auto& r : daemon.records()) CHECK(r.rule != "builtin:tools-truncated");
    run_command({bin("stockade"), "--socket", daemon.socket(), "--journal", daemon.journal(), "agents", "show", "mcp-filesystem"},
                &out);
    INFO(out);
    CHECK(out.find(": read_text_file") != std::string::npos);
    CHECK(out.find(": move_file") != std::string::npos);  // offered, though never callable

    // move_file is denied: stopped before the file moves (zero harm), listed as denied only.
    std::string move = "move_file={\"source\":\"" + d / "work/notes.txt" + "\",\"destination\":\"" + d / "work/moved.txt" +
                       "\"}";
    daemon.run_as("mcp-filesystem", {"/usr/bin/node", cache + "/fs_host.mjs", server, d / "work", move}, &out);
    INFO(out << dump(daemon));
    CHECK(fs::exists(d / "work/notes.txt"));
    CHECK_FALSE(fs::exists(d / "work/moved.txt"));
    auto denied = daemon.wait_record([](const Record& r) {
        return r.type == jr::RecordType::Tool && r.tool == "move_file" &&
               r.enforcement != jr::Enforcement::ServerKilledInKernel;
    });
    REQUIRE(denied);
    CHECK(denied->verdict == jr::Verdict::Kill);
    CHECK(denied->rule == "mcp-filesystem.yaml:fs");
    run_command({bin("stockade"), "--socket", daemon.socket(), "--journal", daemon.journal(), "agents", "show", "mcp-filesystem"},
                &out);
    INFO(out);
    size_t called = out.find("MCP tools called");
    size_t refused = out.find("MCP tools denied");
    REQUIRE(called != std::string::npos);
    REQUIRE(refused > called);
    CHECK(out.substr(called, refused - called).find("move_file") == std::string::npos);
    CHECK(out.substr(refused).find(": move_file") != std::string::npos);
}
