// Loss is attributed and, in enforce mode, fail-closed. The daemon gets the smallest ring buffer
// (4 KiB, a dozen records) while an agent opens an allowed file as fast as it can: the kernel
// soon has nowhere to put the agent's records, actions nobody will judge. With on_loss: kill (the
// default in enforce mode) the kernel kills the process at its first lost record; with on_loss:
// flag it runs on. Either way the daemon journals a "lost" record naming the agent within about a
// second. (Stopping the daemon would fill any ring, but self-protection cancels stops, and a
// daemon gone for over a second fails closed on its own: the restart tests cover that.)
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <thread>

#include "daemon_harness.hpp"

using namespace sktest;
using Clock = std::chrono::steady_clock;

namespace {

// Opens and closes one allowed file as fast as it can for argv[2] seconds.
const char* kOpenLoop =
    "import os, sys, time\n"
    "p, end, n = sys.argv[1], time.time() + float(sys.argv[2]), 0\n"
    "while time.time() < end:\n"
    "    for _ in range(100):\n"
    "        os.close(os.open(p, os.O_RDONLY))\n"
    "        n += 1\n"
    "print(n)\n";

struct Agent {
    pid_t pid = -1;
    ~Agent() {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    }
    // The wait status once it ended, or nullopt while it runs.
    std::optional<int> ended() {
        int st = 0;
        if (pid > 0 && waitpid(pid, &st, WNOHANG) == pid) {
            pid = -1;
            last = st;
        }
        if (pid < 0) return last;
        return std::nullopt;
    }
    int last = 0;
};

Agent start_agent(const Daemon& daemon, const std::string& agent, const std::string& file, int seconds) {
    Agent a;
    a.pid = fork();
    if (a.pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(bin("stockade").c_str(), "stockade", "--socket", daemon.socket().c_str(), "run", "--no-landlock", "--agent",
              agent.c_str(), "--", "/usr/bin/python3", "-c", kOpenLoop, file.c_str(), std::to_string(seconds).c_str(),
              (char*)nullptr);
        _exit(127);
    }
    return a;
}

std::string boundary(const std::string& name, const std::string& on_loss, const ScratchDir& d) {
    return "agent: " + name + "\nmode: enforce\non_violation: kill\non_loss: " + on_loss +
           "\nmatch:\n  cgroup: /stockade-it-unused-" + name + "\nfiles:\n  read: [\"" + d / "work/**" +
           "\"]\nexec:\n  allow: [/usr/bin/python3*]\n";
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

}  // namespace

// Waits up to `ms` for the agent to end; its wait status, or nullopt.
static std::optional<int> wait_end(Agent& a, int ms) {
    auto until = Clock::now() + std::chrono::milliseconds(ms);
    std::optional<int> st;
    while (!(st = a.ended()) && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return st;
}

TEST_CASE("a lost record kills the enforce agent's process in the kernel and is journaled for it", "[loss]") {
    ScratchDir d("loss-kill");
    write_file(d / "work/f", "x");
    write_file(d / "agents.d/a.yaml", boundary("lossy", "kill", d));
    Daemon daemon(d, "ring_buffer_bytes: 4096\n");
    daemon.start();
    Agent agent = start_agent(daemon, "lossy", d / "work/f", 30);
    auto st = wait_end(agent, 20000);
    auto died = Clock::now();
    REQUIRE(st);  // it did not loop for its 30 s: the first lost record killed it
    CHECK(WIFSIGNALED(*st));
    CHECK(WTERMSIG(*st) == SIGKILL);

    auto rec = daemon.wait_record([](auto& r) { return r.type == jr::RecordType::Lost && r.agent == "lossy"; }, 5000);
    double took = ms_since(died);
    REQUIRE(rec);
    std::printf("loss: lost record for the agent %.0f ms after its kill; %llu records lost\n", took,
                static_cast<unsigned long long>(rec->count));
    std::fflush(stdout);
    CHECK(took < 2500);  // checked once a second; the target is 1 s
    CHECK(rec->count > 0);
    CHECK(rec->enforcement == jr::Enforcement::KilledInKernel);
    CHECK(rec->detail.find("on_loss: kill") != std::string::npos);
    // nothing else killed it: no violation of the agent was journaled
    for (auto& r : daemon.records()) CHECK_FALSE((r.agent == "lossy" && r.verdict == jr::Verdict::Kill));
}

TEST_CASE("with on_loss: flag the agent runs on and its loss is journaled", "[loss]") {
    ScratchDir d("loss-flag");
    write_file(d / "work/f", "x");
    write_file(d / "agents.d/a.yaml", boundary("flagged", "flag", d));
    Daemon daemon(d, "ring_buffer_bytes: 4096\n");
    daemon.start();
    Agent agent = start_agent(daemon, "flagged", d / "work/f", 4);
    auto rec =
        daemon.wait_record([](auto& r) { return r.type == jr::RecordType::Lost && r.agent == "flagged"; }, 10000);
    REQUIRE(rec);
    CHECK(rec->enforcement.empty());
    CHECK(rec->detail.find("on_loss: flag") != std::string::npos);

    auto st = wait_end(agent, 15000);
    REQUIRE(st);
    CHECK(WIFEXITED(*st));  // it ran its 4 s to the end
    CHECK(WEXITSTATUS(*st) == 0);
}
