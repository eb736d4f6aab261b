// The process table: identity across pid reuse, inheritance through fork, double fork and
// reparenting, attribution (bound cgroup, unit, cgroup prefix, uid narrowing, kernel tag),
// exec, and the bounded size.
//
// Pids are above PID_MAX_LIMIT (4194304), so /proc/<pid> never exists and the table learns
// nothing from the host: every cgroup path comes from bind_cgroup.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "identity/process_table.hpp"

using namespace stockade;
using namespace stockade::identity;

namespace {

constexpr uint64_t kSec = 1'000'000'000ull;
constexpr uint32_t kPid = 4'500'001;  // > PID_MAX_LIMIT: never a real process

Event event(Action a, uint32_t pid, uint64_t start_ns, uint64_t cgroup_id = 0) {
    Event e;
    e.action = a;
    e.pid = e.tid = pid;
    e.start_ns = start_ns;
    e.ppid = 4'400'000;  // not in the table
    e.parent_start_ns = 1 * kSec;
    e.cgroup_id = cgroup_id;
    e.uid = 1000;
    e.gid = 1000;
    e.comm = "sh";
    e.ktime_ns = start_ns + kSec;
    return e;
}

Event fork_event(uint32_t parent, uint64_t parent_start, uint32_t child, uint64_t child_start) {
    Event e = event(Action::Fork, parent, parent_start);
    e.result = child;
    e.child_start_ns = child_start;
    return e;
}

Event exit_event(uint32_t pid, uint64_t start_ns, uint64_t at_ns) {
    Event e = event(Action::Exit, pid, start_ns);
    e.ktime_ns = at_ns;
    return e;
}

std::vector<AgentMatch> agents() {
    AgentMatch coder;
    coder.name = "coder";
    coder.id = 1;
    coder.units = {"agent-coder.service"};
    coder.cgroups = {"/stockade/coder"};
    AgentMatch res;
    res.name = "researcher";
    res.id = 2;
    res.cgroups = {"/stockade/res"};
    res.uid = 1000;
    return {coder, res};
}

// Makes the table know a cgroup's path without binding it to an agent.
void learn_path(ProcessTable& t, uint64_t id, const std::string& path) { t.note_cgroup(id, path); }

}  // namespace

TEST_CASE("a reused pid is a new process that never inherits the old one's agent", "[identity]") {
    ProcessTable t;
    t.set_agents(agents());
    t.bind_cgroup(100, "/stockade/launch/a", "coder", "task-a");

    const Process& first = t.apply(event(Action::Open, kPid, 1 * kSec, 100));
    CHECK(first.agent == "coder");
    t.apply(exit_event(kPid, 1 * kSec, 2 * kSec));

    // Same pid, started later, in a cgroup of no agent.
    const Process& second = t.apply(event(Action::Open, kPid, 3 * kSec, 200));
    CHECK(second.agent.empty());
    CHECK(second.agent_id == 0);
    CHECK(second.task.empty());
    CHECK(t.size() == 2);

    const Process* old = t.find(kPid, 1 * kSec);
    const Process* cur = t.find(kPid, 3 * kSec);
    REQUIRE(old);
    REQUIRE(cur);
    CHECK(old != cur);
    CHECK(old->agent == "coder");
    CHECK(old->exited);
    CHECK(cur->agent.empty());
    CHECK_FALSE(cur->exited);
    CHECK(old->exec_id != cur->exec_id);

    const Process* live = t.find_live_pid(kPid);
    REQUIRE(live);
    CHECK(live->start_ns == 3 * kSec);
    CHECK(t.tracked_count("coder") == 0);
}

