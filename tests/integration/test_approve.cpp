// on_violation: ask: a real agent's action outside its allow lists is held in the kernel and
// waits for a person. `stockade approve` releases it and the action completes; `stockade deny`
// refuses it (a write: killed where it stopped, the file unchanged; a connect: its socket shut
// down, no byte reaches the listener, the client carries on); a timeout denies; the agent's own
// process cannot approve. And on_violation: refuse: a connect refused with EPERM, the client
// carries on.
#include <fcntl.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "daemon_harness.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

// Reads everything from `d` (outside the agent), exec of python3 and of the stockade CLI, writes
// only under allowed/. Anything else it writes, execs or connects to is asked about.
std::string ask_boundary(const ScratchDir& d, const std::string& name, const std::string& extra = "") {
    fs::create_directories(d / "allowed");
    return "agent: " + name + "\nmode: enforce\non_violation: ask\nmatch:\n  cgroup: /stockade-it-unused-" + name +
           "\nfiles:\n  read: [\"/**\"]\n  write: [\"" + d / "allowed/**" + "\"]\n  create: [\"" + d / "allowed/**" +
           "\"]\nexec:\n  allow: [/usr/bin/python3*, \"" + bin("stockade") + "\"]\n" + extra;
}

// `stockade run` of an agent, in the background: its output goes to a file.
struct Background {
    pid_t pid = -1;
    std::string out_path;
    Background(const Daemon& daemon, const std::string& agent, const std::string& code, const std::string& out)
        : out_path(out) {
        pid = fork();
        if (pid == 0) {
            int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(fd, 1);
            dup2(fd, 2);
            execl(bin("stockade").c_str(), "stockade", "--socket", daemon.socket().c_str(), "run", "--no-landlock",
                  "--agent", agent.c_str(), "--", "/usr/bin/python3", "-I", "-c", code.c_str(), (char*)nullptr);
            _exit(127);
        }
    }
    // Its wait status, or -1 if it did not end within timeout_ms.
    int wait(int timeout_ms) {
        for (int i = 0; i < timeout_ms / 10; ++i) {
            int st = 0;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                pid = -1;
                return st;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return -1;
    }
    std::string output() const { return Daemon::slurp(out_path); }
    ~Background() {
        if (pid > 0) {  // the agent itself dies with the daemon's cgroups (~Daemon)
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    }
};

// The pending approvals, through the real CLI (`--json`).
std::vector<stockade::control::ApprovalInfo> approvals(const Daemon& daemon) {
    std::string out;
    run_command({bin("stockade"), "--socket", daemon.socket(), "approvals", "--json"}, &out);
    try {
        return stockade::control::decode_approvals(out.substr(0, out.find('\n')));
    } catch (const std::exception&) {
        return {};
    }
}

// Waits until an approval for `object` is pending; returns it.
std::optional<stockade::control::ApprovalInfo> wait_approval(const Daemon& daemon, const std::string& object) {
    for (int i = 0; i < 250; ++i) {
        for (auto& a : approvals(daemon))
            if (a.object == object) return a;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
}

char proc_state(pid_t pid) {
    std::string stat = Daemon::slurp("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    return close == std::string::npos || close + 2 >= stat.size() ? '?' : stat[close + 2];
}

// Opens `path` for update (no truncation), writes, and says so.
std::string update_file(const std::string& path) {
    return "f = open('" + path + "', 'r+')\nf.write('CHANGED')\nf.close()\nprint('wrote', flush=True)\n";
}

int decide(const Daemon& daemon, const char* how, uint64_t id, std::string* out = nullptr) {
    return run_command({bin("stockade"), "--socket", daemon.socket(), how, std::to_string(id)}, out);
}

}  // namespace

TEST_CASE("ask: a held write waits for a person; stockade approve releases it and it completes", "[approve]") {
    ScratchDir d("approve-yes");
    write_file(d / "outside/notes", "ORIGINAL\n");
    write_file(d / "agents.d/a.yaml", ask_boundary(d, "askyes"));
    Daemon daemon(d);
    daemon.start();
    Background agent(daemon, "askyes", update_file(d / "outside/notes"), d / "out");

    auto a = wait_approval(daemon, d / "outside/notes");
    REQUIRE(a);
    CHECK(a->agent == "askyes");
    CHECK(a->rule == "a.yaml:default-deny");
    CHECK(a->action.rfind("open", 0) == 0);
    std::string listed;
    run_command({bin("stockade"), "--socket", daemon.socket(), "approvals"}, &listed);
    CHECK(listed.find(d / "outside/notes") != std::string::npos);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(proc_state(static_cast<pid_t>(a->pid)) == 'T');           // stopped in the kernel
    CHECK(Daemon::slurp(d / "outside/notes") == "ORIGINAL\n");        // and it has not written
    CHECK(agent.wait(0) == -1);

    std::string said;
    CHECK(decide(daemon, "approve", a->id, &said) == 0);
    INFO(said);
    int st = agent.wait(10000);
    INFO(agent.output());
    REQUIRE(st != -1);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    CHECK(agent.output().find("wrote") != std::string::npos);
    CHECK(Daemon::slurp(d / "outside/notes") == "CHANGEDL\n");  // "ORIGINAL\n" overwritten from byte 0
    auto r =
        daemon.wait_record([&](const Record& r) { return r.type == jr::RecordType::Approval && r.approval == a->id; });
    REQUIRE(r);
    CHECK(r->verdict == jr::Verdict::Allow);
    CHECK(r->enforcement == jr::Enforcement::ReleasedByApprover);
    CHECK(r->approver.find("uid=0 pid=") == 0);
    CHECK(r->approver.find("exe=" + bin("stockade")) != std::string::npos);
    auto ask =
        daemon.wait_record([&](const Record& r) { return r.type == jr::RecordType::Decision && r.approval == a->id; });
    REQUIRE(ask);
    CHECK(ask->verdict == jr::Verdict::Ask);
    CHECK(ask->enforcement == jr::Enforcement::HeldForApproval);
}

TEST_CASE("ask: stockade deny kills a held write where it stopped: the file is unchanged", "[approve]") {
    ScratchDir d("approve-no");
    write_file(d / "outside/notes", "ORIGINAL\n");
    write_file(d / "agents.d/a.yaml", ask_boundary(d, "askno"));
    Daemon daemon(d);
    daemon.start();
    Background agent(daemon, "askno", update_file(d / "outside/notes"), d / "out");
    auto a = wait_approval(daemon, d / "outside/notes");
    REQUIRE(a);
    CHECK(decide(daemon, "deny", a->id) == 0);
    int st = agent.wait(10000);
    INFO(agent.output());
    REQUIRE(st != -1);
    CHECK(agent.output().find("wrote") == std::string::npos);
    CHECK(Daemon::slurp(d / "outside/notes") == "ORIGINAL\n");
    auto r =
        daemon.wait_record([&](const Record& r) { return r.type == jr::RecordType::Approval && r.approval == a->id; });
    REQUIRE(r);
    CHECK(r->verdict == jr::Verdict::Kill);
    CHECK(r->enforcement == jr::Enforcement::KilledWhileHeld);
    CHECK(r->approver.find("uid=0 ") == 0);
    CHECK(approvals(daemon).empty());
    CHECK(decide(daemon, "approve", a->id) != 0);  // decided once
}

TEST_CASE("ask: a held connect: approve lets the bytes through, deny refuses it and the client carries on",
          "[approve]") {
    ScratchDir d("approve-net");
    write_file(d / "agents.d/a.yaml", ask_boundary(d, "asknet"));
    Daemon daemon(d);
    daemon.start();
    for (bool approve : {true, false}) {
        LoopbackListener listener;
        std::string code = "import socket\ns = socket.socket()\ns.connect(('127.0.0.1', " +
                           std::to_string(listener.port) +
                           "))\ntry:\n    s.sendall(b'HELLO')\n    print('sent', flush=True)\n"
                           "except OSError as e:\n    print('refused', e.errno, flush=True)\nprint('carried on')\n";
        Background agent(daemon, "asknet", code, d / ("out-" + std::to_string(approve)));
        auto a = wait_approval(daemon, "127.0.0.1:" + std::to_string(listener.port));
        REQUIRE(a);
        CHECK(a->action == "connect");
        CHECK(decide(daemon, approve ? "approve" : "deny", a->id) == 0);
        int st = agent.wait(10000);
        std::string out = agent.output();
        INFO(out);
        REQUIRE(st != -1);
        CHECK(WIFEXITED(st));
        CHECK(out.find("carried on") != std::string::npos);  // never killed
        int c = listener.accept_now();
        REQUIRE(c >= 0);  // the handshake was done before the hold
        char buf[16] = {};
        ssize_t n = recv(c, buf, sizeof buf, MSG_DONTWAIT);
        close(c);
        auto r = daemon.wait_record(
            [&](const Record& r) { return r.type == jr::RecordType::Approval && r.approval == a->id; });
        REQUIRE(r);
        if (approve) {
            CHECK(out.find("sent") != std::string::npos);
            CHECK(std::string(buf, n > 0 ? n : 0) == "HELLO");
            CHECK(r->enforcement == jr::Enforcement::ReleasedByApprover);
        } else {
            CHECK(out.find("refused 32") != std::string::npos);  // EPIPE: the socket was shut down
            CHECK(n <= 0);                                        // no byte reached the listener
            CHECK(r->verdict == jr::Verdict::Deny);
            CHECK(r->enforcement == jr::Enforcement::RefusedWhileHeld);
        }
    }
}

TEST_CASE("ask: the agent's own process cannot approve; the action stays held", "[approve]") {
    ScratchDir d("approve-self");
    write_file(d / "outside/notes", "ORIGINAL\n");
    write_file(d / "agents.d/a.yaml", ask_boundary(d, "askself"));
    Daemon daemon(d);
    daemon.start();
    // A child makes the held write; the parent (same agent) tries to approve it with the real CLI.
    std::string code = "import os, subprocess, time, json\n"
                       "pid = os.fork()\n"
                       "if pid == 0:\n" +
                       std::string("    f = open('") + d / "outside/notes" + "', 'r+')\n"
                       "    f.write('CHANGED')\n    f.close()\n    os._exit(0)\n"
                       "time.sleep(1.0)\n"
                       "for i in range(1, 4):\n"
                       "    p = subprocess.run(['" + bin("stockade") + "', '--socket', '" + daemon.socket() +
                       "', 'approve', str(i)], capture_output=True, text=True)\n"
                       "    print('approve', i, 'rc', p.returncode, p.stderr.strip(), flush=True)\n"
                       "print('tried', flush=True)\n"
                       "os.waitpid(pid, 0)\n";
    Background agent(daemon, "askself", code, d / "out");
    auto a = wait_approval(daemon, d / "outside/notes");
    REQUIRE(a);
    // The parent's attempts are answered (refused) while the child stays held.
    for (int i = 0; i < 500 && agent.output().find("tried") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::string out = agent.output();
    INFO(out);
    CHECK(out.find("approve 1 rc 3") != std::string::npos);
    CHECK(out.find("is a process of agent askself") != std::string::npos);
    CHECK(proc_state(static_cast<pid_t>(a->pid)) == 'T');
    CHECK(Daemon::slurp(d / "outside/notes") == "ORIGINAL\n");
    auto still = approvals(daemon);
    REQUIRE(still.size() == 1);
    CHECK(still[0].id == a->id);
    auto refused = daemon.wait_record([&](const Record& r) { return r.detail.find("\"approve\"") != std::string::npos; });
    CHECK(refused);
    CHECK(decide(daemon, "deny", a->id) == 0);
    CHECK(agent.wait(10000) != -1);
    CHECK(Daemon::slurp(d / "outside/notes") == "ORIGINAL\n");
}

TEST_CASE("ask: the approval_timeout denies what nobody decided", "[approve]") {
    ScratchDir d("approve-timeout");
    write_file(d / "outside/notes", "ORIGINAL\n");
    write_file(d / "agents.d/a.yaml", ask_boundary(d, "asktime", "approval_timeout: 1\n"));
    Daemon daemon(d);
    daemon.start();
    Background agent(daemon, "asktime", update_file(d / "outside/notes"), d / "out");
    int st = agent.wait(15000);
    INFO(agent.output());
    REQUIRE(st != -1);
    CHECK(Daemon::slurp(d / "outside/notes") == "ORIGINAL\n");
    auto r = daemon.wait_record([&](const Record& r) { return r.type == jr::RecordType::Approval; });
    REQUIRE(r);
    CHECK(r->approver == "timeout");
    CHECK(r->enforcement == jr::Enforcement::KilledWhileHeld);
    CHECK(r->held_us >= 1'000'000);
}

TEST_CASE("refuse: a connect outside the boundary fails with EPERM and the client carries on", "[approve]") {
    ScratchDir d("refuse-net");
    LoopbackListener listener;
    write_file(d / "agents.d/r.yaml",
               "agent: refusenet\nmode: enforce\non_violation: refuse\nmatch:\n  cgroup: /stockade-it-unused-r\n"
               "exec:\n  allow: [/usr/bin/python3*]\n");
    Daemon daemon(d);
    daemon.start();
    std::string out;
    int st = daemon.run_as("refusenet", {"/usr/bin/python3", "-I", "-c",
                                         "import socket\ns = socket.socket()\ntry:\n    s.connect(('127.0.0.1', " +
                                             std::to_string(listener.port) +
                                             "))\n    s.sendall(b'HELLO')\n    print('sent')\n"
                                             "except OSError as e:\n    print('refused', e.errno)\nprint('carried on')\n"},
                           &out);
    INFO(out);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    CHECK(out.find("refused 1\n") != std::string::npos);  // EPERM
    CHECK(out.find("carried on") != std::string::npos);
    CHECK(listener.accept_now() < 0);  // not even a handshake
    auto r = daemon.wait_record([&](const Record& r) { return r.action == "connect" && r.port == listener.port; });
    REQUIRE(r);
    CHECK(r->verdict == jr::Verdict::Deny);
    CHECK(r->enforcement == jr::Enforcement::RefusedInKernel);
}
