// Fail closed across restarts (issue 16): the daemon is SIGKILLed while an enforce agent loops on
// a denied open, a denied connect and a denied exec, plus an open only the daemon can judge (a
// glob). Nothing succeeds while it is down nor after it is back; the restarted daemon tracks the
// same agent again, in its task. A daemon of another build replaces the pinned programs with no
// gap, and `stockaded --unpin` leaves no pin and no program behind.
#include <bpf/bpf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <map>
#include <sstream>
#include <thread>

#include "daemon_harness.hpp"

using namespace sktest;
using stockade::journal::Record;
using Clock = std::chrono::steady_clock;

namespace {

// The agent: a loop that tries each denied action in a child of its own (so that a kill ends the
// attempt, not the loop) and prints "<monotonic time> <kind> <wait status>" for each. A glob
// child waits 0.2 s between open and read: whoever judges it (the daemon, or the kernel while no
// daemon is there) has ended it by then, so LEAK never prints unless no one did.
const char* kAgent = R"PY(
import os, socket, sys, time
secret, gsecret, evil, marker, port = sys.argv[1:6]
def child(kind):
    if kind == 'open':
        fd = os.open(secret, os.O_RDONLY); os.write(1, b'LEAK open ' + os.read(fd, 64) + b'\n')
    elif kind == 'glob':
        fd = os.open(gsecret, os.O_RDONLY); time.sleep(0.2); os.write(1, b'LEAK glob ' + os.read(fd, 64) + b'\n')
    elif kind == 'connect':
        s = socket.socket(); s.connect(('127.0.0.1', int(port))); s.send(b'x'); os.write(1, b'LEAK connect\n')
    elif kind == 'exec':
        os.execv(evil, [evil, marker])
while True:
    for kind in ('open', 'connect', 'exec', 'glob'):
        pid = os.fork()
        if pid == 0:
            try: child(kind)
            except OSError: os._exit(3)
            os._exit(0)
        _, st = os.waitpid(pid, 0)
        os.write(1, ('%.3f %s %d\n' % (time.monotonic(), kind, st)).encode())
    time.sleep(0.05)
)PY";

double now_s() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

struct Attempt {
    double t;
    std::string kind;
    int status;
};

// The agent under `stockade run --task`, its output read by the test through a pipe.
struct LoopingAgent {
    pid_t pid = -1;
    int out = -1;
    std::string text;
    LoopingAgent(const Daemon& daemon, const std::string& task, const std::vector<std::string>& args) {
        int p[2];
        REQUIRE(pipe(p) == 0);
        pid = fork();
        if (pid == 0) {
            dup2(p[1], 1);
            close(p[0]);
            std::vector<std::string> argv{bin("stockade"), "--socket", daemon.socket(), "run", "--no-landlock", "--task", task, "--",
                                          "/usr/bin/python3", "-I", "-c", kAgent};
            argv.insert(argv.end(), args.begin(), args.end());
            std::vector<char*> c;
            for (auto& a : argv) c.push_back(const_cast<char*>(a.c_str()));
            c.push_back(nullptr);
            execv(c[0], c.data());
            _exit(127);
        }
        close(p[1]);
        out = p[0];
        fcntl(out, F_SETFL, O_NONBLOCK);
    }
    ~LoopingAgent() {
        if (pid > 0) {
            kill(pid, SIGKILL);  // the launcher; its scope goes with the Daemon's cleanup
            waitpid(pid, nullptr, 0);
        }
        close(out);
    }
    std::vector<Attempt> attempts() {
        char buf[4096];
        ssize_t n;
        while ((n = read(out, buf, sizeof buf)) > 0) text.append(buf, size_t(n));
        std::vector<Attempt> all;
        std::istringstream in(text);
        std::string line;
        while (std::getline(in, line)) {
            Attempt a;
            std::istringstream l(line);
            if (l >> a.t >> a.kind >> a.status) all.push_back(a);
        }
        return all;
    }
    size_t count(double from, double to, const std::string& kind) {
        size_t n = 0;
        for (auto& a : attempts()) n += a.t >= from && a.t < to && a.kind == kind;
        return n;
    }
};