TEST_CASE("a forked child inherits agent and task, and keeps them after moving cgroup", "[identity]") {
    ProcessTable t;
    t.set_agents(agents());
    t.bind_cgroup(100, "/stockade/launch/a", "coder", "fix-bug");
    const uint32_t child = kPid + 1;

    const Process& parent = t.apply(event(Action::Open, kPid, 1 * kSec, 100));
    REQUIRE(parent.agent == "coder");
    REQUIRE(parent.task == "fix-bug");

    const Process& ret = t.apply(fork_event(kPid, 1 * kSec, child, 2 * kSec));
    CHECK(ret.key.pid == kPid);  // the fork is attributed to the parent

    const Process* c = t.find(child, 2 * kSec);
    REQUIRE(c);
    CHECK(c->agent == "coder");
    CHECK(c->agent_id == 1);
    CHECK(c->task == "fix-bug");
    CHECK(c->ppid == kPid);
    CHECK(c->parent == key_of(kPid, 1 * kSec));
    CHECK(c->start_ns == 2 * kSec);
    CHECK(c->exec_id != parent.exec_id);

    // The child's own events find it by key, even from another cgroup.
    Event moved = event(Action::Open, child, 2 * kSec, 999);
    moved.ppid = kPid;
    const Process& again = t.apply(moved);
    CHECK(&again == c);
    CHECK(again.agent == "coder");
    CHECK(t.size() == 2);
    CHECK(t.tracked_count("coder") == 2);

    SECTION("a new thread is not a new process") {
        Event th = fork_event(kPid, 1 * kSec, kPid, 1 * kSec);
        th.thread = true;
        t.apply(th);
        CHECK(t.size() == 2);
    }
}

TEST_CASE("double fork and reparenting keep the grandchild in the agent", "[identity]") {
    ProcessTable t;
    t.set_agents(agents());
    t.bind_cgroup(100, "/stockade/launch/a", "coder", "t1");
    const uint32_t a = kPid, b = kPid + 1, c = kPid + 2;

    t.apply(event(Action::Open, a, 1 * kSec, 100));
    t.apply(fork_event(a, 1 * kSec, b, 2 * kSec));
    t.apply(fork_event(b, 2 * kSec, c, 3 * kSec));
    t.apply(exit_event(b, 2 * kSec, 4 * kSec));
    t.reap(20 * kSec);  // b is gone from the table
    CHECK(t.find(b, 2 * kSec) == nullptr);

    // c now reports init as its parent, from another cgroup the table knows nothing of.
    Event orphan = event(Action::Open, c, 3 * kSec, 555);
    orphan.ppid = 1;
    orphan.parent_start_ns = 0;
    const Process& p = t.apply(orphan);
    CHECK(p.agent == "coder");
    CHECK(p.task == "t1");
    CHECK(t.tracked_count("coder") == 2);  // a and c
}

TEST_CASE("a process first seen mid-life inherits from a known parent with the same start time", "[identity]") {
    ProcessTable t;
    t.set_agents(agents());
    t.bind_cgroup(100, "/stockade/launch/a", "coder", "t1");
    t.apply(event(Action::Open, kPid, 1 * kSec, 100));

    Event child = event(Action::Open, kPid + 1, 2 * kSec, 777);  // its fork event was never seen
    child.ppid = kPid;
    child.parent_start_ns = 1 * kSec;
    CHECK(t.apply(child).agent == "coder");

    // Same parent pid but another start time: a previous holder of that pid, not the agent.
    Event stranger = event(Action::Open, kPid + 2, 2 * kSec, 777);
    stranger.ppid = kPid;
    stranger.parent_start_ns = 9 * kSec;
    CHECK(t.apply(stranger).agent.empty());
}

TEST_CASE("a bound cgroup attributes agent and task; unbinding stops it", "[identity]") {
    ProcessTable t;
    t.set_agents(agents());
    t.bind_cgroup(300, "/somewhere/else", "coder", "review");
    const Process& p = t.apply(event(Action::Open, kPid, 1 * kSec, 300));
    CHECK(p.agent == "coder");
    CHECK(p.agent_id == 1);
    CHECK(p.task == "review");
    CHECK(p.cgroup == "/somewhere/else");

    t.unbind_cgroup(300);
    CHECK(t.apply(event(Action::Open, kPid + 1, 1 * kSec, 300)).agent.empty());

    SECTION("a binding to an unknown agent attributes nothing") {
        t.bind_cgroup(301, "/x", "nobody", "t");
        CHECK(t.apply(event(Action::Open, kPid + 2, 1 * kSec, 301)).agent.empty());
    }
}

