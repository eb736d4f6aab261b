// Journals written before records were typed (fixtures/main-0214de6.jsonl: one record of every
// type and every enforcement main wrote at 0214de6, through its Writer) read back into the typed
// fields, serialise to the same bytes and verify. A record built with the typed fields serialises
// to exactly the line main wrote for it.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>

#include "common/error.hpp"
#include "helpers.hpp"
#include "journal/json.hpp"
#include "journal/verify.hpp"

using namespace stockade::journal;
using Catch::Matchers::Contains;

namespace {

const std::string kFixture =
    (std::filesystem::path(__FILE__).parent_path() / "fixtures" / "main-0214de6.jsonl").string();

std::vector<std::string> fixture_lines() {
    auto lines = jtest::lines_of(jtest::read_file(kFixture));
    REQUIRE(lines.size() == 35);
    return lines;
}

// The process context every fixture record was written with.
Record base(RecordType type) {
    Record r;
    r.type = type;
    r.time = "2026-11-30T23:00:00.000001Z";
    r.mono_ns = 1000;
    r.host = "h1";
    r.agent = "coder";
    r.task = "t-1";
    r.exec_id = "b00t:4242:77";
    r.pid = 4242;
    r.ppid = 1;
    r.uid = 1000;
    r.exe = "/usr/bin/python3";
    r.argv = {"python3", "-c", "x"};
    r.cgroup = "/stockade.slice/coder";
    return r;
}

// An allowed decision of a process whose context an earlier line holds (compact.hpp).
Record without_context(Record r) {
    r.ppid = r.uid = 0;
    r.exe.clear();
    r.argv.clear();
    r.cgroup.clear();
    return r;
}

Record decision(const char* action, Verdict v, Enforcements e = {}) {
    Record r = base(RecordType::Decision);
    r.action = action;
    r.verdict = v;
    r.enforcement = e;
    return r;
}

using E = Enforcement;

// The fixture's records by seq, built with the typed fields (tool records in the layout main
// wrote: the tool in path, "stdio" in address, the rest in detail).
std::map<uint64_t, Record> typed_records() {
    std::map<uint64_t, Record> m;
    Record r;
    r.type = RecordType::Daemon;
    r.time = "2026-11-30T23:00:00.000001Z";
    r.mono_ns = 1000;
    r.host = "h1";
    r.detail = "started (2 agents)";
    m[1] = r;
    r = decision("open", Verdict::Kill, E::KilledInKernel);
    r.access = "write", r.path = "/etc/passwd", r.result = -13, r.rule = "coder.yaml:files.never[0]";
    r.resolved = "matched /etc/**", r.latency_us = 0;
    m[2] = r;
    r = decision("connect", Verdict::Kill, {E::KilledInKernel, E::AgentKilledByDaemon});
    r.address = "127.0.0.1", r.port = 9, r.protocol = "tcp", r.rule = "coder.yaml:default-deny";
    r.latency_us = 12, r.held_us = 40;
    m[3] = r;
    r = without_context(decision("open", Verdict::Allow));
    r.access = "read", r.path = "/srv/a", r.rule = "coder.yaml:files.read[0]";
    m[4] = r;
    r = decision("unlink", Verdict::WouldDeny);
    r.path = "/srv/b", r.rule = "coder.yaml:default-deny";
    m[5] = r;
    r = decision("exec", Verdict::Kill, E::KillFailed);
    r.path = "/bin/sh", r.rule = "coder.yaml:exec.deny[0]", r.detail = "kill: Operation not permitted";
    r.latency_us = 300;
    m[6] = r;
    r = decision("exec", Verdict::Kill, {E::KilledByDaemon, E::ExitedBeforeKill});
    r.path = "/bin/ls", r.rule = "coder.yaml:exec.deny[0]", r.latency_us = 301;
    m[7] = r;
    r = base(RecordType::Approval);
    r.action = "connect", r.verdict = Verdict::Kill, r.enforcement = E::EndedWhileHeld, r.approval = 5;
    m[11] = r;
    r = base(RecordType::Tool);
    r.action = "tools/call", r.path = "write_file", r.address = "stdio", r.verdict = Verdict::Kill;
    r.rule = "coder.yaml:tools.mcp[1]", r.enforcement = {E::ServerKilledByDaemon, E::KilledByDaemon};
    r.latency_us = 150;
    r.detail =
        "server: /usr/bin/node server.js (pid 4300); id 7; arguments sha256 "
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    m[12] = r;
    r = base(RecordType::Label);
    r.action = "open", r.path = "/home/u/.ssh/id_rsa", r.verdict = Verdict::Allow;
    r.rule = "coder.yaml:sequences[0]", r.detail = "label secret";
    m[16] = r;
    r = base(RecordType::Repeat);
    r.action = "open", r.path = "/etc/shadow", r.verdict = Verdict::Flag, r.rule = "coder.yaml:files.never[1]";
    r.count = 400, r.detail = "400 more of this violation";
    m[17] = r;
    r = base(RecordType::Summary);
    r.action = "open", r.verdict = Verdict::Allow, r.count = 1234, r.detail = "open 1234";
    m[18] = r;
    r = base(RecordType::Lost);
    r.count = 17, r.detail = "17 kernel events lost";
    m[19] = r;
    r = base(RecordType::Grant);
    r.grant = "g-1", r.detail = "task begun";
    m[21] = r;
    r = base(RecordType::Llm);
    r.action = "POST", r.address = "https://api.anthropic.com", r.path = "/v1/messages", r.provider = "anthropic";
    r.model = "claude", r.tokens_in = 10, r.tokens_out = 20, r.prompt_sha256 = "ab";
    r.tool_uses = {{"toolu_1", "Bash", "cd", "ls"}};
    m[22] = r;
    r = base(RecordType::Tool);
    r.action = "tools/call", r.verdict = Verdict::Kill, r.enforcement = {E::ServerStoppedInKernel, E::KilledByDaemon};
    m[30] = r;
    r = decision("open", Verdict::Flag);
    r.path = "/old", r.rule = "old", r.full_form = true;  // a line from before compact records
    m[33] = r;
    r = base(RecordType::Torn);
    r.detail = "set aside 12 bytes";
    m[35] = r;
    return m;
}

}  // namespace