std::string keeper_boundary(const ScratchDir& d) {
    return "agent: keeper\nmode: enforce\non_violation: kill\nmatch:\n  cgroup: /stockade-it-unused-keeper\nfiles:\n"
           "  read: [\"" + d / "work/**" + "\"]\n  write: [/dev/null]\n  never: [\"" + d / "secret.txt" + "\", \"" +
           d / "glob/secret-*.txt" + "\"]\nexec:\n  allow: [/usr/bin/python3]\nnetwork:\n  connect:\n"
           "    - cidr: 127.0.0.1\n      ports: 1\n";
}

std::string begin_task(const Daemon& daemon) {
    std::string out;
    int st = run_command({bin("stockade"), "--socket", daemon.socket(), "task", "begin", "--agent", "keeper",
                          "--grant", "read=/srv/none/**", "--label", "restart"}, &out);
    INFO(out);
    REQUIRE(WEXITSTATUS(st) == 0);
    return out.substr(0, out.find('\n'));
}

// Zero harm over the whole run: no secret read, no connection at the listener, no marker.
void check_no_harm(LoopingAgent& agent, const ScratchDir& d, const LoopbackListener& l) {
    agent.attempts();
    INFO(agent.text.substr(agent.text.size() > 2000 ? agent.text.size() - 2000 : 0));
    CHECK(agent.text.find("LEAK") == std::string::npos);
    CHECK(agent.text.find("TOPSECRET") == std::string::npos);
    int c = l.accept_now();
    CHECK(c < 0);
    if (c >= 0) close(c);
    CHECK_FALSE(fs::exists(d / "marker"));
}

// The records after `seq`, one line each, for a failure's message.
std::string records_after(const Daemon& daemon, uint64_t seq) {
    std::string out;
    for (auto& r : daemon.records())
        if (r.seq > seq)
            out += std::to_string(r.seq) + " " + std::string(jr::to_string(r.type)) + " " + r.agent +
                   " task=" + r.task + " " + r.action + " " + r.path + " " + std::string(jr::to_string(r.verdict)) +
                   " " + r.rule + " " + r.detail.substr(0, 80) + "\n";
    return out.substr(out.size() > 6000 ? out.size() - 6000 : 0);
}

struct Setup {
    ScratchDir d;
    LoopbackListener l;
    explicit Setup(const std::string& tag) : d(tag) {
        write_file(d / "secret.txt", "TOPSECRET-A\n");
        write_file(d / "glob/secret-1.txt", "TOPSECRET-B\n");
        write_file(d / "agents.d/k.yaml", keeper_boundary(d));
        fs::create_directories(d / "work");
        fs::copy_file("/usr/bin/touch", d / "evil");
    }
    std::vector<std::string> args() const {
        return {d / "secret.txt", d / "glob/secret-1.txt", d / "evil", d / "marker", std::to_string(l.port)};
    }
};

}  // namespace

TEST_CASE("SIGKILLed daemon: the kernel keeps refusing, the restarted daemon tracks the agent and its task",
          "[restart]") {
    Setup s("restart");
    Daemon daemon(s.d);
    daemon.start();
    std::string task = begin_task(daemon);
    LoopingAgent agent(daemon, task, s.args());
    // Tracked, in its task: a refused open journaled with the task.
    REQUIRE(daemon.wait_record(
        [&](const Record& r) {
            return r.agent == "keeper" && r.task == task && r.path == s.d / "secret.txt" &&
                   r.verdict == jr::Verdict::Kill;
        },
        10000));

    double down = now_s();
    daemon.kill9();
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // beyond SK_DAEMON_STALE_NS too
    double up = now_s();
    for (auto kind : {"open", "connect", "exec", "glob"}) {
        INFO(kind);
        CHECK(agent.count(down, up, kind) >= 3);  // it kept trying while no daemon ran
    }
    for (auto& a : agent.attempts())
        if (a.t >= down && a.t < up && (a.kind == "open" || a.kind == "exec" || a.kind == "glob")) {
            INFO(a.kind << " at " << a.t);
            CHECK((WIFSIGNALED(a.status) && WTERMSIG(a.status) == SIGKILL));
        }
    check_no_harm(agent, s.d, s.l);

    size_t seq_before = daemon.records().back().seq;
    daemon.start();
    std::string log = Daemon::slurp(daemon.log());
    CHECK(log.find("reusing") != std::string::npos);
    // The same agent, tracked again in its task: its next refused open says so.
    struct LogOnFailure {
        const Daemon& d;
        ~LogOnFailure() {
            if (std::uncaught_exceptions()) std::printf("%s\n", Daemon::slurp(d.log()).c_str());
        }
    } log_on_failure{daemon};
    auto again = daemon.wait_record(
        [&](const Record& r) {
            return r.seq > seq_before && r.agent == "keeper" && r.task == task && r.path == s.d / "secret.txt" &&
                   r.verdict == jr::Verdict::Kill;
        },
        10000);
    if (!again) FAIL(records_after(daemon, seq_before) + "\nagent:\n" + agent.text.substr(agent.text.size() > 1500 ? agent.text.size() - 1500 : 0));
    // The glob the daemon judges, refused by the kernel while it was gone: journaled on restart
    // from the pinned ring, under the builtin rule that says why.
    CHECK(daemon.wait_record([&](const Record& r) {
        return r.seq > seq_before && r.rule == "builtin:no-daemon" && r.path == s.d / "glob/secret-1.txt";
    }, 5000));
    std::string list;
    run_command({bin("stockade"), "--socket", daemon.socket(), "task", "list"}, &list);
    CHECK(list.find(task) != std::string::npos);
    double back = now_s();
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    CHECK(agent.count(back, now_s(), "open") >= 3);
    check_no_harm(agent, s.d, s.l);
}