TEST_CASE("attribution by the unit name in the cgroup path", "[identity]") {
    ProcessTable t;
    t.set_agents(agents());
    learn_path(t, 10, "/system.slice/agent-coder.service");
    learn_path(t, 11, "/user.slice/user-1000.slice/user@1000.service/app.slice/agent-coder.service/worker");
    learn_path(t, 12, "/system.slice/agent-other.service");
    learn_path(t, 13, "/system.slice/agent-coder.service.d");

    const Process& a = t.apply(event(Action::Open, kPid, kSec, 10));
    CHECK(a.agent == "coder");
    CHECK(a.agent_id == 1);
    CHECK(a.task.empty());
    CHECK(t.apply(event(Action::Open, kPid + 1, kSec, 11)).agent == "coder");
    CHECK(t.apply(event(Action::Open, kPid + 2, kSec, 12)).agent.empty());
    CHECK(t.apply(event(Action::Open, kPid + 3, kSec, 13)).agent.empty());
}

TEST_CASE("attribution by cgroup path prefix, at a component boundary", "[identity]") {
    ProcessTable t;
    t.set_agents(agents());
    learn_path(t, 20, "/stockade/coder");
    learn_path(t, 21, "/stockade/coder/task-7");
    learn_path(t, 22, "/stockade/coder-evil");
    learn_path(t, 23, "/stockade");

    CHECK(t.apply(event(Action::Open, kPid, kSec, 20)).agent == "coder");
    CHECK(t.apply(event(Action::Open, kPid + 1, kSec, 21)).agent == "coder");
    CHECK(t.apply(event(Action::Open, kPid + 2, kSec, 22)).agent.empty());
    CHECK(t.apply(event(Action::Open, kPid + 3, kSec, 23)).agent.empty());
    CHECK(t.apply(event(Action::Open, kPid + 4, kSec, 0)).agent.empty());  // no path known
}

TEST_CASE("uid narrowing", "[identity]") {
    ProcessTable t;
    t.set_agents(agents());  // researcher: /stockade/res, uid 1000
    learn_path(t, 30, "/stockade/res");

    Event root = event(Action::Open, kPid, kSec, 30);
    root.uid = 0;
    CHECK(t.apply(root).agent.empty());

    Event user = event(Action::Open, kPid + 1, kSec, 30);
    user.uid = 1000;
    const Process& p = t.apply(user);
    CHECK(p.agent == "researcher");
    CHECK(p.agent_id == 2);

    SECTION("a bound cgroup names its agent outright: narrowing does not apply") {
        t.bind_cgroup(31, "/launch/r", "researcher", "t");
        Event other = event(Action::Open, kPid + 2, kSec, 31);
        other.uid = 1001;
        const Process& op = t.apply(other);
        CHECK(op.agent == "researcher");
        CHECK(op.task == "t");
    }
    SECTION("narrowing applies below a matched cgroup path") {
        learn_path(t, 32, "/stockade/res/sub");
        Event other = event(Action::Open, kPid + 3, kSec, 32);
        other.uid = 1001;
        CHECK(t.apply(other).agent.empty());
    }
}

TEST_CASE("the kernel's agent tag attributes an otherwise unknown process", "[identity]") {
    ProcessTable t;
    t.set_agents(agents());

    Event tagged = event(Action::Open, kPid, kSec, 40);
    tagged.kernel_agent = 1;
    const Process& p = t.apply(tagged);
    CHECK(p.agent == "coder");
    CHECK(p.agent_id == 1);

    Event unknown = event(Action::Open, kPid + 1, kSec, 40);
    unknown.kernel_agent = 77;  // no such agent loaded
    CHECK(t.apply(unknown).agent.empty());

    // The tag never bypasses exe/uid narrowing (researcher is narrowed by uid).
    Event narrowed = event(Action::Open, kPid + 3, kSec, 40);
    narrowed.kernel_agent = 2;
    CHECK(t.apply(narrowed).agent.empty());

    // A tag never overrides an attribution the table already made.
    t.bind_cgroup(41, "/launch/c", "coder", "t");
    Event bound = event(Action::Open, kPid + 2, kSec, 41);
    bound.kernel_agent = 2;
    CHECK(t.apply(bound).agent == "coder");
}

