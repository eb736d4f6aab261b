#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "journal/format.hpp"

using namespace stockade::journal;
using Catch::Matchers::Contains;

namespace {
Record sample(const std::string& verdict) {
    Record r = jtest::decision("claude", verdict, "/etc/shadow");
    r.time = "2026-11-25T09:24:10.123456Z";
    if (verdict == "deny") r.enforcement = Enforcement::DeniedInKernel;
    return r;
}
}  // namespace

TEST_CASE("format_text without color holds no escape codes", "[journal][format]") {
    for (const char* v : {"allow", "flag", "deny", "kill", "would-deny", ""}) {
        std::string line = format_text(sample(v), false);
        CHECK(line.find('\x1b') == std::string::npos);
        CHECK(line.find('\n') == std::string::npos);
    }
    std::string line = format_text(sample("deny"), false);
    CHECK_THAT(line, Contains("2026-11-25T09:24:10.123Z"));
    CHECK_THAT(line, Contains("claude"));
    CHECK_THAT(line, Contains("task-1"));
    CHECK_THAT(line, Contains("deny"));
    CHECK_THAT(line, Contains("open"));
    CHECK_THAT(line, Contains("/etc/shadow"));
    CHECK_THAT(line, Contains("fs.read"));
    CHECK_THAT(line, Contains("denied-in-kernel"));
}

TEST_CASE("format_text colours the verdict", "[journal][format]") {
    CHECK_THAT(format_text(sample("deny"), true), Contains("\x1b[31mdeny\x1b[0m"));
    CHECK_THAT(format_text(sample("kill"), true), Contains("\x1b[31mkill\x1b[0m"));
    CHECK_THAT(format_text(sample("flag"), true), Contains("\x1b[33mflag\x1b[0m"));
    CHECK_THAT(format_text(sample("would-deny"), true), Contains("\x1b[33mwould-deny\x1b[0m"));
    CHECK_THAT(format_text(sample("allow"), true), Contains("\x1b[32mallow\x1b[0m"));
}

TEST_CASE("format_text columns line up", "[journal][format]") {
    Record a = sample("allow"), b = sample("would-deny");
    b.agent = "x";
    b.action = "connect";
    std::string la = format_text(a, true), lb = format_text(b, true);
    // Strip colour: the same column starts at the same offset in both.
    auto plain_a = format_text(a, false), plain_b = format_text(b, false);
    CHECK(plain_a.find("fs.read") == plain_b.find("fs.read"));
    CHECK(la.size() - plain_a.size() == lb.size() - plain_b.size());  // colour adds a fixed size
}

TEST_CASE("format_text shows network objects and neutralises terminal control", "[journal][format]") {
    Record r = sample("deny");
    r.action = "connect";
    r.path = "";
    r.address = "2001:db8::1";
    r.port = 443;
    CHECK_THAT(format_text(r, false), Contains("[2001:db8::1]:443"));
    r.address = "10.0.0.1";
    CHECK_THAT(format_text(r, false), Contains("10.0.0.1:443"));

    Record evil = sample("deny");
    evil.path = "/tmp/\x1b[2J\x1b]0;pwned\x07\n\xc2\x9b" "31m\xe2\x80\xae" "fdp.exe";
    std::string line = format_text(evil, false);
    CHECK(line.find('\x1b') == std::string::npos);
    CHECK(line.find('\x07') == std::string::npos);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find("\xc2\x9b") == std::string::npos);
    CHECK_THAT(line, Contains("/tmp/\\x1b[2J\\x1b]0;pwned\\x07\\n\\u{009b}31m\\u{202e}fdp.exe"));
    CHECK(terminal_safe("caf\xc3\xa9 \xff") == "caf\xc3\xa9 \\xff");
}

TEST_CASE("format_text shows the type and detail of other records", "[journal][format]") {
    Record t;
    t.type = RecordType::Torn;
    t.detail = "set aside 12 bytes";
    std::string line = format_text(t, false);
    CHECK_THAT(line, Contains("torn"));
    CHECK_THAT(line, Contains("set aside 12 bytes"));
}

TEST_CASE("format_text names an MCP call by its tool and server", "[journal][format]") {
    Record r;
    r.type = RecordType::Tool;
    r.action = "tools/call";
    r.tool = "delete_all";
    r.server = "/usr/bin/node server.js (pid 7)";
    r.verdict = Verdict::Kill;
    r.enforcement = {Enforcement::ServerKilledByDaemon, Enforcement::KilledByDaemon};
    std::string line = format_text(r, false);
    CHECK_THAT(line, Contains("delete_all on /usr/bin/node server.js (pid 7)"));
    CHECK_THAT(line, Contains("server-killed-by-daemon, killed-by-daemon"));
    CHECK_THAT(line, Contains("tool "));  // the type stands for the action of records that are not decisions
}
