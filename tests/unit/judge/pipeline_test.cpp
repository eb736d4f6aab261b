// The daemon's event path driven with synthetic events: a real process table and policy, a
// fake Actuator that records kills and journal records instead of acting.
#include <sys/syscall.h>

#include "harness.hpp"

TEST_CASE("summary mode counts allowed actions and journals them only at flush", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill", "summary"));
    h.pipe.on_event(open_event(kRepoFile));
    h.pipe.on_event(open_event(kRepoFile, kRead | kWrite));
    Event ex = base_event(Action::Exec);
    ex.path = "/nonexistent-stockade/bin/tool";
    h.pipe.on_event(ex);

    CHECK(h.journal.empty());
    CHECK(h.kills.empty());
    REQUIRE(h.pipe.counters().count("coder") == 1);
    const auto& c = h.pipe.counters().at("coder");
    CHECK(c.events == 3);
    CHECK(c.allowed == 3);
    CHECK(c.violations == 0);
    CHECK(h.pipe.events() == 3);

    h.pipe.flush_summaries();
    REQUIRE(h.journal.size() == 2);
    std::map<std::string, uint64_t> by_action;
    for (const auto& r : h.journal) {
        CHECK(r.type == journal::RecordType::Summary);
        CHECK(r.agent == "coder");
        CHECK(r.verdict == journal::Verdict::Allow);
        by_action[r.action] = r.count;
    }
    CHECK(by_action == std::map<std::string, uint64_t>{{"exec", 1}, {"open", 2}});

    // Counts restart after a flush.
    h.pipe.flush_summaries();
    CHECK(h.journal.size() == 2);
    h.pipe.on_event(open_event(kRepoFile));
    h.pipe.flush_summaries();
    REQUIRE(h.journal.size() == 3);
    CHECK(h.journal[2].action == "open");
    CHECK(h.journal[2].count == 1);
}

TEST_CASE("journal_allowed: full journals each allowed action", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill", "full"));
    h.pipe.on_event(open_event(kRepoFile));
    REQUIRE(h.journal.size() == 1);
    const auto& r = h.journal[0];
    CHECK(r.type == journal::RecordType::Decision);
    CHECK(r.verdict == journal::Verdict::Allow);
    CHECK(r.rule == "coder.yaml:files.read[0]");
    CHECK(r.action == "open");
    CHECK(r.access == "read");
    CHECK(r.path == kRepoFile);
    CHECK(r.agent == "coder");
    CHECK(r.task == "task-1");
    CHECK(r.pid == kPid);
    CHECK(r.cgroup == kCgroup);
    CHECK(r.enforcement.empty());
    h.pipe.flush_summaries();
    CHECK(h.journal.size() == 1);  // nothing was counted for a summary
}

TEST_CASE("journal_allowed: off journals no allowed action", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill", "off"));
    h.pipe.on_event(open_event(kRepoFile));
    h.pipe.flush_summaries();
    CHECK(h.journal.empty());
    CHECK(h.pipe.counters().at("coder").allowed == 1);
}

TEST_CASE("a never path in enforce mode kills the process by (pid, start time)", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill", "summary"));
    h.now_ns = 20 * kSec + 2'500'000;  // 2.5 ms after the event
    h.pipe.on_event(open_event(kSecret));

    REQUIRE(h.kills.size() == 1);
    CHECK(h.kills[0].pid == kPid);
    CHECK(h.kills[0].start_ns == kStart);
    CHECK(h.cgroup_kills.empty());
    REQUIRE(h.journal.size() == 1);
    const auto& r = h.journal[0];
    CHECK(r.type == journal::RecordType::Decision);
    CHECK(r.verdict == journal::Verdict::Kill);
    CHECK(r.enforcement == journal::Enforcement::KilledByDaemon);
    CHECK(r.rule == "coder.yaml:files.never[0]");
    CHECK(r.latency_us == 2500);
    CHECK(r.path == kSecret);
    CHECK(r.agent == "coder");
    CHECK(r.task == "task-1");
    CHECK(r.pid == kPid);
    CHECK(r.mono_ns == 20 * kSec);
    CHECK_FALSE(r.exec_id.empty());
    const auto& c = h.pipe.counters().at("coder");
    CHECK(c.violations == 1);
    CHECK(c.kills == 1);
}