TEST_CASE("a daemon of another build replaces the pinned programs with no gap; --unpin removes them", "[restart]") {
    Setup s("rebuild");
    Daemon daemon(s.d);
    daemon.start();
    std::string task = begin_task(daemon);
    LoopingAgent agent(daemon, task, s.args());
    REQUIRE(
        daemon.wait_record([&](const Record& r) { return r.task == task && r.verdict == jr::Verdict::Kill; }, 10000));
    std::vector<std::string> old_builds;
    for (auto& e : fs::directory_iterator(daemon.pin_dir())) old_builds.push_back(e.path().string());
    REQUIRE(old_builds.size() == 1);

    // Another build: a different ring size changes the maps, like a new BPF object does.
    daemon.kill9();
    std::ofstream(daemon.config(), std::ios::app) << "ring_buffer_bytes: 4194304\n";
    daemon.start();
    std::string log = Daemon::slurp(daemon.log());
    INFO(log);
    CHECK(log.find("bpf pins of another build (or ring size) in " + old_builds[0]) != std::string::npos);
    CHECK(log.find("removed: this daemon's programs replaced them") != std::string::npos);
    CHECK_FALSE(fs::exists(old_builds[0]));
    size_t seq_before = daemon.records().back().seq;
    if (!daemon.wait_record(
            [&](const Record& r) {
                return r.seq > seq_before && r.task == task && r.path == s.d / "secret.txt" &&
                       r.verdict == jr::Verdict::Kill;
            },
            10000))
        FAIL(records_after(daemon, seq_before));
    check_no_harm(agent, s.d, s.l);

    // The programs the pins hold, by id, to see them go.
    std::vector<uint32_t> progs;
    for (auto& e : fs::recursive_directory_iterator(daemon.pin_dir()))
        if (e.path().parent_path().filename() == "links") {
            int fd = bpf_obj_get(e.path().c_str());
            bpf_link_info info{};
            uint32_t len = sizeof info;
            if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0) progs.push_back(info.prog_id);
            if (fd >= 0) close(fd);
        }
    REQUIRE(progs.size() >= 8);
    std::string out;
    CHECK(WEXITSTATUS(run_command({bin("stockaded"), "--config", daemon.config(), "--unpin"}, &out)) != 0);
    CHECK(out.find("stop it first") != std::string::npos);  // refused while the daemon runs
    daemon.stop();
    int st = run_command({bin("stockaded"), "--config", daemon.config(), "--unpin"}, &out);
    INFO(out);
    CHECK(WEXITSTATUS(st) == 0);
    CHECK_FALSE(fs::exists(daemon.pin_dir()));
    // Detached and freed (the kernel releases an unpinned link from a workqueue, the program
    // after an RCU grace period): every id is gone within seconds.
    auto alive = [&] {
        std::vector<uint32_t> out;
        for (auto id : progs) {
            int fd = bpf_prog_get_fd_by_id(id);
            if (fd >= 0) out.push_back(id), close(fd);
        }
        return out;
    };
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!alive().empty() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(alive().empty());
}
