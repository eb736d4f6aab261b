// Adversarial tests of self-protection, continued (issue 16, point 4): a tracked root agent mounts
// over stockade's directories, renames and unlinks its boundary files and agents_dir, and asks the
// control socket for another agent's grants; and, launched with --landlock, tries SIGKILL and
// ptrace, which the kernel then refuses before they happen.
#include <sys/mount.h>

#include <catch2/catch.hpp>

#include "enforce/landlock.hpp"
#include "self_harness.hpp"

using namespace sktest;
using namespace sktest::self;

namespace {

// Unmounts what an attack mounted over `dir`, whatever the test's outcome.
struct MountGuard {
    std::string dir;
    ~MountGuard() {
        while (umount2(dir.c_str(), MNT_DETACH) == 0) {
        }
    }
};

// The agent is in force: `stockade status`, asked by the test (an operator), lists it.
bool in_force(Daemon& daemon, const std::string& agent) {
    std::string out;
    run_command({bin("stockade"), "--socket", daemon.socket(), "status"}, &out);
    return out.find("\n" + agent + " ") != std::string::npos;  // its row in the AGENT table
}

int operator_reload(Daemon& daemon, std::string* out) {
    return run_command({bin("stockade"), "--socket", daemon.socket(), "reload"}, out);
}

}  // namespace

TEST_CASE("self-protection: a mount over agents_dir kills the agent and no reload reads what it mounted",
          "[adversary]") {
    ScratchDir d("selfmount");
    write_file(d / "secret/key", kSecret);
    write_file(d / "agents.d/s.yaml", boundary(d, "mountagent"));
    Daemon daemon(d);
    daemon.start();
    MountGuard guard{daemon.agents_dir()};
    Outcome o = attack(daemon, "mountagent", {"mount_tmpfs", daemon.agents_dir()});
    check_stopped(o, "mount_tmpfs");
    o = attack(daemon, "mountagent", {"fsopen"});
    check_stopped(o, "fsopen");
    check_daemon_serves(daemon);
    auto r = daemon.wait_record([](const Record& r) { return r.action == "syscall" && r.rule == "builtin:self-protection"; });
    REQUIRE(r);
    CHECK(r->enforcement == jr::Enforcement::KilledInKernel);
    // The mount ran before the kill (the kernel cannot refuse it): even an operator's reload now
    // refuses to read the empty tmpfs in place of the boundaries.
    std::string out;
    CHECK(operator_reload(daemon, &out) != 0);
    INFO(out);
    CHECK(out.find("no longer the directory") != std::string::npos);
    CHECK(in_force(daemon, "mountagent"));
    check_still_enforcing(daemon, d, "mountagent");
}

TEST_CASE("self-protection: renaming or unlinking a boundary file or agents_dir does not free the agent",
          "[adversary]") {
    ScratchDir d("selfrename");
    write_file(d / "secret/key", kSecret);
    std::string file = d / "agents.d/s.yaml";
    write_file(file, boundary(d, "renameagent"));
    Daemon daemon(d);
    daemon.start();
    struct Case {
        std::vector<std::string> args;
        std::function<void()> restore;
    };
    std::vector<Case> cases = {
        {{"rename", file, d / "moved.yaml"}, [&] { fs::rename(d / "moved.yaml", file); }},
        {{"unlink", file}, [&] { write_file(file, boundary(d, "renameagent")); }},
        {{"link", file, d / "allowed/hard.yaml"}, [&] { fs::remove(d / "allowed/hard.yaml"); }},
        {{"rename", daemon.agents_dir(), d / "agents.moved"}, [&] { fs::rename(d / "agents.moved", daemon.agents_dir()); }},
    };
    for (auto& c : cases) {
        INFO(quote(c.args));
        Outcome o = attack(daemon, "renameagent", c.args);
        INFO(o.out);
        REQUIRE(o.called(c.args[0]));
        // Judged by the daemon after the call (no hook can refuse it without Landlock): the agent
        // is killed within milliseconds, and the record names self-protection.
        auto r = daemon.wait_record([&](const Record& r) { return r.action == c.args[0] && r.path == c.args[1]; });
        REQUIRE(r);
        CHECK(r->rule == "builtin:self-protection");
        CHECK(r->verdict == jr::Verdict::Kill);
        std::this_thread::sleep_for(std::chrono::milliseconds(600));  // past the automatic reload's settling
        CHECK(in_force(daemon, "renameagent"));
        check_still_enforcing(daemon, d, "renameagent");
        c.restore();
    }
    check_daemon_serves(daemon);
}

