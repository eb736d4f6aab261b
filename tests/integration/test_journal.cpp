// The journal through the real daemon and the real `stockade` command: tail, follow, verify,
// and crash safety under SIGKILL.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <random>
#include <set>
#include <thread>

#include "daemon_harness.hpp"
#include "journal/json.hpp"
#include "journal/verify.hpp"
#include "journal/writer.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

std::string monitor_boundary(const ScratchDir& d, const std::string& name) {
    fs::create_directories(d / "work");
    return "agent: " + name + "\nmode: monitor\non_violation: flag\nmatch:\n  cgroup: /stockade-it-unused-" + name +
           "\nfiles:\n  read: [\"" + d / "work/**" + "\"]\n  write: [/dev/null]\nexec:\n  allow: [/usr/bin/dash, "
           "/usr/bin/cat, /usr/bin/python3]\n";
}

}  // namespace

TEST_CASE("stockade tail -n 1 --json shows the violation with its agent, rule and verdict", "[journal]") {
    ScratchDir d("tail");
    write_file(d / "agents.d/j.yaml", monitor_boundary(d, "tailagent"));
    Daemon daemon(d);
    daemon.start();
    daemon.run_as("tailagent", {"/usr/bin/cat", "/etc/hostname"});
    REQUIRE(daemon.wait_record([](const Record& r) { return r.path == "/etc/hostname"; }));

    std::string out;
    int st = run_command({bin("stockade"), "--journal", daemon.journal(), "tail", "-n", "1", "--json",
                          "--verdict", "would-deny"},
                         &out);
    REQUIRE(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    Record r = stockade::journal::from_json_line(out.substr(0, out.find('\n')));
    CHECK(r.agent == "tailagent");
    CHECK(r.verdict == jr::Verdict::WouldDeny);
    CHECK(r.rule == "j.yaml:default-deny");
    CHECK(r.action == "open");
    CHECK(r.path == "/etc/hostname");
    CHECK(r.exe == "/usr/bin/cat");
    CHECK(r.cgroup.find("/tailagent/run-") != std::string::npos);
}

TEST_CASE("stockade tail -f prints a new violation within one second", "[journal]") {
    ScratchDir d("follow");
    write_file(d / "agents.d/j.yaml", monitor_boundary(d, "followagent"));
    Daemon daemon(d);
    daemon.start();

    // The follower writes to a pipe we read with a deadline.
    int p[2];
    REQUIRE(pipe(p) == 0);
    pid_t tail = fork();
    if (tail == 0) {
        dup2(p[1], 1);
        close(p[0]);
        execl(bin("stockade").c_str(), "stockade", "--journal", daemon.journal().c_str(), "tail", "-f", "-n", "0",
              "--json", (char*)nullptr);
        _exit(127);
    }
    close(p[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let it reach the end of the journal
    auto t0 = std::chrono::steady_clock::now();
    daemon.run_as("followagent", {"/usr/bin/cat", "/etc/hostname"});
    std::string got;
    char buf[4096];
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    std::chrono::steady_clock::time_point seen{};
    while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3)) {
        ssize_t n = read(p[0], buf, sizeof buf);
        if (n > 0) got.append(buf, static_cast<size_t>(n));
        if (got.find("/etc/hostname") != std::string::npos) {
            seen = std::chrono::steady_clock::now();
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(tail, SIGTERM);
    waitpid(tail, nullptr, 0);
    close(p[0]);
    REQUIRE(seen != std::chrono::steady_clock::time_point{});
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(seen - t0).count();
    std::printf("tail -f showed the violation %lld ms after the agent started\n", (long long)ms);
    CHECK(ms < 1000);
}

TEST_CASE("SIGKILL of a writer mid-burst never loses an acknowledged record nor breaks the chain", "[journal]") {
    ScratchDir d("crash");
    std::string path = d / "journal.jsonl";
    std::mt19937 rng(42);
    std::set<uint64_t> acked;
    for (int round = 0; round < 20; ++round) {
        int p[2];
        REQUIRE(pipe(p) == 0);
        pid_t child = fork();
        if (child == 0) {
            close(p[0]);
            stockade::journal::WriterOptions o;
            o.path = path;
            o.group = "";
            o.fsync = stockade::journal::FsyncPolicy::Never;
            o.mirror = stockade::journal::MirrorPolicy::Off;
            o.max_bytes = 64 * 1024;  // rotate during the burst too
            o.keep = 100000;
            stockade::journal::Writer w(o);
            for (uint64_t i = 0;; ++i) {
                Record r;
                r.agent = "burst";
                r.verdict = jr::Verdict::Flag;
                r.path = "/burst/" + std::to_string(i);
                uint64_t seq = w.append(r);
                if (write(p[1], &seq, sizeof seq) != sizeof seq) _exit(1);  // the acknowledgement
            }
        }
        close(p[1]);
        std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 60));
        kill(child, SIGKILL);
        uint64_t seq;
        while (read(p[0], &seq, sizeof seq) == sizeof seq) acked.insert(seq);
        close(p[0]);
        int st;
        waitpid(child, &st, 0);
        REQUIRE(WIFSIGNALED(st));
    }
    // A final writer recovers whatever tail the last kill left, then the whole chain verifies.
    {
        stockade::journal::WriterOptions o;
        o.path = path;
        o.group = "";
        o.mirror = stockade::journal::MirrorPolicy::Off;
        stockade::journal::Writer w(o);
    }
    std::string out;
    int st = run_command({bin("stockade"), "verify", path}, &out);
    INFO(out);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    std::set<uint64_t> present;
    for (auto& r : stockade::journal::read_last(path, 10'000'000, stockade::journal::Filter{}))
        if (r.agent == "burst") present.insert(r.seq);
    REQUIRE(acked.size() > 100);
    size_t missing = 0;
    for (auto s : acked) missing += present.count(s) ? 0 : 1;
    CHECK(missing == 0);
}

TEST_CASE("SIGKILL of the daemon during a burst of violations: verify passes after each restart", "[journal]") {
    ScratchDir d("daemonkill");
    write_file(d / "agents.d/j.yaml", monitor_boundary(d, "burstagent"));
    // About 10,000 violations a second, each journaled in full, until the kill.
    std::string script = "import os, time\nfor i in range(100000):\n    try: os.open('/nonexistent/%d' % i, os.O_RDONLY)\n"
                         "    except OSError: pass\n    time.sleep(0.0001)\n";
    uint64_t last_count = 0;
    for (int round = 0; round < 20; ++round) {
        Daemon daemon(d);
        daemon.start();
        pid_t agent = fork();
        if (agent == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(null, 2);
            execl(bin("stockade").c_str(), "stockade", "--socket", daemon.socket().c_str(), "run", "--no-landlock", "--agent",
                  "burstagent", "--", "/usr/bin/python3", "-c", script.c_str(), (char*)nullptr);
            _exit(127);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(150 + 10 * round));
        daemon.kill9();
        kill(agent, SIGKILL);
        waitpid(agent, nullptr, 0);
        // A SIGKILLed writer can leave a torn last line: verify names it, and the next start
        // sets it aside; otherwise the journal verifies as it stands.
        auto v = stockade::journal::verify(daemon.journal());
        INFO("round " << round << ": " << (v.broken ? v.broken->why : std::string("ok")));
        if (!v.ok) CHECK(v.broken->problem == stockade::journal::Problem::TornTail);
        auto n = v.last_seq;
        CHECK(n >= last_count);  // nothing already journaled disappears
        last_count = n;
    }
    // One more start recovers the tail; then the whole journal must verify.
    {
        Daemon daemon(d);
        daemon.start();
    }
    std::string out;
    int st = run_command({bin("stockade"), "verify", d / "journal/journal.jsonl"}, &out);
    INFO(out);
    CHECK(WEXITSTATUS(st) == 0);
    CHECK(last_count > 20);
}

TEST_CASE("stockade status and agents show answer what each agent can reach, ran, was refused and touched",
          "[journal]") {
    ScratchDir d("show");
    fs::create_directories(d / "work");
    fs::copy_file("/usr/bin/true", d / "work/evil");
    write_file(d / "agents.d/s.yaml", monitor_boundary(d, "showagent"));
    Daemon daemon(d);
    daemon.start();
    daemon.run_as("showagent", {"/usr/bin/cat", "/etc/hostname"});
    daemon.run_as("showagent", {d / "work/evil"});
    REQUIRE(daemon.wait_record([&](const Record& r) { return r.path == d / "work/evil"; }));

    std::string out;
    int st = run_command({bin("stockade"), "--socket", daemon.socket(), "status"}, &out);
    INFO(out);
    CHECK(WEXITSTATUS(st) == 0);
    CHECK(out.find("tp_btf/sched_process_exec") != std::string::npos);
    CHECK(out.find("showagent") != std::string::npos);
    CHECK(out.find("monitor") != std::string::npos);

    st = run_command({bin("stockade"), "--socket", daemon.socket(), "--journal", daemon.journal(), "agents", "show",
                      "showagent"},
                     &out);
    INFO(out);
    CHECK(WEXITSTATUS(st) == 0);
    auto section = [&](const std::string& title) {
        auto at = out.find(title + ":");
        REQUIRE(at != std::string::npos);
        size_t next = at + 1;
        while ((next = out.find('\n', next)) != std::string::npos && next + 1 < out.size() && out[next + 1] == ' ')
            ++next;
        return out.substr(at, next == std::string::npos ? std::string::npos : next - at);
    };
    CHECK(section("tools reachable").find("/usr/bin/cat") != std::string::npos);
    CHECK(section("tools invoked").find("/usr/bin/cat") != std::string::npos);
    CHECK(section("tools denied").find(d / "work/evil") != std::string::npos);
    CHECK(section("tools denied").find("/usr/bin/cat") == std::string::npos);
    CHECK(section("files refused").find("/etc/hostname") != std::string::npos);
    CHECK(section("files touched").find("/etc/ld.so.cache") != std::string::npos);
    CHECK(section("rules fired").find("s.yaml:default-deny") != std::string::npos);

    st = run_command({bin("stockade"), "--socket", daemon.socket(), "agents", "show", "nosuch"}, &out);
    CHECK(WEXITSTATUS(st) == 1);
}
