#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "journal/json.hpp"

using namespace stockade::journal;

namespace {

Record full_record() {
    Record r;
    r.seq = 18446744073709551615ull;
    r.prev = std::string(64, 'a');
    r.hash = std::string(64, 'b');
    r.time = "2026-11-25T09:24:10.123456Z";
    r.mono_ns = 123456789012345;
    r.host = "build-07";
    r.type = RecordType::Decision;
    r.agent = "claude \"the\" agent";
    r.task = "task\nwith newline\tand tab\r";
    r.grant = "grant-\\backslash\\";
    r.exec_id = "4f2a:1234:99";
    r.pid = 4294967295u;
    r.ppid = 1;
    r.uid = 1000;
    r.exe = "/usr/bin/python3";
    r.argv = {"python3", "-c", "print(\"hi\")\n", "", "ünïcødé ✓ 日本語 😀", "\x01\x1b[31m"};
    r.cgroup = "/user.slice/agent.scope";
    r.action = "rename";
    r.access = "read+write+create";
    r.path = "/home/u/\xc3\xa9t\xc3\xa9.txt";
    r.path2 = "/home/u/b\xff\xfe-invalid-utf8";
    r.address = "::1";
    r.port = 65535;
    r.protocol = "tcp";
    r.hostname = "example.org";
    r.result = -13;
    r.verdict = Verdict::Deny;
    r.rule = "net.egress";
    r.resolved = "deny by rule net.egress (line 12)";
    r.enforcement = Enforcement::DeniedInKernel;
    r.latency_us = -1;
    r.count = 7;
    r.detail = "some {\"json\": [1,2]} text";
    return r;
}

void require_equal(const Record& a, const Record& b) {
    CHECK(a.seq == b.seq);
    CHECK(a.prev == b.prev);
    CHECK(a.hash == b.hash);
    CHECK(a.time == b.time);
    CHECK(a.mono_ns == b.mono_ns);
    CHECK(a.host == b.host);
    CHECK(a.type == b.type);
    CHECK(a.agent == b.agent);
    CHECK(a.task == b.task);
    CHECK(a.grant == b.grant);
    CHECK(a.exec_id == b.exec_id);
    CHECK(a.pid == b.pid);
    CHECK(a.ppid == b.ppid);
    CHECK(a.uid == b.uid);
    CHECK(a.exe == b.exe);
    CHECK(a.argv == b.argv);
    CHECK(a.cgroup == b.cgroup);
    CHECK(a.action == b.action);
    CHECK(a.access == b.access);
    CHECK(a.path == b.path);
    CHECK(a.path2 == b.path2);
    CHECK(a.address == b.address);
    CHECK(a.port == b.port);
    CHECK(a.protocol == b.protocol);
    CHECK(a.hostname == b.hostname);
    CHECK(a.result == b.result);
    CHECK(a.verdict == b.verdict);
    CHECK(a.rule == b.rule);
    CHECK(a.resolved == b.resolved);
    CHECK(a.enforcement == b.enforcement);
    CHECK(a.latency_us == b.latency_us);
    CHECK(a.count == b.count);
    CHECK(a.detail == b.detail);
}

}  // namespace

TEST_CASE("a fully populated record round-trips through one JSON line", "[journal][json]") {
    Record r = full_record();
    std::string line = to_json_line(r);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find('\r') == std::string::npos);
    CHECK(line.front() == '{');
    CHECK(line.back() == '}');
    require_equal(from_json_line(line), r);
    // A trailing newline (as stored) is accepted, and serialising again is byte-identical.
    CHECK(to_json_line(from_json_line(line + "\n")) == line);
}

TEST_CASE("the JSON line is compact: fields at their default are left out, the rest in record.hpp order",
          "[journal][json]") {
    Record r;  // every field at its default: only the chain fields are written
    CHECK(to_json_line(r) == "{\"seq\":0,\"prev\":\"\",\"hash\":\"\"}");
    // The defaults the writer leaves out are Record's own: read back, the line is Record{}.
    Record back = from_json_line(to_json_line(r));
    require_equal(back, r);
    CHECK_FALSE(back.full_form);
    r.agent = " a  b ";  // spaces inside strings survive
    r.type = RecordType::Tool;
    r.latency_us = 0;  // not the default -1: written
    r.port = 443;
    CHECK(to_json_line(r) ==
          "{\"seq\":0,\"prev\":\"\",\"hash\":\"\",\"type\":\"tool\",\"agent\":\" a  b \",\"port\":443,\"latency_us\":0}");
    require_equal(from_json_line(to_json_line(r)), r);
}

