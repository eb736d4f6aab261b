// plan_landlock(): the boundary's allow rules become Landlock rules widened to what exists, with
// only the rights each rule grants; what Landlock cannot express is left wider and said so; the
// kernel's ABI decides which rights and which network/scope handling are asked for.
#include <linux/landlock.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "enforce/landlock.hpp"
#include "helpers.hpp"

using namespace stockade;
using namespace stockade::enforce;
using namespace stockade::enforce::test;

namespace {

// Debian 12's uapi header stops before ABI 3's truncate right; the kernel's value.
constexpr uint64_t kLandlockTruncate = 1ull << 14;

const LandlockPlan::PathRule* rule_for(const LandlockPlan& p, const std::string& path) {
    auto it = std::find_if(p.paths.begin(), p.paths.end(), [&](auto& r) { return r.path == path; });
    return it == p.paths.end() ? nullptr : &*it;
}

std::string boundary(const TempDir& d, const std::string& network = "") {
    return "agent: t\nmode: enforce\nsystem_read: false\nmatch: { cgroup: /stockade/t }\n"
           "files:\n"
           "  read: [ " + d / "data/**" + " ]\n"
           "  write: [ " + d / "out/*.txt" + " ]\n"
           "  create: [ " + d / "out/new/**" + " ]\n"
           "exec:\n  allow: [ " + d / "bin/tool" + " ]\n" + network;
}

LandlockPlan plan_of(const std::string& yaml, int abi) {
    auto set = load_ok(yaml);
    return plan_landlock(*set->agents().front(), abi);
}

}  // namespace

TEST_CASE("no Landlock on the kernel: an empty plan that handles nothing") {
    TempDir d;
    d.write("data/a");
    LandlockPlan p = plan_of(boundary(d), 0);
    CHECK(p.handled_fs == 0);
    CHECK(p.paths.empty());
    CHECK_FALSE(p.handle_connect);
    CHECK_FALSE(p.scope_signal);
}

TEST_CASE("each rule is anchored at the longest existing directory and gets only its own rights") {
    TempDir d;
    d.write("data/a");
    d.write("out/r.txt");
    d.write("bin/tool");
    LandlockPlan p = plan_of(boundary(d), 3);

    const auto* data = rule_for(p, d / "data");
    REQUIRE(data);
    CHECK(data->access == (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR));

    // out/*.txt: the wildcard is cut, out exists; write rights, and no read (reading is not granted)
    const auto* out = rule_for(p, d / "out");
    REQUIRE(out);
    CHECK((out->access & LANDLOCK_ACCESS_FS_WRITE_FILE));
    CHECK((out->access & kLandlockTruncate));
    CHECK_FALSE((out->access & LANDLOCK_ACCESS_FS_READ_FILE));
    CHECK_FALSE((out->access & LANDLOCK_ACCESS_FS_EXECUTE));

    // out/new does not exist yet: its create rule widens to out, which gains create rights
    CHECK_FALSE(rule_for(p, d / "out/new"));
    CHECK((out->access & LANDLOCK_ACCESS_FS_MAKE_REG));

    // an executable file: only the rights a file can carry (no directory rights on a file)
    const auto* tool = rule_for(p, d / "bin/tool");
    REQUIRE(tool);
    CHECK(tool->access == (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE));

    // one rule per object: "out/" (from out/*.txt) and "out" (from out/new/**) are the same
    CHECK_FALSE(rule_for(p, d / "out/"));
    std::vector<std::string> seen;
    for (auto& r : p.paths) seen.push_back(r.path);
    std::sort(seen.begin(), seen.end());
    CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());

    // nothing outside the boundary is opened up
    for (auto& r : p.paths) {
        bool inside = r.path.rfind(d.path(), 0) == 0 || r.path.find("ld-linux") != std::string::npos;
        CHECK(inside);
    }
}

TEST_CASE("the ABI decides which filesystem rights are handled") {
    TempDir d;
    d.write("data/a");
    LandlockPlan v1 = plan_of(boundary(d), 1);
    CHECK_FALSE((v1.handled_fs & LANDLOCK_ACCESS_FS_REFER));
    CHECK_FALSE((v1.handled_fs & kLandlockTruncate));
    LandlockPlan v3 = plan_of(boundary(d), 3);
    CHECK((v3.handled_fs & LANDLOCK_ACCESS_FS_REFER));
    CHECK((v3.handled_fs & kLandlockTruncate));
    // a rule's rights never exceed what the ruleset handles (landlock_add_rule would refuse)
    for (auto& r : v1.paths) CHECK((r.access & ~v1.handled_fs) == 0);
    CHECK_FALSE(v3.handle_connect);  // TCP ports need ABI 4
    CHECK_FALSE(v3.scope_signal);    // the signal scope needs ABI 6
    CHECK(plan_of(boundary(d), 6).scope_signal);
}