TEST_CASE("every line main wrote reads back and serialises to the same bytes", "[journal][compat]") {
    for (const std::string& line : fixture_lines()) {
        INFO(line);
        CHECK(to_json_line(from_json_line(line)) == line);
    }
}

TEST_CASE("a journal main wrote verifies", "[journal][compat]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    std::filesystem::copy_file(kFixture, path);
    VerifyResult res = verify(path);
    CHECK(res.ok);
    CHECK(res.records == 35);
    CHECK_FALSE(res.broken);
}

TEST_CASE("a record built with typed fields serialises to the line main wrote for it", "[journal][compat]") {
    auto lines = fixture_lines();
    for (auto& [seq, r] : typed_records()) {
        Record stored = from_json_line(lines[seq - 1]);
        r.seq = seq;
        r.prev = stored.prev;
        r.hash = stored.hash;
        INFO("seq " << seq);
        CHECK(to_json_line(r) == lines[seq - 1]);
    }
    // And one line written out in full, as the literal the comparison above reads from the fixture.
    CHECK(lines[1] ==
          R"j({"seq":2,"prev":"d2456df219ddded3bd8e4ccac46f350e844cb5d14a068038df216c3f2e3e2825",)j"
          R"j("hash":"9575d2a715cff2d1b6519d8e4cceb497534036d33e25c189cc0003f4e7db6273",)j"
          R"j("time":"2026-11-30T23:00:00.000001Z","mono_ns":1000,"host":"h1","agent":"coder","task":"t-1",)j"
          R"j("exec_id":"b00t:4242:77","pid":4242,"ppid":1,"uid":1000,"exe":"/usr/bin/python3",)j"
          R"j("argv":["python3","-c","x"],"cgroup":"/stockade.slice/coder","action":"open","access":"write",)j"
          R"j("path":"/etc/passwd","result":-13,"verdict":"kill","rule":"coder.yaml:files.never[0]",)j"
          R"j("resolved":"matched /etc/**","enforcement":"killed-in-kernel","latency_us":0})j");
}

TEST_CASE("old lines read into the typed fields", "[journal][compat]") {
    auto lines = fixture_lines();
    Record killed = from_json_line(lines[2]);
    CHECK(killed.type == RecordType::Decision);
    CHECK(killed.verdict == Verdict::Kill);
    CHECK(killed.enforcement == Enforcements{E::KilledInKernel, E::AgentKilledByDaemon});
    CHECK(killed.enforcement.has(E::AgentKilledByDaemon));
    // An old tool record keeps its old layout: the new tool fields are empty.
    Record tool = from_json_line(lines[11]);
    CHECK(tool.type == RecordType::Tool);
    CHECK(tool.path == "write_file");
    CHECK(tool.address == "stdio");
    CHECK(tool.tool.empty());
    CHECK(tool.server.empty());
    CHECK(tool.request_id.empty());
    Record full = from_json_line(lines[33]);  // full form, verdict ""
    CHECK(full.full_form);
    CHECK(full.verdict == Verdict::None);
    CHECK(full.enforcement.empty());
    // Every text of every list, once.
    for (auto v : {Verdict::Allow, Verdict::Flag, Verdict::Deny, Verdict::Kill, Verdict::WouldDeny, Verdict::Ask})
        CHECK(verdict_from(to_string(v)) == v);
    for (size_t i = 0; i <= size_t(RecordType::Approval); ++i)
        CHECK(record_type_from(to_string(RecordType(i))) == RecordType(i));
    for (size_t i = 1; i <= size_t(E::RefusedBeforeSyscall); ++i)
        CHECK(enforcements_from(to_string(E(i))) == Enforcements{E(i)});
}

TEST_CASE("a tool record's own fields are stored after the others, only when set", "[journal][json]") {
    Record r;
    r.type = RecordType::Tool;
    r.action = "tools/call";
    r.protocol = "stdio";
    r.verdict = Verdict::Allow;
    r.tool = "read_file";
    r.server = "/usr/bin/node server.js (pid 4300)";
    r.request_id = "\"a1\"";
    r.args_digest = "abc";
    r.outcome = "error -32602: bad";
    std::string line = to_json_line(r);
    CHECK(line == R"j({"seq":0,"prev":"","hash":"","type":"tool","action":"tools/call","protocol":"stdio",)j"
                  R"j("verdict":"allow","tool":"read_file","server":"/usr/bin/node server.js (pid 4300)",)j"
                  R"j("request_id":"\"a1\"","args_digest":"abc","outcome":"error -32602: bad"})j");
    Record back = from_json_line(line);
    CHECK(back.tool == r.tool);
    CHECK(back.server == r.server);
    CHECK(back.request_id == r.request_id);
    CHECK(back.args_digest == r.args_digest);
    CHECK(back.outcome == r.outcome);
}

TEST_CASE("a value no journal holds is an error naming the field and the value", "[journal][compat]") {
    auto lines = fixture_lines();
    auto with = [&](const std::string& from, const std::string& to) {
        std::string l = lines[1];
        size_t at = l.find(from);
        REQUIRE(at != std::string::npos);
        return l.replace(at, from.size(), to);
    };
    CHECK_THROWS_WITH(from_json_line(with(R"j("verdict":"kill")j", R"j("verdict":"zap")j")),
                      Contains("\"verdict\"") && Contains("\"zap\""));
    CHECK_THROWS_WITH(from_json_line(with(R"j("host":"h1")j", R"j("host":"h1","type":"decisions")j")),
                      Contains("\"type\"") && Contains("\"decisions\""));
    CHECK_THROWS_WITH(from_json_line(with("killed-in-kernel", "killed-in-kernel, zapped")),
                      Contains("\"enforcement\"") && Contains("zapped"));
    CHECK_THROWS_WITH(from_json_line(with("killed-in-kernel", "killed-in-kernel, ")), Contains("\"enforcement\""));
    CHECK_THROWS_AS(from_json_line(with(R"j("verdict":"kill")j", R"j("verdict":"Kill")j")), stockade::Error);
    // verify names the line.
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    lines[4] = with(R"j("verdict":"kill")j", R"j("verdict":"zap")j");
    jtest::write_file(path, jtest::join_lines(lines));
    VerifyResult res = verify(path);
    CHECK_FALSE(res.ok);
    REQUIRE(res.broken);
    CHECK(res.broken->line == 5);
    CHECK(res.broken->problem == Problem::Unparsable);
    CHECK_THAT(res.broken->why, Contains("zap"));
}