TEST_CASE("on_violation kill-agent kills the process's cgroup", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill-agent", "summary"));
    h.now_ns = 21 * kSec;
    h.pipe.on_event(connect_event("10.1.2.3", 443));  // default deny
    REQUIRE(h.cgroup_kills.size() == 1);
    CHECK(h.cgroup_kills[0] == kCgroup);
    CHECK(h.kills.empty());
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].verdict == journal::Verdict::Kill);
    CHECK(h.journal[0].enforcement == journal::Enforcement::AgentKilledByDaemon);
    CHECK(h.journal[0].rule == "coder.yaml:default-deny");
    CHECK(h.journal[0].address == "10.1.2.3");
    CHECK(h.journal[0].port == 443);
    CHECK(h.journal[0].protocol == "tcp");
    CHECK(h.journal[0].latency_us == 1'000'000);
}

TEST_CASE("monitor mode never kills and journals would-deny", "[pipeline]") {
    Harness h(boundary_yaml("monitor", "kill-agent", "summary"));
    h.pipe.on_event(open_event(kSecret));
    h.pipe.on_event(open_event("/nonexistent-stockade/other", kWrite));
    CHECK(h.kills.empty());
    CHECK(h.cgroup_kills.empty());
    REQUIRE(h.journal.size() == 2);
    CHECK(h.journal[0].verdict == journal::Verdict::WouldDeny);
    CHECK(h.journal[0].rule == "coder.yaml:files.never[0]");
    CHECK(h.journal[0].enforcement.empty());
    CHECK(h.journal[0].latency_us == -1);
    CHECK(h.journal[1].verdict == journal::Verdict::WouldDeny);
    CHECK(h.journal[1].rule == "coder.yaml:default-deny");
    CHECK(h.pipe.counters().at("coder").kills == 0);
}

TEST_CASE("on_violation flag journals a flag and does not kill", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "flag", "summary"));
    h.pipe.on_event(open_event(kSecret));
    CHECK(h.kills.empty());
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].verdict == journal::Verdict::Flag);
    CHECK(h.journal[0].enforcement.empty());
}

TEST_CASE("an event the kernel already killed is journaled with the kernel's rule", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill", "summary"));
    h.kernel_rules[42] = "coder.yaml:exec.deny[3]";
    // Allowed by userspace rules: what the kernel did wins.
    Event e = open_event(kRepoFile);
    e.kernel_action = KernelAction::Killed;
    e.kernel_rule = 42;
    h.now_ns = 25 * kSec;
    h.pipe.on_event(e);

    CHECK(h.rule_lookups == std::vector<uint32_t>{42});
    CHECK(h.kills.empty());
    CHECK(h.cgroup_kills.empty());
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].verdict == journal::Verdict::Kill);
    CHECK(h.journal[0].enforcement == journal::Enforcement::KilledInKernel);
    CHECK(h.journal[0].rule == "coder.yaml:exec.deny[3]");
    CHECK(h.journal[0].latency_us == 0);
    CHECK(h.pipe.counters().at("coder").kills == 1);

    SECTION("an unknown kernel rule keeps the policy's rule id") {
        Event s = open_event(kSecret);
        s.kernel_action = KernelAction::Killed;
        s.kernel_rule = 99;
        h.pipe.on_event(s);
        REQUIRE(h.journal.size() == 2);
        CHECK(h.journal[1].rule == "coder.yaml:files.never[0]");
        CHECK(h.journal[1].enforcement == journal::Enforcement::KilledInKernel);
        CHECK(h.kills.empty());
    }
}

TEST_CASE("kill-agent after a kernel kill kills the cgroup, or nothing without one", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill-agent", "summary"));
    h.kernel_rules[5] = "coder.yaml:files.never[0]";
    Event e = open_event(kSecret);
    e.kernel_action = KernelAction::Killed;
    e.kernel_rule = 5;
    h.pipe.on_event(e);
    CHECK(h.cgroup_kills == std::vector<std::string>{kCgroup});
    CHECK(h.kills.empty());  // the process itself is already dead
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].enforcement ==
          journal::Enforcements{journal::Enforcement::KilledInKernel, journal::Enforcement::AgentKilledByDaemon});

    SECTION("a process attributed by the kernel tag alone has no cgroup path") {
        Event t = open_event(kSecret);
        t.pid = t.tid = kPid + 50;
        t.cgroup_id = 31337;  // unknown to the table
        t.kernel_agent = 1;
        t.kernel_action = KernelAction::Killed;
        t.kernel_rule = 5;
        h.pipe.on_event(t);
        CHECK(h.kills.empty());  // never a second kill of a process the kernel killed
        CHECK(h.cgroup_kills.size() == 1);
        REQUIRE(h.journal.size() == 2);
        CHECK(h.journal[1].agent == "coder");
        CHECK(h.journal[1].verdict == journal::Verdict::Kill);
        CHECK(h.journal[1].enforcement == journal::Enforcement::KilledInKernel);
    }
}