TEST_CASE("a pattern of which only / exists is noted, not silently widened to the whole tree") {
    TempDir d;
    d.write("data/a");
    LandlockPlan p = plan_of(boundary(d), 3);
    CHECK(p.notes.empty());
    auto yaml = "agent: t\nmode: enforce\nsystem_read: false\nmatch: { cgroup: /stockade/t }\n"
                "files:\n  read: [ /nonexistent-stockade-dir/** ]\n";
    LandlockPlan wide = plan_of(yaml, 3);
    REQUIRE(wide.notes.size() == 1);
    CHECK(wide.notes[0].find("only / exists") != std::string::npos);
}

TEST_CASE("TCP ports: listed port by port, or left unhandled with a note when any or too many") {
    TempDir d;
    d.write("data/a");
    auto listed = plan_of(boundary(d,
                                   "network:\n  connect:\n"
                                   "    - { cidr: 127.0.0.1, ports: [ 8000-8002 ], protocol: tcp }\n"
                                   "    - { cidr: 127.0.0.53, ports: 53, protocol: udp }\n"
                                   "  bind: [ \"9000\" ]\n"),
                          4);
    CHECK(listed.handle_connect);
    CHECK(listed.connect_ports == std::vector<uint16_t>{8000, 8001, 8002});  // the UDP rule adds nothing
    CHECK(listed.handle_bind);
    CHECK(listed.bind_ports == std::vector<uint16_t>{9000});

    auto any = plan_of(boundary(d, "network:\n  connect:\n    - { name: web, cidr: 0.0.0.0/0 }\n"), 4);
    CHECK_FALSE(any.handle_connect);
    CHECK(any.connect_ports.empty());
    REQUIRE_FALSE(any.notes.empty());
    CHECK(any.notes.back().find("any port") != std::string::npos);

    auto wide = plan_of(boundary(d, "network:\n  connect:\n    - { cidr: 10.0.0.0/8, ports: [ 1-5000 ] }\n"), 4);
    CHECK_FALSE(wide.handle_connect);
    CHECK(wide.connect_ports.empty());
}

TEST_CASE("on_violation: ask: Landlock leaves files, execs and connects to the hold, keeps binds and signals") {
    TempDir d;
    d.write("data/a");
    std::string net = "network:\n  connect:\n    - cidr: 127.0.0.1/32\n      ports: 8080\n";
    LandlockPlan kill = plan_of(boundary(d, net), 7);
    CHECK(kill.handled_fs != 0);
    CHECK(kill.handle_connect);
    std::string yaml = boundary(d, net);
    yaml.replace(yaml.find("mode: enforce\n"), 14, "mode: enforce\non_violation: ask\n");
    LandlockPlan ask = plan_of(yaml, 7);
    CHECK(ask.handled_fs == 0);
    CHECK(ask.paths.empty());
    CHECK_FALSE(ask.handle_connect);
    CHECK(ask.handle_bind);  // no bind rule: every bind still refused
    CHECK(ask.scope_signal);
    REQUIRE_FALSE(ask.notes.empty());
    CHECK(ask.notes.back().find("on_violation: ask") != std::string::npos);
}

TEST_CASE("a plan crosses the control socket unchanged, and a malformed one is an error") {
    TempDir d;
    d.write("data/a");
    d.write("out/x.txt");
    LandlockPlan p = plan_of(boundary(d, "network:\n  connect:\n    - { cidr: 127.0.0.1/32, ports: [ 8080 ] }\n"), 6);
    REQUIRE_FALSE(p.paths.empty());
    LandlockPlan back = decode_plan(encode_plan(p));
    CHECK(back.abi == p.abi);
    CHECK(back.handled_fs == p.handled_fs);
    REQUIRE(back.paths.size() == p.paths.size());
    for (size_t i = 0; i < p.paths.size(); ++i) {
        CHECK(back.paths[i].path == p.paths[i].path);
        CHECK(back.paths[i].access == p.paths[i].access);
    }
    CHECK(back.handle_connect == p.handle_connect);
    CHECK(back.connect_ports == p.connect_ports);
    CHECK(back.bind_ports == p.bind_ports);
    CHECK(back.scope_signal == p.scope_signal);
    CHECK(back.notes == p.notes);
    const std::string wrong_type = R"({"plan": {"abi": "six"}})";
    const std::string not_json = "not json";
    CHECK_THROWS_AS(decode_plan(wrong_type), stockade::Error);
    CHECK_THROWS_AS(decode_plan(not_json), stockade::Error);
}
