// Tasks (grants, confinements, expiry on a fake clock) and sequences (labels, inheritance,
// windowed counts), without a kernel.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include "scope/sequences.hpp"
#include "scope/tasks.hpp"
#include "policy/policy.hpp"

using namespace stockade;
using namespace stockade::scope;

namespace {

constexpr uint64_t kSec = 1'000'000'000ull;

std::shared_ptr<const policy::PolicySet> load(const std::string& extra, const std::string& mode = "enforce") {
    auto res = policy::load_boundary_text("t.yaml", "agent: a\nmode: " + mode +
                                                        "\nmatch: { cgroup: /x }\nfiles:\n  read: [\"/nonexistent-sk/repo/**\"]\n"
                                                        "  never: [\"/nonexistent-sk/secret/**\"]\nexec:\n  allow: [/usr/bin/true]\n" +
                                                        extra);
    INFO(policy::format_diagnostics(res.diagnostics));
    REQUIRE(res.ok());
    return res.set;
}

Event open_read(const std::string& path) {
    Event e;
    e.action = Action::Open;
    e.access = kRead;
    e.path = path;
    return e;
}

Event connect_to(const char* addr, uint16_t port) {
    Event e;
    e.action = Action::Connect;
    e.net.family = AF_INET;
    e.net.sotype = SOCK_STREAM;
    e.net.port = port;
    inet_pton(AF_INET, addr, e.net.bytes);
    return e;
}

}  // namespace

TEST_CASE("a grant widens the boundary until its TTL, by the clock it is given", "[tasks]") {
    auto set = load("");
    const policy::Boundary& b = *set->find("a");
    TaskRegistry reg;
    Task& t = reg.begin(b, {"read=/nonexistent-sk/data/**"}, {}, 2 * kSec, "label", 10 * kSec);
    Event e = open_read("/nonexistent-sk/data/report");
    Verdict base = policy::decide(b, e);
    REQUIRE_FALSE(base.inside());

    Grant* g = nullptr;
    Verdict in = reg.overlay(t, b, e, base, 11 * kSec, &g);
    CHECK(in.inside());
    REQUIRE(g);
    CHECK(g->id == t.id + "/grant[0]");
    CHECK(in.rule_id == "task:" + t.id + "/grant[0]");

    g = nullptr;
    Verdict after = reg.overlay(t, b, e, base, 12 * kSec + 1, &g);  // TTL passed: no reload needed
    CHECK_FALSE(after.inside());
    CHECK(g == nullptr);
    CHECK(after.rule_id == "t.yaml:default-deny");
    auto expired = reg.newly_expired(12 * kSec + 1);
    REQUIRE(expired.size() == 1);
    CHECK(expired[0]->id == t.id);
    CHECK(reg.newly_expired(13 * kSec).empty());  // reported once
}

TEST_CASE("a grant never overrides a deny rule; a confinement narrows", "[tasks]") {
    auto set = load("");
    const policy::Boundary& b = *set->find("a");
    TaskRegistry reg;
    Task& t = reg.begin(b, {"read=/nonexistent-sk/**"}, {"read=/nonexistent-sk/repo/docs/**"}, 0, "", 0);
    Grant* g = nullptr;
    Event secret = open_read("/nonexistent-sk/secret/key");
    CHECK_FALSE(reg.overlay(t, b, secret, policy::decide(b, secret), 1, &g).inside());  // never beats a grant

    Event docs = open_read("/nonexistent-sk/repo/docs/a.md");
    CHECK(reg.overlay(t, b, docs, policy::decide(b, docs), 1, &g).inside());
    Event src = open_read("/nonexistent-sk/repo/src/b.c");
    Verdict v = reg.overlay(t, b, src, policy::decide(b, src), 1, &g);
    CHECK_FALSE(v.inside());  // allowed by the agent, not by this task
    CHECK(v.rule_id == "task:" + t.id + "/confine");
    CHECK(v.decision == Decision::Kill);
}

TEST_CASE("bad grant specs are refused with the reason", "[tasks]") {
    auto set = load("");
    TaskRegistry reg;
    CHECK_THROWS_WITH(reg.begin(*set->find("a"), {"reed=/x"}, {}, 0, "", 0), Catch::Contains("unknown kind \"reed\""));
    CHECK_THROWS_WITH(reg.begin(*set->find("a"), {"read"}, {}, 0, "", 0), Catch::Contains("KIND=PATTERN"));
    CHECK_THROWS_WITH(reg.begin(*set->find("a"), {"connect=10.0.0.0/33"}, {}, 0, "", 0), Catch::Contains("connect="));
    CHECK(reg.tasks().empty());
}