TEST_CASE("exec updates exe, argv, comm and exec_id", "[identity]") {
    ProcessTable t;
    t.set_agents(agents());
    t.bind_cgroup(100, "/launch/a", "coder", "t");
    const Process& p = t.apply(event(Action::Open, kPid, kSec, 100));
    std::string before = p.exec_id;
    CHECK(p.exe.empty());  // the pid does not exist: nothing read from /proc

    Event ex = event(Action::Exec, kPid, kSec, 100);
    ex.path = "/usr/bin/python3.12";
    ex.argv = {"python3", "-c", "pass"};
    ex.comm = "python3";
    const Process& q = t.apply(ex);
    CHECK(&q == &p);
    CHECK(q.exe == "/usr/bin/python3.12");
    CHECK(q.argv == std::vector<std::string>{"python3", "-c", "pass"});
    CHECK(q.comm == "python3");
    CHECK(q.exec_id != before);
    CHECK(q.exec_id.find("-" + std::to_string(kPid) + "-") != std::string::npos);
    CHECK(q.agent == "coder");  // exec keeps the identity

    std::string second = q.exec_id;
    t.apply(ex);
    CHECK(q.exec_id != second);

    // A child forked after the exec starts with the new image.
    t.apply(fork_event(kPid, kSec, kPid + 1, 2 * kSec));
    const Process* c = t.find(kPid + 1, 2 * kSec);
    REQUIRE(c);
    CHECK(c->exe == "/usr/bin/python3.12");
}

TEST_CASE("reap drops exited processes after the grace period", "[identity]") {
    ProcessTable t;
    t.set_agents(agents());
    t.bind_cgroup(100, "/launch/a", "coder", "t");
    t.apply(event(Action::Open, kPid, kSec, 100));
    t.apply(event(Action::Open, kPid + 1, kSec, 100));
    t.apply(exit_event(kPid, kSec, 10 * kSec));
    CHECK(t.tracked_count("coder") == 1);
    CHECK(t.tracked_count("researcher") == 0);

    t.reap(14 * kSec, 5 * kSec);  // 4 s after the exit: kept
    CHECK(t.size() == 2);
    CHECK(t.find(kPid, kSec) != nullptr);
    t.reap(15 * kSec, 5 * kSec);  // exactly at the grace: kept
    CHECK(t.size() == 2);
    t.reap(16 * kSec, 5 * kSec);
    CHECK(t.size() == 1);
    CHECK(t.find(kPid, kSec) == nullptr);
    CHECK(t.find(kPid + 1, kSec) != nullptr);  // live processes are never reaped for age
    t.reap(1000 * kSec, 5 * kSec);
    CHECK(t.size() == 1);
}

TEST_CASE("reap enforces the size bound: exited first, then the oldest", "[identity]") {
    ProcessTable t(3);
    t.set_agents(agents());
    // Live: starts 1, 2, 3 s. Exited (recently, within the grace): starts 4, 5 s.
    for (uint32_t i = 0; i < 5; ++i) t.apply(event(Action::Open, kPid + i, (i + 1) * kSec));
    t.apply(exit_event(kPid + 3, 4 * kSec, 50 * kSec));
    t.apply(exit_event(kPid + 4, 5 * kSec, 50 * kSec));
    REQUIRE(t.size() == 5);

    t.reap(51 * kSec);  // within the grace period: only the bound removes anything
    CHECK(t.size() == 3);
    CHECK(t.find(kPid + 3, 4 * kSec) == nullptr);
    CHECK(t.find(kPid + 4, 5 * kSec) == nullptr);
    CHECK(t.find(kPid + 0, 1 * kSec) != nullptr);

    t.apply(event(Action::Open, kPid + 9, 9 * kSec));  // a fourth live process
    t.reap(52 * kSec);
    CHECK(t.size() == 3);
    CHECK(t.find(kPid + 0, 1 * kSec) == nullptr);  // the oldest went
    CHECK(t.find(kPid + 1, 2 * kSec) != nullptr);
    CHECK(t.find(kPid + 9, 9 * kSec) != nullptr);
}

TEST_CASE("key_of compares start times in ticks", "[identity]") {
    CHECK(key_of(7, 1'000'000'000) == key_of(7, 1'009'999'999));
    CHECK_FALSE(key_of(7, 1'000'000'000) == key_of(7, 1'010'000'000));
    CHECK_FALSE(key_of(7, 1'000'000'000) == key_of(8, 1'000'000'000));
}