TEST_CASE("a connect the kernel denied is journaled deny / denied-in-kernel", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill", "summary"));
    h.kernel_rules[9] = "coder.yaml:network.deny[0]";
    Event e = connect_event("10.0.0.1", 443);
    e.kernel_action = KernelAction::Denied;
    e.kernel_rule = 9;
    e.result = -1;
    h.pipe.on_event(e);
    CHECK(h.kills.empty());
    CHECK(h.cgroup_kills.empty());
    REQUIRE(h.journal.size() == 1);
    const auto& r = h.journal[0];
    CHECK(r.verdict == journal::Verdict::Deny);
    CHECK(r.enforcement == journal::Enforcement::DeniedInKernel);
    CHECK(r.rule == "coder.yaml:network.deny[0]");
    CHECK(r.action == "connect");
    CHECK(r.address == "10.0.0.1");
    CHECK(r.port == 443);
    CHECK(r.result == -1);
    CHECK(r.latency_us == 0);
    CHECK(h.pipe.counters().at("coder").denies == 1);
    CHECK(h.pipe.counters().at("coder").kills == 0);
}

TEST_CASE("a kill that fails journals kill-failed with the error", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill", "summary"));
    h.kill_ok = false;
    h.kill_error = "pid 4600001 now belongs to another process";
    h.now_ns = 20 * kSec + 1000;
    h.pipe.on_event(open_event(kSecret));
    REQUIRE(h.kills.size() == 1);
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].verdict == journal::Verdict::Kill);
    CHECK(h.journal[0].enforcement == journal::Enforcement::KillFailed);
    CHECK(h.journal[0].detail == h.kill_error);
    CHECK(h.journal[0].latency_us == 1);
    CHECK(h.pipe.counters().at("coder").kills == 0);
    CHECK(h.pipe.counters().at("coder").violations == 1);
}

TEST_CASE("events of processes that belong to no agent journal nothing", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill", "full"));
    Event e = open_event(kSecret);
    e.pid = e.tid = kPid + 7;
    e.cgroup_id = 777;  // not bound, no path known
    h.pipe.on_event(e);
    Event c = connect_event("10.0.0.1", 22);
    c.pid = c.tid = kPid + 7;
    c.cgroup_id = 777;
    h.pipe.on_event(c);
    h.pipe.flush_summaries();
    CHECK(h.journal.empty());
    CHECK(h.kills.empty());
    CHECK(h.cgroup_kills.empty());
    CHECK(h.pipe.counters().empty());
    CHECK(h.pipe.events() == 2);  // seen, just not judged
}

TEST_CASE("fork and exit are counted, never journaled", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill", "full"));
    Event f = base_event(Action::Fork);
    f.result = kPid + 1;
    f.child_start_ns = 30 * kSec;
    h.pipe.on_event(f);
    Event x = base_event(Action::Exit);
    x.pid = x.tid = kPid + 1;
    x.start_ns = 30 * kSec;
    x.cgroup_id = 0;
    h.pipe.on_event(x);
    CHECK(h.journal.empty());
    CHECK(h.pipe.counters().at("coder").events == 2);  // the child was attributed through the fork
}

TEST_CASE("journal_lost writes one lost record per agent, saying what on_loss did", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill", "summary"));
    h.pipe.journal_lost(20, {{"coder", "", 12}, {"coder", "t-1a2b", 5}});
    REQUIRE(h.journal.size() == 3);
    CHECK(h.journal[0].type == journal::RecordType::Lost);
    CHECK(h.journal[0].agent == "coder");
    CHECK(h.journal[0].task.empty());
    CHECK(h.journal[0].count == 12);
    CHECK(h.journal[0].enforcement == journal::Enforcement::KilledInKernel);  // enforce, kill: on_loss defaults to kill
    CHECK(h.journal[0].detail.find("on_loss: kill") != std::string::npos);
    CHECK(h.journal[1].task == "t-1a2b");
    CHECK(h.journal[1].count == 5);
    // the rest of the total, which no agent accounts for
    CHECK(h.journal[2].agent.empty());
    CHECK(h.journal[2].count == 3);

    // nothing left over: no record without an agent
    h.journal.clear();
    h.pipe.journal_lost(4, {{"coder", "", 4}});
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].agent == "coder");
}