TEST_CASE("a saved task is restored with its grants, its kernel id and what was used", "[tasks]") {
    auto set = load("");
    const auto& b = *set->find("a");
    TaskRegistry first;
    Task& t = first.begin(b, {"read=/nonexistent-sk/data/**"}, {"read=/nonexistent-sk/data/a/**"}, 10 * kSec, "l", 0);
    t.grants[0].used = true;
    SavedTask saved = TaskRegistry::save(t);

    TaskRegistry second;
    Task& r = second.restore(b, saved);
    CHECK(r.id == t.id);
    CHECK(r.kernel_id == t.kernel_id);
    CHECK(r.token == t.token);
    CHECK(r.expires_ns == 10 * kSec);
    REQUIRE(r.grants.size() == 2);
    CHECK(r.grants[0].id == t.id + "/grant[0]");
    CHECK(r.grants[0].used);
    CHECK(r.grants[1].id == t.id + "/confine[0]");
    CHECK(r.grants[1].confine);
    Grant* g = nullptr;
    Event e = open_read("/nonexistent-sk/data/a/x");
    CHECK(second.overlay(r, b, e, policy::decide(b, e), kSec, &g).inside());
    CHECK(g == &r.grants[0]);
    // A new task never takes a restored task's kernel id.
    Task& next = second.begin(b, {}, {}, 0, "", 0);
    CHECK(next.kernel_id != r.kernel_id);
    CHECK_THROWS_WITH(second.restore(b, saved), Catch::Contains("taken"));
    saved.id = "t-other";
    saved.kernel_id = 5;
    CHECK_THROWS_WITH(second.restore(b, saved), Catch::Contains("outside"));
}

TEST_CASE("kernel overlays carry live exec and connect grants only", "[tasks]") {
    auto set = load("");
    TaskRegistry reg;
    Task& t = reg.begin(*set->find("a"), {"exec=/usr/bin/env", "connect=127.0.0.1:8080", "read=/tmp/**"}, {}, kSec, "", 0);
    auto live = reg.kernel_grants(kSec / 2);
    REQUIRE(live.size() == 1);
    CHECK(live[0].kernel_id == t.kernel_id);
    CHECK(live[0].kernel_id >= 512);
    CHECK(live[0].exec_allow.size() == 1);
    CHECK(live[0].connect.size() == 1);
    auto later = reg.kernel_grants(2 * kSec);
    REQUIRE(later.size() == 1);  // the task's processes keep the agent's rules
    CHECK(later[0].exec_allow.empty());
    CHECK(later[0].connect.empty());
}

TEST_CASE("a sequence label is attached by its first step, inherited through fork, and judges later actions",
          "[sequences]") {
    auto set = load("sequences:\n  - name: leak\n    after: { read: [\"**/.env\"] }\n    forbid:\n"
                    "      connect_except: [ { cidr: 127.0.0.1, ports: 8000 } ]\n");
    const policy::Boundary& b = *set->find("a");
    SequenceTracker seq;
    identity::ProcessKey parent{4'700'001, 5}, child{4'700'002, 6}, stranger{4'700'003, 7};
    Event env = open_read("/nonexistent-sk/repo/.env");
    auto hits = seq.labels_for(b, env);
    REQUIRE(hits.size() == 1);
    CHECK(hits[0]->id == "t.yaml:leak");
    CHECK(seq.labels_for(b, open_read("/nonexistent-sk/repo/main.c")).empty());

    Label l;
    l.sequence = "t.yaml:leak";
    l.seq = 42;
    l.hash = "abc";
    l.step = "open /nonexistent-sk/repo/.env";
    seq.add_label(parent, l);
    seq.on_fork(parent, child);

    std::string chain;
    auto out = connect_to("10.1.2.3", 443);
    auto v = seq.check(b, child, out, 1, &chain);
    REQUIRE(v);
    CHECK(v->rule_id == "t.yaml:leak");
    CHECK(v->decision == Decision::Kill);
    CHECK(chain.find("seq 42") != std::string::npos);
    CHECK(chain.find("abc") != std::string::npos);
    CHECK_FALSE(seq.check(b, child, connect_to("127.0.0.1", 8000), 1, &chain));  // the exception
    CHECK_FALSE(seq.check(b, stranger, out, 1, &chain));                          // never read it
    seq.on_exit(parent);
    CHECK(seq.labels(parent) == nullptr);
    CHECK(seq.labels(child) != nullptr);
}