TEST_CASE("a line in the full form (every field, as journals were written before) is written back in full",
          "[journal][json]") {
    Record r;
    r.full_form = true;
    std::string full = to_json_line(r);
    CHECK(full.rfind("{\"seq\":0,\"prev\":\"\",\"hash\":\"\",\"time\":\"\",", 0) == 0);
    CHECK(full.find("\"argv\":[]") != std::string::npos);
    CHECK(full.find("\"latency_us\":-1") != std::string::npos);
    CHECK(full.find("\"detail\":\"\"}") == full.size() - 12);
    Record back = from_json_line(full);
    CHECK(back.full_form);
    CHECK(to_json_line(back) == full);
    CHECK(to_json_line(back).size() > 300);  // all 33 fields are there
}

TEST_CASE("malformed lines throw stockade::Error naming the problem", "[journal][json]") {
    std::string line = to_json_line(full_record());
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(from_json_line(line.substr(0, line.size() / 2)), Contains("not valid JSON"));
    CHECK_THROWS_WITH(from_json_line(""), Contains("empty"));
    CHECK_THROWS_WITH(from_json_line("[1,2]"), Contains("not a JSON object"));
    CHECK_THROWS_WITH(from_json_line(line + "x"), Contains("not valid JSON"));

    // A field left out is its default; the line is then no longer in full form.
    std::string no_rule = line;
    no_rule.replace(no_rule.find("\"rule\":"), 7, "\"rulx\":");
    CHECK(from_json_line(no_rule).rule.empty());
    CHECK_FALSE(from_json_line(no_rule).full_form);

    std::string bad_type = line;
    bad_type.replace(bad_type.find("\"pid\":4294967295"), 16, "\"pid\":\"x\"");
    CHECK_THROWS_WITH(from_json_line(bad_type), Contains("\"pid\""));

    std::string bad_port = line;
    bad_port.replace(bad_port.find("\"port\":65535"), 12, "\"port\":65536");
    CHECK_THROWS_WITH(from_json_line(bad_port), Contains("out of range"));

    std::string negative_seq = line;
    negative_seq.replace(0, 27, "{\"seq\":-1");
    CHECK_THROWS_AS(from_json_line(negative_seq), stockade::Error);
}

TEST_CASE("held_us is stored only when set: lines written before it read back unchanged", "[journal][json]") {
    Record r;
    std::string old_line = to_json_line(r);
    CHECK(old_line.find("held_us") == std::string::npos);
    Record back = from_json_line(old_line);
    CHECK(back.held_us == -1);
    CHECK(to_json_line(back) == old_line);  // same canonical form, same hash
    r.held_us = 412;
    std::string line = to_json_line(r);
    CHECK(line.find(",\"held_us\":412}") == line.size() - 15);
    CHECK(from_json_line(line).held_us == 412);
}

TEST_CASE("container fields are stored only when set, after cgroup, in both forms", "[journal][json]") {
    Record r;
    r.agent = "coder";
    r.cgroup = "/libpod_parent/libpod-abc";
    std::string without = to_json_line(r);
    CHECK(without.find("container") == std::string::npos);
    r.container = std::string(64, 'a');
    r.container_name = "coder-1";
    r.container_image = "localhost/agent:1";
    std::string line = to_json_line(r);
    CHECK(line.find("\"cgroup\":\"/libpod_parent/libpod-abc\",\"container\":\"" + r.container +
                    "\",\"container_name\":\"coder-1\",\"container_image\":\"localhost/agent:1\"") != std::string::npos);
    Record back = from_json_line(line);
    CHECK(back.container == r.container);
    CHECK(back.container_name == "coder-1");
    CHECK(back.container_image == "localhost/agent:1");
    CHECK(to_json_line(back) == line);
    // The full form (journals written before compact records) has no container fields unless
    // set: an old full line still reads back as full and re-serialises byte for byte.
    Record old;
    old.full_form = true;
    std::string full = to_json_line(old);
    CHECK(full.find("container") == std::string::npos);
    CHECK(from_json_line(full).full_form);
    CHECK(to_json_line(from_json_line(full)) == full);
    old.container = r.container;
    std::string full_with = to_json_line(old);
    Record full_back = from_json_line(full_with);
    CHECK(full_back.full_form);
    CHECK(to_json_line(full_back) == full_with);
}