TEST_CASE("self-protection: an agent process on the control socket may only ask about itself", "[adversary]") {
    ScratchDir d("selfctl");
    write_file(d / "secret/key", kSecret);
    write_file(d / "agents.d/s.yaml", boundary(d, "ctlagent"));
    write_file(d / "agents.d/b.yaml", boundary(d, "bystander"));
    Daemon daemon(d);
    daemon.start();
    auto cli = [&](const std::string& args) {
        std::string out;
        daemon.run_as("ctlagent", {"/bin/sh", "-c", bin("stockade") + " --socket " + daemon.socket() + " " + args + " 2>&1; echo rc=$?"},
                      &out);
        return out;
    };
    for (std::string args : {"task begin --agent bystander --grant 'read=/**'", "task begin --agent ctlagent --grant 'read=/**'",
                             "reload"}) {
        std::string out = cli(args);
        INFO(args << ":\n" << out);
        CHECK(out.find("is a process of agent ctlagent") != std::string::npos);
        CHECK(out.find("rc=0") == std::string::npos);
    }
    std::string out = cli("status");
    INFO(out);
    CHECK(out.find("rc=0") != std::string::npos);
    CHECK(out.find("\nctlagent ") != std::string::npos);
    CHECK(out.find("bystander") == std::string::npos);  // only itself
    auto r = daemon.wait_record([](const Record& r) { return r.action == "control" && r.detail.find("task-begin") != std::string::npos; });
    REQUIRE(r);
    CHECK(r->rule == "builtin:self-protection");
    CHECK(r->agent == "ctlagent");
    // No task was begun: the operator's task list is empty.
    run_command({bin("stockade"), "--socket", daemon.socket(), "task", "list"}, &out);
    CHECK(out.find("bystander") == std::string::npos);
    check_still_enforcing(daemon, d, "ctlagent");
}

TEST_CASE("self-protection with --landlock: SIGKILL, ptrace, /proc/PID/mem, mounts and renames fail before they happen",
          "[adversary]") {
    if (stockade::enforce::landlock_abi() < 6) {
        WARN("SKIP: this kernel's Landlock ABI is below 6 (signal scopes)");
        return;
    }
    ScratchDir d("selfll");
    write_file(d / "secret/key", kSecret);
    std::string file = d / "agents.d/s.yaml";
    write_file(file, boundary(d, "llagent"));
    Daemon daemon(d);
    daemon.own_session();
    daemon.start();
    MountGuard guard{daemon.agents_dir()};
    std::string pid = std::to_string(daemon.pid()), tid = std::to_string(other_thread(daemon.pid()));
    std::vector<std::vector<std::string>> attacks = {
        {"killpg", pid, "9"},       {"kill", pid, "9"},     {"tkill", tid, "9"},        {"tkill", tid, "19"},
        {"ptrace_seize_exitkill", tid}, {"ptrace_attach", pid}, {"proc_open", pid, "mem"}, {"vm_read", pid},
        {"mount_tmpfs", daemon.agents_dir()}, {"rename", file, d / "allowed/moved.yaml"}, {"unlink", file},
    };
    for (auto& a : attacks) {
        Outcome o = attack(daemon, "llagent", a, Launch::Landlock);
        INFO(quote(a) << ":\n" << o.out);
        check_stopped(o, a[0]);
        // Signals and ptrace: refused by Landlock (EPERM), so the daemon lives through SIGKILL. The
        // rest may also meet the daemon's kill for the attempt (an open for writing outside the
        // boundary, a rename of its file) before the refusal is printed.
        if (a[0].find("kill") != std::string::npos || a[0].rfind("ptrace", 0) == 0) CHECK(o.refused(a[0]));
        check_daemon_serves(daemon);
    }
    CHECK(fs::exists(file));
    auto r = daemon.wait_record(
        [](const Record& r) { return r.action == "signal" && r.enforcement == jr::Enforcement::DeniedInKernel; });
    REQUIRE(r);
    CHECK(r->rule == "builtin:self-protection");
    check_still_enforcing(daemon, d, "llagent");
}

