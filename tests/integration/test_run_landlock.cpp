// `stockade run` takes its Landlock ruleset from the daemon's boundary in force, and fails closed:
// an agent whose boundary file was broken, moved or made unreadable after the daemon loaded it is
// not started unconfined (the hold-out suite's d-sig-KILL@ll: the launcher could not read the
// file, ran the agent without Landlock, and the agent SIGKILLed the daemon).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "enforce/landlock.hpp"

#include "daemon_harness.hpp"
#include "harness.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

std::string landlock_boundary(const ScratchDir& d) {
    return "agent: llfc\nmode: monitor\nmatch:\n  cgroup: /stockade-it-unused-llfc\nfiles:\n  read: [\"" +
           d / "allowed/**" + "\"]\n  write: [\"" + d / "allowed/**" + "\"]\n  create: [\"" + d / "allowed/**" +
           "\"]\nexec:\n  allow: [/usr/bin/python3*, /usr/bin/touch]\n";
}

// A process outside every agent, started by the test: the agent's SIGKILL target.
pid_t start_bystander() {
    pid_t p = fork();
    if (p == 0) {
        execl("/usr/bin/sleep", "sleep", "60", nullptr);
        _exit(127);
    }
    return p;
}

bool alive(pid_t p) { return waitpid(p, nullptr, WNOHANG) == 0 && kill(p, 0) == 0; }

}  // namespace

TEST_CASE("stockade run gets its Landlock ruleset from the daemon, and never runs an agent unconfined by default",
          "[enforce][landlock]") {
    if (stockade::enforce::landlock_abi() < 6) {
        WARN("SKIP: this kernel's Landlock ABI is below 6 (signal scopes)");
        return;
    }
    ScratchDir d("llfc");
    write_file(d / "allowed/in.txt", "in");
    write_file(d / "outside.txt", "out");
    write_file(d / "agents.d/llfc.yaml", landlock_boundary(d));
    Daemon daemon(d);
    daemon.start();

    // The boundary file is broken after loading: the daemon refuses the edit and keeps the
    // boundary in force; the launcher must still confine the agent by that boundary.
    write_file(d / "agents.d/llfc.yaml", "agent: [unclosed\n");
    REQUIRE(daemon.wait_record([](const Record& r) {
        return r.type == jr::RecordType::Daemon && r.detail.find("refused") != std::string::npos;
    }));
    pid_t bystander = start_bystander();
    std::string script = "import os, errno, signal\n"
                         "def t(name, f):\n"
                         "    try: f(); print(name, 'ok')\n"
                         "    except OSError as e: print(name, errno.errorcode[e.errno])\n"
                         "t('in', lambda: open('" + d / "allowed/in.txt" + "').read())\n"
                         "t('out', lambda: open('" + d / "outside.txt" + "').read())\n"
                         "t('kill', lambda: os.kill(" + std::to_string(bystander) + ", signal.SIGKILL))\n";
    std::string out;
    int st = run_command({bin("stockade"), "--socket", daemon.socket(), "run", "--agent", "llfc", "--",
                          "/usr/bin/python3", "-c", script},
                         &out);
    INFO(out);
    CHECK(out.find("in ok") != std::string::npos);
    CHECK(out.find("out EACCES") != std::string::npos);   // Landlock, from the plan in force
    CHECK(out.find("kill EPERM") != std::string::npos);   // signal scope
    CHECK(alive(bystander));                              // zero harm: the SIGKILL never arrived
    CHECK(out.find("no Landlock") == std::string::npos);
    CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0));
    kill(bystander, SIGKILL);
    waitpid(bystander, nullptr, 0);

    // With no boundary in force for the agent, nothing runs at all (by default, no fallback to
    // an unconfined run): the command's marker is never made.
    std::string marker = d / "allowed/ran";
    st = run_command({bin("stockade"), "--socket", daemon.socket(), "run", "--agent", "nosuch", "--",
                      "/usr/bin/touch", marker},
                     &out);
    CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 3));
    CHECK(out.find("not started") != std::string::npos);
    CHECK(out.find("unknown agent \"nosuch\" (agents in force: llfc)") != std::string::npos);
    CHECK(out.find("--no-landlock") != std::string::npos);  // says how to opt out
    CHECK_FALSE(fs::exists(marker));
}
