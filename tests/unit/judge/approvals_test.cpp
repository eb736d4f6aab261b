// on_violation: ask: a held action outside the allow lists waits under an approval id; approve
// releases it, deny refuses a connect (socket shut down, then released) or kills, a timeout
// denies, explicit deny rules still kill, and the queue itself keeps order and ids.
#include "harness.hpp"
#include "judge/approvals.hpp"

namespace {

struct AskHarness : Harness {
    judge::HoldInfo state{judge::HoldInfo::Held, 1, 0};
    std::vector<std::pair<uint32_t, uint16_t>> releases;
    std::vector<int> refused_fds;
    bool refuse_ok = true;
    judge::Pipeline ask_pipe;

    explicit AskHarness(const std::string& yaml) : Harness(yaml), ask_pipe(table, with_holds()) {
        ask_pipe.set_policy(load(yaml));
    }
    judge::Actuator with_holds() {
        judge::Actuator a = actuator();
        a.hold_state = [this](uint32_t) { return state; };
        a.release_hold = [this](uint32_t pid, uint64_t, uint16_t hold, std::string&) {
            releases.push_back({pid, hold});
            return true;
        };
        a.forget_hold = [](uint32_t) {};
        a.refuse_connect = [this](uint32_t, uint64_t, int fd, std::string& err) {
            refused_fds.push_back(fd);
            if (!refuse_ok) err = "Bad file descriptor";
            return refuse_ok;
        };
        return a;
    }
};

std::string ask_yaml(const std::string& extra = "") {
    std::string y = boundary_yaml("enforce", "ask", "summary");
    return y + extra;
}

Event held(Event e, uint16_t hold) {
    e.held = true;
    e.hold = hold;
    return e;
}

}  // namespace

TEST_CASE("ask: a held open outside the allow lists waits, and approve releases it", "[approvals]") {
    AskHarness h(ask_yaml());
    h.now_ns = 20 * kSec + 1000;
    h.ask_pipe.on_event(held(open_event("/nonexistent-stockade/elsewhere/notes", kWrite), 1));
    CHECK(h.kills.empty());
    CHECK(h.releases.empty());  // still held: waits for a person
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].verdict == journal::Verdict::Ask);
    CHECK(h.journal[0].enforcement == journal::Enforcement::HeldForApproval);
    CHECK(h.journal[0].approval == 1);
    CHECK(h.journal[0].rule == "coder.yaml:default-deny");
    REQUIRE(h.ask_pipe.approvals().pending().size() == 1);
    const judge::Approval& a = h.ask_pipe.approvals().pending().begin()->second;
    CHECK(a.deadline_ns == h.now_ns + 60 * kSec);  // the default approval_timeout

    // A later allowed action of the same (stopped) process does not release it either.
    h.state = {judge::HoldInfo::Held, 2, 0};
    h.ask_pipe.on_event(held(open_event(kRepoFile), 2));
    CHECK(h.releases.empty());

    CHECK(h.ask_pipe.decide(1, true, "uid=0 pid=77 exe=/usr/bin/stockade") == "");
    REQUIRE(h.releases.size() == 1);
    CHECK(h.releases[0].second == 2);  // the process's last hold
    REQUIRE(h.journal.size() == 2);
    CHECK(h.journal[1].type == journal::RecordType::Approval);
    CHECK(h.journal[1].verdict == journal::Verdict::Allow);
    CHECK(h.journal[1].enforcement == journal::Enforcement::ReleasedByApprover);
    CHECK(h.journal[1].approver == "uid=0 pid=77 exe=/usr/bin/stockade");
    CHECK(h.journal[1].approval == 1);
    CHECK(h.ask_pipe.approvals().pending().empty());
    CHECK(h.ask_pipe.decide(1, true, "again") != "");  // decided once only
}

TEST_CASE("ask: deny kills a held open where it stopped; an explicit never rule is not asked", "[approvals]") {
    AskHarness h(ask_yaml());
    h.ask_pipe.on_event(held(open_event("/nonexistent-stockade/elsewhere/notes"), 1));
    CHECK(h.ask_pipe.decide(1, false, "uid=0 pid=78 exe=/bin/x") == "");
    REQUIRE(h.kills.size() == 1);
    CHECK(h.releases.empty());
    REQUIRE(h.journal.size() == 2);
    CHECK(h.journal[1].verdict == journal::Verdict::Kill);
    CHECK(h.journal[1].enforcement == journal::Enforcement::KilledWhileHeld);
    CHECK(h.journal[1].approver == "uid=0 pid=78 exe=/bin/x");

    AskHarness n(ask_yaml());
    n.ask_pipe.on_event(held(open_event(kSecret), 1));  // files.never: killed at once
    CHECK(n.ask_pipe.approvals().pending().empty());
    CHECK(n.kills.size() == 1);
    REQUIRE(n.journal.size() == 1);
    CHECK(n.journal[0].verdict == journal::Verdict::Kill);
}

