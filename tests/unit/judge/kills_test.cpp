// One kill per process: later violations of a process already killed (still in the ring when the
// kill landed) are journaled as `already-killed`, a process gone before its kill as
// `exited-before-kill`, never as repeated kill failures. A failed open outside the boundary is an
// attempt: journaled with its errno, never killed.
#include <errno.h>

#include <cstring>

#include "harness.hpp"

TEST_CASE("a process is killed once: its later violations are journaled as already-killed", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill", "summary"));
    h.pipe.on_event(open_event(kSecret));
    Event again = open_event(kSecret + "2");
    again.ktime_ns += 1000;
    h.pipe.on_event(again);
    h.pipe.on_event(open_event("/nonexistent-stockade/other"));
    REQUIRE(h.journal.size() == 3);
    CHECK(h.journal[0].enforcement == journal::Enforcement::KilledByDaemon);
    CHECK(h.journal[1].enforcement == journal::Enforcement::AlreadyKilled);
    CHECK(h.journal[2].enforcement == journal::Enforcement::AlreadyKilled);
    CHECK(h.kills.size() == 1);
    CHECK(h.pipe.counters().at("coder").kills == 1);
    for (auto& r : h.journal) CHECK_FALSE(r.enforcement.has(journal::Enforcement::KillFailed));
}

TEST_CASE("a kernel kill counts too: the daemon does not try again", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill", "summary"));
    Event k = open_event(kSecret);
    k.kernel_action = KernelAction::Killed;
    h.pipe.on_event(k);
    h.pipe.on_event(open_event("/nonexistent-stockade/other"));
    REQUIRE(h.journal.size() == 2);
    CHECK(h.journal[0].enforcement == journal::Enforcement::KilledInKernel);
    CHECK(h.journal[1].enforcement == journal::Enforcement::AlreadyKilled);
    CHECK(h.kills.empty());
}

TEST_CASE("a process gone before its kill is journaled as exited-before-kill", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill", "summary"));
    h.kill_ok = false;
    h.kill_error = std::string("pidfd_open(4600001): ") + std::strerror(ESRCH);
    h.pipe.on_event(open_event(kSecret));
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].enforcement == journal::Enforcement::ExitedBeforeKill);
    CHECK(h.journal[0].verdict == journal::Verdict::Kill);
}

TEST_CASE("a failed open outside the boundary is journaled with its errno and not killed", "[pipeline]") {
    Harness h(boundary_yaml("enforce", "kill", "summary"));
    Event e = open_event("/nonexistent-stockade/home/.curlrc");
    e.result = -ENOENT;
    h.pipe.on_event(e);
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].verdict == journal::Verdict::Flag);
    CHECK(h.journal[0].result == -ENOENT);
    CHECK(h.journal[0].resolved.find("ENOENT") != std::string::npos);
    CHECK(h.kills.empty());
    // A failed open of a files.never path is still the violation it names.
    Event s = open_event(kSecret);
    s.result = -EACCES;
    h.pipe.on_event(s);
    CHECK(h.kills.size() == 1);
}

TEST_CASE("a rename or link of a never file has its new name kept out before the kill; other violations do not",
          "[kills]") {
    Harness h(boundary_yaml("enforce", "kill", "summary"));
    std::vector<std::pair<size_t, std::string>> pins;  // (kills made before the pin, rule)
    judge::Actuator a = h.actuator();
    a.keep_never = [&](const Event& e, const std::string& agent, const std::string& rule) {
        CHECK(agent == "coder");
        CHECK(e.path2 == "/nonexistent-stockade/repo/copy");
        pins.push_back({h.kills.size(), rule});
    };
    judge::Pipeline pipe(h.table, a);
    pipe.set_policy(load(boundary_yaml("enforce", "kill", "summary")));
    for (Action act : {Action::Rename, Action::Link}) {
        Event e = base_event(act);
        e.path = "/nonexistent-stockade/secrets/key";
        e.path2 = "/nonexistent-stockade/repo/copy";
        e.pid = kPid + static_cast<uint32_t>(pins.size()) + 1;  // a new process each time
        pipe.on_event(e);
    }
    REQUIRE(pins.size() == 2);
    CHECK(pins[0] == std::pair<size_t, std::string>{0, "coder.yaml:files.never[0]"});  // before its kill
    CHECK(pins[1].first == 1);
    CHECK(h.kills.size() == 2);
    // A rename that breaks only an allow list (a default deny) pins nothing.
    Event outside = base_event(Action::Rename);
    outside.pid = kPid + 10;
    outside.path = "/nonexistent-stockade/elsewhere/a";
    outside.path2 = "/nonexistent-stockade/repo/copy";
    pipe.on_event(outside);
    CHECK(h.kills.size() == 3);
    CHECK(pins.size() == 2);
}