TEST_CASE("journal_lost: flag and monitor say nothing was stopped", "[pipeline]") {
    Harness flag(boundary_yaml("enforce", "flag", "summary"));
    flag.pipe.journal_lost(2, {{"coder", "", 2}});
    REQUIRE(flag.journal.size() == 1);
    CHECK(flag.journal[0].enforcement.empty());
    CHECK(flag.journal[0].detail.find("on_loss: flag") != std::string::npos);

    Harness monitor(boundary_yaml("monitor", "kill", "summary"));
    monitor.pipe.journal_lost(2, {{"coder", "", 2}});
    REQUIRE(monitor.journal.size() == 1);
    CHECK(monitor.journal[0].enforcement.empty());
    CHECK(monitor.journal[0].detail.find("monitor mode") != std::string::npos);
}

TEST_CASE("bad records are counted", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill", "summary"));
    h.pipe.on_bad_record("short record");
    h.pipe.on_bad_record("short record");
    CHECK(h.pipe.bad_records() == 2);
    CHECK(h.journal.empty());
}

TEST_CASE("self-protection kills a write below stockade's directories even in monitor mode", "[pipeline]") {
    Harness h(boundary_yaml("monitor", "flag", "summary"));
    h.pipe.set_protected({"/nonexistent-stockade/state"});
    h.pipe.on_event(open_event("/nonexistent-stockade/state/journal.log", kWrite));
    REQUIRE(h.kills.size() == 1);
    CHECK(h.kills[0].pid == kPid);
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].rule == "builtin:self-protection");
    CHECK(h.journal[0].verdict == journal::Verdict::Kill);
    CHECK(h.journal[0].enforcement == journal::Enforcement::KilledByDaemon);

    // Reading there, or writing to a sibling with the same prefix, is judged by the boundary.
    h.pipe.on_event(open_event("/nonexistent-stockade/state-other/x", kWrite));
    REQUIRE(h.journal.size() == 2);
    CHECK(h.journal[1].rule == "coder.yaml:default-deny");
    CHECK(h.journal[1].verdict == journal::Verdict::WouldDeny);
    CHECK(h.kills.size() == 1);
}

TEST_CASE("self-protection: moving a directory that holds stockade's files, or a mount, is killed in any mode",
          "[pipeline]") {
    Harness h(boundary_yaml("monitor", "flag", "summary"));
    h.pipe.set_protected({"/nonexistent-stockade/etc/agents.d"});
    Event mv = base_event(Action::Rename);
    mv.path = "/nonexistent-stockade/etc";  // an ancestor of agents_dir
    mv.path2 = "/nonexistent-stockade/moved";
    h.pipe.on_event(mv);
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].rule == "builtin:self-protection");
    CHECK(h.journal[0].verdict == journal::Verdict::Kill);
    CHECK(h.kills.size() == 1);
    // A sibling that holds none of them is the boundary's business (monitor: reported only).
    mv.path = "/nonexistent-stockade/other";
    h.pipe.on_event(mv);
    REQUIRE(h.journal.size() == 2);
    CHECK(h.journal[1].rule != "builtin:self-protection");
    CHECK(h.kills.size() == 1);
    // The kernel names a mount-family call self-protection's.
    Event m = base_event(Action::Syscall);
    m.syscall_nr = SYS_mount;
    m.kernel_rule = SK_RULE_SELF;
    m.kernel_action = KernelAction::Killed;
    h.pipe.on_event(m);
    REQUIRE(h.journal.size() == 3);
    CHECK(h.journal[2].rule == "builtin:self-protection");
    CHECK(h.journal[2].verdict == journal::Verdict::Kill);
}

// ---- HTTP requests (judge_http.cpp), as the TLS uprobes deliver them ------------------------

namespace {

std::string http_boundary(const std::string& mode) {
    return boundary_yaml(mode, "kill", "summary") +
           "tools:\n  http:\n    - name: api\n      host: api.example.com\n      allow: [\"GET /v1/**\"]\n"
           "      deny: [\"* /v1/admin/**\"]\n    - name: no-secret\n      host: api.example.com\n"
           "      deny: [\"GET /v1/*/secret\"]\n";
}

Event tls(bool write, const std::string& data, uint64_t ssl = 0x5000) {
    Event e = base_event(Action::Tls);
    e.io_write = write;
    e.io_inode = ssl;
    e.io_data = data;
    e.result = static_cast<int64_t>(data.size());
    return e;
}

Event get(const std::string& path) { return tls(true, "GET " + path + " HTTP/1.1\r\nHost: api.example.com\r\n\r\n"); }
Event answer(int status) {
    return tls(false, "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n\r\n");
}

const journal::Record* find_tool(const Harness& h, const std::string& path) {
    for (auto& r : h.journal)
        if (r.type == journal::RecordType::Tool && r.path == path) return &r;
    return nullptr;
}

}  // namespace