TEST_CASE("ask: deny of a held connect refuses it (socket shut down) and lets the process run on", "[approvals]") {
    AskHarness h(ask_yaml());
    Event c = held(connect_event("127.0.0.1", 9999), 1);
    c.fd = 5;
    h.ask_pipe.on_event(c);
    REQUIRE(h.ask_pipe.approvals().pending().size() == 1);
    CHECK(h.ask_pipe.decide(1, false, "uid=0 pid=79 exe=/bin/x") == "");
    CHECK(h.refused_fds == std::vector<int>{5});
    CHECK(h.kills.empty());
    REQUIRE(h.releases.size() == 1);
    CHECK(h.journal.back().verdict == journal::Verdict::Deny);
    CHECK(h.journal.back().enforcement == journal::Enforcement::RefusedWhileHeld);

    // When the socket cannot be shut down, deny kills.
    AskHarness k(ask_yaml());
    k.refuse_ok = false;
    k.ask_pipe.on_event(c);
    CHECK(k.ask_pipe.decide(1, false, "op") == "");
    CHECK(k.kills.size() == 1);
    CHECK(k.journal.back().enforcement == journal::Enforcement::KilledWhileHeld);
}

TEST_CASE("ask: the approval_timeout denies, an ended process drops its approvals", "[approvals]") {
    AskHarness h(ask_yaml("approval_timeout: 5\n"));
    h.now_ns = 30 * kSec;
    h.ask_pipe.on_event(held(open_event("/nonexistent-stockade/elsewhere/a"), 1));
    CHECK(h.ask_pipe.expire_approvals(34 * kSec) == 0);
    CHECK(h.ask_pipe.expire_approvals(35 * kSec) == 1);
    REQUIRE(h.kills.size() == 1);
    CHECK(h.journal.back().approver == "timeout");
    CHECK(h.journal.back().enforcement == journal::Enforcement::KilledWhileHeld);

    AskHarness e(ask_yaml());
    e.ask_pipe.on_event(held(open_event("/nonexistent-stockade/elsewhere/a"), 1));
    Event exit = base_event(Action::Exit);
    exit.exit_signal = 9;
    e.ask_pipe.on_event(exit);
    CHECK(e.ask_pipe.approvals().pending().empty());
    CHECK(e.journal.back().type == journal::RecordType::Approval);
    CHECK(e.journal.back().enforcement == journal::Enforcement::EndedWhileHeld);
}

TEST_CASE("ask is only for held actions of an enforce agent; refuse shuts a held connect down", "[approvals]") {
    AskHarness h(ask_yaml());
    h.ask_pipe.on_event(open_event("/nonexistent-stockade/elsewhere/a"));  // not held: nothing to wait on
    CHECK(h.ask_pipe.approvals().pending().empty());
    CHECK(h.kills.size() == 1);

    AskHarness r(boundary_yaml("enforce", "refuse", "summary"));
    Event c = held(connect_event("127.0.0.1", 9999), 1);
    c.fd = 7;
    r.ask_pipe.on_event(c);
    CHECK(r.refused_fds == std::vector<int>{7});
    CHECK(r.kills.empty());
    CHECK(r.releases.size() == 1);
    REQUIRE(r.journal.size() == 1);
    CHECK(r.journal[0].verdict == journal::Verdict::Deny);
    CHECK(r.journal[0].enforcement == journal::Enforcement::RefusedWhileHeld);
}

TEST_CASE("the approval queue numbers, orders, expires and drops by process", "[approvals]") {
    judge::ApprovalQueue q;
    judge::Approval a;
    a.pid = 10;
    a.start_ns = 1;
    a.deadline_ns = 100;
    CHECK(q.add(a) == 1);
    a.deadline_ns = 50;
    a.pid = 11;
    CHECK(q.add(a) == 2);
    CHECK(q.expired(49).empty());
    CHECK(q.expired(100) == std::vector<uint64_t>{1, 2});
    CHECK(q.waiting(10, 1));
    CHECK_FALSE(q.waiting(10, 2));  // another process with the same pid
    CHECK(q.take(1)->pid == 10);
    CHECK_FALSE(q.take(1));
    CHECK(q.add(a) == 3);  // ids are never reused
    CHECK(q.take_process(11, 1).size() == 2);
    CHECK(q.pending().empty());
    for (size_t i = 0; i < judge::ApprovalQueue::kMaxPending; ++i) REQUIRE(q.add(a) != 0);
    CHECK(q.add(a) == 0);
}
