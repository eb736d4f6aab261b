// Holds: a process the kernel stopped until the daemon's verdict is released after an allowed
// verdict (for its last hold only), never after a kill; a hold something else broke is journaled.
#include "harness.hpp"

namespace {

// The harness with the hold half of the Actuator: the kernel's state is `state`, releases are
// recorded.
struct HoldHarness : Harness {
    judge::HoldInfo state;
    std::vector<std::pair<uint32_t, uint16_t>> releases;
    std::vector<uint32_t> forgotten;

    explicit HoldHarness(const std::string& yaml) : Harness(yaml) {}
};

judge::Actuator with_holds(HoldHarness& h) {
    judge::Actuator a = h.actuator();
    a.hold_state = [&h](uint32_t) { return h.state; };
    a.release_hold = [&h](uint32_t pid, uint64_t, uint16_t hold, std::string&) {
        h.releases.push_back({pid, hold});
        return true;
    };
    a.forget_hold = [&h](uint32_t pid) { h.forgotten.push_back(pid); };
    return a;
}

Event held(Event e, uint16_t hold) {
    e.held = true;
    e.hold = hold;
    return e;
}

}  // namespace

TEST_CASE("a held allowed action is released for its hold; its record says how long it was held", "[holds]") {
    HoldHarness h(boundary_yaml("enforce", "kill", "full"));
    judge::Pipeline pipe(h.table, with_holds(h));
    pipe.set_policy(load(boundary_yaml("enforce", "kill", "full")));
    h.state = {judge::HoldInfo::Held, 7, 0};
    h.now_ns = 20 * kSec + 250'000;  // the verdict comes 250 us after the kernel's hold
    pipe.on_event(held(open_event(kRepoFile), 7));
    REQUIRE(h.releases.size() == 1);
    CHECK(h.releases[0].first == kPid);
    CHECK(h.releases[0].second == 7);
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].verdict == journal::Verdict::Allow);
    CHECK(h.journal[0].held_us == 250);
    CHECK(h.kills.empty());
}

TEST_CASE("a held violation is killed where it stopped and never released", "[holds]") {
    HoldHarness h(boundary_yaml("enforce", "kill", "summary"));
    judge::Pipeline pipe(h.table, with_holds(h));
    pipe.set_policy(load(boundary_yaml("enforce", "kill", "summary")));
    h.state = {judge::HoldInfo::Held, 1, 0};
    h.now_ns = 20 * kSec + 90'000;
    pipe.on_event(held(open_event(kSecret), 1));
    CHECK(h.releases.empty());
    REQUIRE(h.kills.size() == 1);
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].enforcement == journal::Enforcement::KilledWhileHeld);
    CHECK(h.journal[0].held_us == 90);
}

TEST_CASE("a hold is released only for the process's last hold", "[holds]") {
    HoldHarness h(boundary_yaml("enforce", "kill", "summary"));
    judge::Pipeline pipe(h.table, with_holds(h));
    pipe.set_policy(load(boundary_yaml("enforce", "kill", "summary")));
    h.state = {judge::HoldInfo::Held, 3, 0};  // another thread held again: its record is still to come
    pipe.on_event(held(open_event(kRepoFile), 2));
    CHECK(h.releases.empty());
    pipe.on_event(held(open_event(kRepoFile), 3));
    REQUIRE(h.releases.size() == 1);
    CHECK(h.releases[0].second == 3);
    // Not held: nothing to release; released already: nothing either.
    pipe.on_event(open_event(kRepoFile));
    h.state = {judge::HoldInfo::Released, 3, 0};
    pipe.on_event(held(open_event(kRepoFile), 3));
    CHECK(h.releases.size() == 1);
}

TEST_CASE("a hold another process released is journaled as the kernel's kill, naming it", "[holds]") {
    HoldHarness h(boundary_yaml("enforce", "kill", "summary"));
    judge::Pipeline pipe(h.table, with_holds(h));
    pipe.set_policy(load(boundary_yaml("enforce", "kill", "summary")));
    h.state = {judge::HoldInfo::Broken, 1, 4'600'777};
    pipe.on_event(held(open_event(kRepoFile), 1));
    CHECK(h.releases.empty());
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].rule == "builtin:hold-release");
    CHECK(h.journal[0].verdict == journal::Verdict::Kill);
    CHECK(h.journal[0].enforcement == journal::Enforcement::KilledInKernel);
    CHECK(h.journal[0].detail.find("pid 4600777 ") != std::string::npos);
    CHECK(h.forgotten == std::vector<uint32_t>{kPid});
    // Its later records are the dead process's: no second kill.
    pipe.on_event(open_event(kSecret));
    CHECK(h.kills.empty());
}