TEST_CASE("self-protection with the seccomp gate (no Landlock): SIGKILL, SIGSTOP, ptrace, mounts and renames of "
          "stockade's files fail before they happen",
          "[adversary]") {
    ScratchDir d("selfgate");
    write_file(d / "secret/key", kSecret);
    std::string file = d / "agents.d/s.yaml";
    write_file(file, boundary(d, "gateagent"));
    Daemon daemon(d);
    daemon.own_session();
    daemon.start();
    MountGuard guard{daemon.agents_dir()};
    std::string pid = std::to_string(daemon.pid()), tid = std::to_string(other_thread(daemon.pid()));
    std::vector<std::vector<std::string>> attacks = {
        {"killpg", pid, "9"},       {"kill", pid, "9"},     {"kill", pid, "11"},        {"tkill", tid, "9"},
        {"tkill", tid, "19"},       {"ptrace_seize_exitkill", tid}, {"ptrace_attach", pid}, {"vm_read", pid},
        {"mount_tmpfs", daemon.agents_dir()}, {"rename", file, d / "allowed/moved.yaml"}, {"unlink", file},
        {"unlink", daemon.socket()},
    };
    for (auto& a : attacks) {
        Outcome o = attack(daemon, "gateagent", a, Launch::Gate);
        INFO(quote(a) << ":\n" << o.out);
        // Failed at the syscall, or killed while the gate held it (self-protection kills the
        // sender): either way it never returned with the call done.
        check_stopped(o, a[0]);
        check_daemon_serves(daemon);
    }
    CHECK(fs::exists(file));
    CHECK(fs::exists(daemon.socket()));
    for (const char* action : {"signal", "ptrace", "syscall", "rename", "unlink"}) {
        auto r = daemon.wait_record([&](const Record& r) {
            return r.action == action && r.enforcement.has(jr::Enforcement::RefusedBeforeSyscall);
        });
        INFO(action);
        REQUIRE(r);
        CHECK(r->rule == "builtin:self-protection");
    }
    check_still_enforcing(daemon, d, "gateagent");
}

TEST_CASE("self-protection: an agent that unlinks the control socket is killed, and the socket is bound again",
          "[adversary]") {
    ScratchDir d("selfsocket");
    write_file(d / "secret/key", kSecret);
    write_file(d / "agents.d/s.yaml", boundary(d, "socketagent"));
    Daemon daemon(d);
    daemon.start();
    Outcome o = attack(daemon, "socketagent", {"unlink", daemon.socket()});
    INFO(o.out);
    REQUIRE(o.called("unlink"));
    auto r = daemon.wait_record([&](const Record& r) { return r.action == "unlink" && r.path == daemon.socket(); });
    REQUIRE(r);
    CHECK(r->rule == "builtin:self-protection");
    CHECK(r->verdict == jr::Verdict::Kill);
    // The unlink ran (without Landlock nothing refuses it first); within the daemon's next
    // once-a-second turn its socket is there again and operators reach it.
    bool back = false;
    for (int i = 0; i < 50 && !back; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        std::string out;
        back = run_command({bin("stockade"), "--socket", daemon.socket(), "status"}, &out) == 0;
    }
    CHECK(back);
    CHECK(in_force(daemon, "socketagent"));
    check_still_enforcing(daemon, d, "socketagent");
}