TEST_CASE("a count sequence fires past N distinct files within the window, and not outside it", "[sequences]") {
    auto set = load("sequences:\n  - name: bulk\n    count: { read: [\"**/*.pem\"], distinct: 2, within: 10s }\n", "monitor");
    const policy::Boundary& b = *set->find("a");
    SequenceTracker seq;
    identity::ProcessKey k{4'700'010, 1};
    std::string chain;
    CHECK_FALSE(seq.check(b, k, open_read("/r/a.pem"), 1 * kSec, &chain));
    CHECK_FALSE(seq.check(b, k, open_read("/r/a.pem"), 2 * kSec, &chain));  // same file: not distinct
    CHECK_FALSE(seq.check(b, k, open_read("/r/b.pem"), 3 * kSec, &chain));
    CHECK_FALSE(seq.check(b, k, open_read("/r/notes.txt"), 4 * kSec, &chain));
    // 30 s later the window has emptied: two more are fine.
    CHECK_FALSE(seq.check(b, k, open_read("/r/c.pem"), 30 * kSec, &chain));
    CHECK_FALSE(seq.check(b, k, open_read("/r/d.pem"), 31 * kSec, &chain));
    auto v = seq.check(b, k, open_read("/r/e.pem"), 32 * kSec, &chain);
    REQUIRE(v);
    CHECK(v->decision == Decision::WouldDeny);  // monitor mode
    CHECK(chain.find("3 distinct files") != std::string::npos);
}

TEST_CASE("a malformed sequence is an error with its location", "[sequences]") {
    auto res = policy::load_boundary_text("s.yaml", "agent: a\nmatch: { cgroup: /x }\nsequences:\n  - name: half\n"
                                                    "    after: { read: [\"/x/**\"] }\n");
    CHECK_FALSE(res.ok());
    CHECK(policy::format_diagnostics(res.diagnostics).find("s.yaml:4:5: error: sequences[0] needs both after: and forbid:") !=
          std::string::npos);
}

TEST_CASE("task grants widen and narrow tool calls: MCP tool names and HTTP routes", "[tasks][tools]") {
    auto set = load("tools:\n  mcp:\n    - allow: [read_file]\n      deny: [delete_all]\n"
                    "  http:\n    - host: api.example.com\n      allow: [\"GET /v1/**\"]\n      deny: [\"* /v1/admin/**\"]\n");
    const policy::Boundary& b = *set->find("a");
    TaskRegistry reg;
    Task& t = reg.begin(b, {"tool=search_*", "http=POST api.example.com/v1/issues/**", "tool=delete_all"}, {},
                        10 * kSec, "", 0);
    auto tool = [&](const std::string& name, uint64_t now) {
        Grant* g = nullptr;
        return reg.overlay_call(t, b, "tool", "", "", name, policy::decide_tool(b, "srv", name), now, &g);
    };
    auto http = [&](const std::string& method, const std::string& host, const std::string& target, uint64_t now) {
        Grant* g = nullptr;
        return reg.overlay_call(t, b, "http", method, host, target, policy::decide_http(b, host, method, target), now,
                                &g);
    };
    CHECK(tool("search_web", kSec).inside());
    CHECK(tool("search_web", kSec).rule_id == "task:" + t.id + "/grant[0]");
    CHECK_FALSE(tool("search_web", 11 * kSec).inside());  // expired
    CHECK_FALSE(tool("write_file", kSec).inside());      // not granted
    CHECK_FALSE(tool("delete_all", kSec).inside());      // a grant never beats a deny
    CHECK(http("POST", "API.example.com:443", "/v1/issues/7/comments?x=1", kSec).inside());
    CHECK_FALSE(http("PUT", "api.example.com", "/v1/issues/7", kSec).inside());      // another method
    CHECK_FALSE(http("POST", "evil.example.com", "/v1/issues/7", kSec).inside());    // another host
    CHECK_FALSE(http("POST", "api.example.com", "/v1/issues/../admin", kSec).inside());  // unclear path

    CHECK_THROWS_WITH(reg.begin(b, {"http=get api.example.com/x"}, {}, 0, "", 0), Catch::Contains("upper case"));
    CHECK_THROWS_WITH(reg.begin(b, {"http=GET api.example.com"}, {}, 0, "", 0), Catch::Contains("METHOD host/path"));
}

TEST_CASE("a confined task may call only the tools its confinements name", "[tasks][tools]") {
    auto set = load("tools:\n  mcp:\n    - allow: [\"*\"]\n");
    const policy::Boundary& b = *set->find("a");
    TaskRegistry reg;
    Task& t = reg.begin(b, {}, {"tool=read_*"}, 0, "", 0);
    Grant* g = nullptr;
    CHECK(reg.overlay_call(t, b, "tool", "", "", "read_file", policy::decide_tool(b, "s", "read_file"), kSec, &g)
              .inside());
    auto v = reg.overlay_call(t, b, "tool", "", "", "write_file", policy::decide_tool(b, "s", "write_file"), kSec, &g);
    CHECK_FALSE(v.inside());
    CHECK(v.rule_id == "task:" + t.id + "/confine");
}