TEST_CASE("HTTP: responses pair with their requests in order, also after a would-deny", "[pipeline][http]") {
    Harness h(http_boundary("monitor"));
    h.pipe.on_event(get("/v1/admin/keys?token=abc"));  // would-deny: journaled at once
    h.pipe.on_event(get("/v1/items"));                 // allowed: journaled with its response
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].verdict == journal::Verdict::WouldDeny);
    CHECK(h.journal[0].rule == "coder.yaml:api");
    CHECK(h.journal[0].detail.find("token=abc") == std::string::npos);
    h.pipe.on_event(answer(403));  // the admin request's answer
    CHECK(find_tool(h, "/v1/items") == nullptr);
    h.pipe.on_event(answer(200));
    auto* items = find_tool(h, "/v1/items");
    REQUIRE(items);
    CHECK(items->verdict == journal::Verdict::Allow);
    CHECK(items->result == 200);
    CHECK(items->address == "https://api.example.com");
    CHECK(h.kills.empty());
}

TEST_CASE("HTTP: the kernel's kill is journaled as such, a glob route is killed by the daemon", "[pipeline][http]") {
    Harness h(http_boundary("enforce"));
    Event killed = get("/v1/admin/x");
    killed.kernel_action = KernelAction::Killed;
    killed.kernel_rule = 7;
    h.kernel_rules[7] = "coder.yaml:api";
    h.pipe.on_event(killed);
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].enforcement == journal::Enforcement::KilledInKernel);
    CHECK(h.journal[0].detail.find("before encryption") != std::string::npos);
    CHECK(h.kills.empty());  // already dead

    Event glob = get("/v1/abc/secret");  // only the daemon's glob route refuses it
    glob.pid = glob.tid = kPid + 7;         // another process (the first one is dead already)
    glob.start_ns = kStart + 1;
    h.pipe.on_event(glob);
    REQUIRE(h.journal.size() == 2);
    CHECK(h.journal[1].rule == "coder.yaml:no-secret");
    CHECK(h.journal[1].enforcement == journal::Enforcement::KilledByDaemon);
    REQUIRE(h.kills.size() == 1);
    CHECK(h.kills[0].pid == kPid + 7);
}

TEST_CASE("HTTP: a request without a response is journaled when its process exits", "[pipeline][http]") {
    Harness h(http_boundary("enforce"));
    h.pipe.on_event(get("/v1/slow"));
    CHECK(h.journal.empty());
    Event exit = base_event(Action::Exit);
    h.pipe.on_event(exit);
    auto* slow = find_tool(h, "/v1/slow");
    REQUIRE(slow);
    CHECK(slow->verdict == journal::Verdict::Allow);
    CHECK(slow->detail.find("no response seen") != std::string::npos);
}

TEST_CASE("a violation one process repeats is journaled 20 times a second, the rest as a count", "[pipeline]") {
    Harness h(boundary_yaml("monitor", "kill", "summary"));
    for (int i = 0; i < 100; ++i) {
        Event e = open_event(kSecret);
        e.ktime_ns = 20 * kSec + i * 1'000'000ull;  // 100 in 0.1 s
        h.pipe.on_event(e);
    }
    Event other = open_event(kSecret + "2");  // another object: its own count
    other.ktime_ns = 20 * kSec + 200'000'000ull;
    h.pipe.on_event(other);
    size_t full = 0;
    for (auto& r : h.journal) full += r.type == journal::RecordType::Decision && r.path == kSecret;
    CHECK(full == 20);
    CHECK(h.journal.back().path == kSecret + "2");
    // The next second starts a new window and journals what the last one counted.
    Event later = open_event(kSecret);
    later.ktime_ns = 21 * kSec + 500'000'000ull;
    h.pipe.on_event(later);
    const journal::Record* rep = nullptr;
    for (auto& r : h.journal)
        if (r.type == journal::RecordType::Repeat) rep = &r;
    REQUIRE(rep);
    CHECK(rep->count == 80);
    CHECK(rep->path == kSecret);
    CHECK(rep->verdict == journal::Verdict::WouldDeny);
    CHECK(h.journal.back().type == journal::RecordType::Decision);  // the new window's first one, in full
    // A flush journals counts still open.
    for (int i = 0; i < 30; ++i) {
        Event e = open_event(kSecret);
        e.ktime_ns = 21 * kSec + 600'000'000ull + i;
        h.pipe.on_event(e);
    }
    h.pipe.flush_summaries();
    CHECK(h.journal.back().type == journal::RecordType::Repeat);
    CHECK(h.journal.back().count == 11);  // 1 + 30 in the window, 20 journaled
}
