// Adversarial tests of self-protection (issue 16, points 3 and 4): a tracked root agent in enforce
// mode, a real child process started with `stockade run`, attacks stockaded itself with raw
// syscalls (tests/adversary/attackers/self_attack.c): signals by every route, ptrace, its memory
// and descriptors, mounts and renames over its files, and the control socket. Each attack fails or
// kills the agent; after them the daemon runs (never left stopped), answers `stockade status`,
// keeps its cgroup hooks attached, still enforces, and its journal verifies.
#include <catch2/catch.hpp>

#include "self_harness.hpp"

using namespace sktest;
using namespace sktest::self;

TEST_CASE("self-protection: a root agent's signals to stockaded, by every route, kill the agent, not the daemon",
          "[adversary]") {
    ScratchDir d("selfsig");
    write_file(d / "secret/key", kSecret);
    write_file(d / "agents.d/s.yaml", boundary(d, "sigagent"));
    Daemon daemon(d);
    daemon.own_session();  // as under systemd: a process group and session of its own
    daemon.start();
    std::string pid = std::to_string(daemon.pid()), tid = std::to_string(other_thread(daemon.pid()));
    REQUIRE(tid != pid);
    // Every route but SIGKILL, which no tracing hook can refuse (see the --landlock case).
    std::vector<std::vector<std::string>> attacks = {
        {"kill", pid, "19"},  {"kill", pid, "15"},       {"kill", pid, "1"},          {"kill", pid, "0"},
        {"kill", pid, "20"},  {"tkill", tid, "19"},      {"tkill", tid, "15"},        {"tgkill", pid, tid, "19"},
        {"tgkill", pid, tid, "2"}, {"killpg", pid, "19"}, {"killpg", pid, "15"},      {"killpg", pid, "10"},
        {"sigqueue", pid, "40"}, {"sigqueue", pid, "3"}, {"peer_pidfd_signal", daemon.socket(), "19"},
        {"peer_pidfd_signal", daemon.socket(), "15"},
    };
    for (auto& a : attacks) {
        Outcome o = attack(daemon, "sigagent", a);
        check_stopped(o, a[0]);
        INFO(quote(a));
        check_daemon_serves(daemon);
    }
    auto r = daemon.wait_record([](const Record& r) { return r.action == "signal" && r.detail.find("signal/cmd 19") != std::string::npos; });
    REQUIRE(r);
    CHECK(r->rule == "builtin:self-protection");
    CHECK(r->enforcement == jr::Enforcement::KilledInKernel);
    CHECK(cgroup_hooks_attached(daemon.pid()) == 4);
    check_still_enforcing(daemon, d, "sigagent");
}

TEST_CASE("self-protection: ptrace, memory, /proc and descriptors of stockaded are out of an agent's reach",
          "[adversary]") {
    ScratchDir d("selfmem");
    write_file(d / "secret/key", kSecret);
    write_file(d / "agents.d/s.yaml", boundary(d, "memagent"));
    Daemon daemon(d);
    daemon.start();
    pid_t dpid = daemon.pid();
    std::string pid = std::to_string(dpid), tid = std::to_string(other_thread(dpid));
    int journal_fd = daemon_fd(dpid, fs::canonical(daemon.journal()).string());
    int link_fd = daemon_fd(dpid, "link_type:\tcgroup");
    REQUIRE(journal_fd >= 0);
    REQUIRE(link_fd >= 0);
    REQUIRE(cgroup_hooks_attached(dpid) == 4);
    std::vector<std::vector<std::string>> attacks = {
        {"ptrace_attach", pid},       {"ptrace_attach", tid},          {"ptrace_seize", tid},
        {"vm_read", pid},             {"vm_write", tid},               {"proc_open", pid, "mem"},
        {"proc_read", tid, "mem"},    {"proc_read", pid, "environ"},   {"proc_open", pid, "oom_score_adj"},
        {"pidfd_open", pid},          {"pidfd_open", tid},
        {"peer_pidfd_getfd", daemon.socket(), std::to_string(journal_fd)},
        {"peer_pidfd_getfd", daemon.socket(), std::to_string(link_fd)},
    };
    for (auto& a : attacks) {
        Outcome o = attack(daemon, "memagent", a);
        check_stopped(o, a[0]);
        INFO(quote(a));
        check_daemon_serves(daemon);
    }
    auto r = daemon.wait_record([](const Record& r) { return r.action == "ptrace" && r.rule == "builtin:self-protection"; });
    REQUIRE(r);
    CHECK(r->enforcement == jr::Enforcement::KilledInKernel);
    CHECK(Daemon::slurp(daemon.journal()).find("forged\n") == std::string::npos);
    CHECK(cgroup_hooks_attached(dpid) == 4);
    // Reading its status (what ps does) is no attack.
    std::string out;
    daemon.run_as("memagent", {"/bin/sh", "-c", "/usr/bin/cat /proc/" + pid + "/status > /dev/null; echo rc=$?"}, &out);
    CHECK(out.find("rc=0") != std::string::npos);
    check_still_enforcing(daemon, d, "memagent");
}
